from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingestion.pipeline.generate import invoice_file_generate


class Command(BaseCommand):
    help = "Write a realistic messy invoice CSV (the kinds of mess real exports have)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000, help="Number of data rows.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same seed, same file.")
        parser.add_argument("--out", type=Path, required=True, help="CSV file to write.")

    def handle(self, *args, rows, seed, out, **options):
        if rows < 0:
            raise CommandError("--rows must be zero or more")
        path = invoice_file_generate(path=out, rows=rows, seed=seed)
        self.stdout.write(f"wrote {rows} rows to {path}")
