from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ingestion.batches.services import staging_prune


class Command(BaseCommand):
    help = (
        "Delete the staging rows (stg_invoices) of batches that ended more than --days days ago."
        " Facts, rejected rows and the batch history are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="Keep the staging of newer batches.")

    def handle(self, *args, days, **options):
        if days < 0:
            raise CommandError("--days must be zero or more")
        batches, rows = staging_prune(ended_before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"deleted {rows:,} staging rows of {batches} batches")
