from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingestion.batches.upgrade import UpgradeStopped, backup_path_default, warehouse_upgrade


class Command(BaseCommand):
    # The database may be older than this code: nothing runs before the command's own checks.
    requires_system_checks: list[str] = []
    help = (
        "Upgrade the warehouse to this code: refuse while a batch is running (or wait --wait"
        " seconds for it), hold new loads, back the database up (scripts/warehouse-backup), apply"
        " the migrations and check health. Exit 1 with one line when it cannot. Stop the workers"
        " and the beat first; start them again on the new code afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Wait up to this long for running batches to end (default: refuse at once).",
        )
        parser.add_argument(
            "--backup",
            type=Path,
            metavar="FILE",
            help="Where the backup goes (default var/backups/warehouse-<UTC time>.sql, or .sqlite3).",
        )
        parser.add_argument(
            "--no-backup",
            action="store_true",
            help="Take no backup (you took one already, e.g. through the db container).",
        )

    def handle(self, *args, wait, backup, no_backup, **options):
        if wait < 0:
            raise CommandError("--wait must be zero or more")
        if backup is not None and no_backup:
            raise CommandError("--backup and --no-backup exclude each other")
        target = None if no_backup else (backup or backup_path_default()).resolve()
        try:
            warehouse_upgrade(wait_seconds=wait, backup=target, say=self.stdout.write)
        except UpgradeStopped as exc:
            raise CommandError(str(exc)) from exc
