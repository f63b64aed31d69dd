import json
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from ingestion.batches import leases
from ingestion.batches.dispatch import batch_enqueue, batch_queue_failed, batch_republish, queued_unclaimed
from ingestion.batches.paths import input_files
from ingestion.batches.previews import batch_preview, preview_lines
from ingestion.batches.reconnect import connection_lost, db_retry, error_line, transient
from ingestion.batches.run_stops import BatchRetry
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline.formats import INPUT_SUFFIXES
from ingestion.pipeline.lanes import connection_close
from warehouse.models import LoadBatch
from warehouse.selectors.batches import DRY_RUN_TEXT, batch_present

# Like the task's retry policy, for loads run in this process (no broker).
IN_PROCESS_ATTEMPTS = 3
QUEUE_FAILED_HINT = (
    "batch #{batch_id} {file}: {error}. Start the broker, or load in this process:"
    " unset CELERY_BROKER_URL, or pass --in-process."
)
WORKER_SILENT = (
    "batch #{batch_id}: no heartbeat from its worker for {seconds:.0f} s (the worker may be gone);"
    " it is queued again once its lease expires"
)
LEFT_BEHIND = "batch #{batch_id} {file}: {error}"
DB_LOST = "batch #{batch_id}: the database is unreachable ({error}); still following the batch"
DB_BACK = "batch #{batch_id}: the database answers again"
DB_GAVE_UP = (
    "batch #{batch_id} {file}: the database went away during the load and did not come back"
    " ({error}); the next load_invoices marks the batch failed"
)
NOT_PICKED_UP = (
    "batch #{batch_id}: still queued after {seconds:.0f} s; is a worker running (celery -A config worker)?"
)
# The keys of a ``--json`` line (docs/loading.md) -> the ``batch_present`` keys
# they show.
JSON_KEYS = {
    "batch_id": "id",
    "file": "file_name",
    "status": "status",
    "dry_run": "dry_run",
    **{field: field for field in LoadBatch.COUNT_FIELDS},
    "reasons": "reason_counts",
    "error": "error",
}


def batch_json(presented: dict) -> dict:
    """The ``--json`` line of a batch, from ``batch_present``: its keys, no error as null."""
    line = {key: presented[name] for key, name in JSON_KEYS.items()}
    line["error"] = line["error"] or None
    return line


class Command(BaseCommand):
    help = (
        "Load invoice files (CSV, XLSX, XLS or ODS) into the warehouse. PATH may be files, folders or"
        " globs; default: INPUT_DIR. Exit status 1 when any batch failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH", help="Files, folders or globs.")
        parser.add_argument(
            "--force", action="store_true", help="Load files even if already loaded (same sha256)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report; write nothing to the fact or rejected tables.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object per batch on stdout.")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Load in this process even when a broker is configured.",
        )
        parser.add_argument(
            "--sheet", default="", help="Workbooks: the sheet to read (default: the first with data)."
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="With a broker: enqueue the batches and return without waiting.",
        )

    def handle(self, *args, paths, force, dry_run, json: bool, no_wait, in_process, **options):
        try:
            files = input_files(paths or [str(settings.INPUT_DIR)])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not files:
            found_in = ", ".join(paths) or settings.INPUT_DIR
            raise CommandError(f"no invoice files ({', '.join(sorted(INPUT_SUFFIXES))}) found in: {found_in}")
        eager = settings.CELERY_TASK_ALWAYS_EAGER or in_process
        if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker, so no sweeper: fail what a stopped run left
            for batch_id in leases.batch_sweep(requeue=None):
                left = LoadBatch.objects.get(pk=batch_id)
                self.stderr.write(LEFT_BEHIND.format(batch_id=left.pk, file=left.file_name, error=left.error))
        batches = [
            batch_create(
                path=path, source=LoadBatch.Source.CLI, force=force, dry_run=dry_run, sheet=options["sheet"]
            )
            for path in files
        ]
        if eager:  # a batch whose file could not be read has failed already
            finished = [
                self._run_here(batch, quiet=json) if batch.status == LoadBatch.Status.QUEUED else batch
                for batch in batches
            ]
        else:
            for batch in batches:
                batch_enqueue(batch=batch)
                batch.refresh_from_db()
                if batch_queue_failed(batch):
                    raise CommandError(
                        QUEUE_FAILED_HINT.format(batch_id=batch.pk, file=batch.file_name, error=batch.error),
                        returncode=1,
                    )
            if no_wait:
                for batch in batches:
                    self.stdout.write(
                        f"{batch.status} batch #{batch.pk} {batch.file_name} {batch.error}".rstrip()
                    )
                return
            finished = [self._wait(batch, quiet=json) for batch in batches]
        self._report(finished, as_json=json)
        failed = [
            b for b in finished if b.status not in (LoadBatch.Status.SUCCEEDED, LoadBatch.Status.SKIPPED)
        ]
        if failed:
            raise CommandError(f"{len(failed)} of {len(finished)} batches did not succeed", returncode=1)

    # -- running and waiting ---------------------------------------------------------

    def _progress_bar(self, batch: LoadBatch, quiet: bool):
        if quiet or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=None, desc=batch.file_name, unit=" rows", unit_scale=True, file=sys.stderr)

    def _run_here(self, batch: LoadBatch, *, quiet: bool) -> LoadBatch:
        bar = self._progress_bar(batch, quiet)

        def on_progress(current: LoadBatch) -> None:
            if bar is not None:
                bar.total = current.rows_total
                bar.n = current.rows_done
                bar.set_postfix_str(current.stage)

        lost = None
        try:
            for attempt in range(1, IN_PROCESS_ATTEMPTS + 1):
                try:
                    return invoice_file_ingest(
                        batch_id=batch.pk,
                        on_progress=on_progress,
                        retry_transient=attempt < IN_PROCESS_ATTEMPTS,
                    )
                except BatchRetry:  # transient (deadlock, lost connection): run it again
                    lost = None
                except DatabaseError as exc:  # the database stayed away longer than the retries
                    if not connection_lost(exc):
                        raise
                    lost = exc
                    connection_close()
                if attempt < IN_PROCESS_ATTEMPTS:
                    time.sleep(2**attempt)
            if lost is not None:
                error = DB_GAVE_UP.format(batch_id=batch.pk, file=batch.file_name, error=error_line(lost))
                raise CommandError(error, returncode=1)
            return db_retry(lambda: LoadBatch.objects.get(pk=batch.pk), what=f"batch {batch.pk}")
        finally:
            if bar is not None:
                bar.close()

    def _wait(self, batch: LoadBatch, *, quiet: bool) -> LoadBatch:
        """Follow the batch row (never the result backend); say when no worker answers, send
        again a batch nobody claimed, and ride out a database that goes away for a while."""
        bar = self._progress_bar(batch, quiet)
        silent_after = settings.BATCH_LEASE_SECONDS / 2
        warned, unreachable = None, False
        try:
            while True:
                try:
                    said = self._follow(batch)
                except DatabaseError as exc:  # a blip: say so once, reconnect, keep following
                    if not transient(exc):
                        raise
                    if not connection_lost(exc):  # a lock conflict with the load: read again
                        time.sleep(0.5)
                        continue
                    if not unreachable:
                        self.stderr.write(DB_LOST.format(batch_id=batch.pk, error=error_line(exc)))
                    unreachable = True
                    connection_close()
                    time.sleep(1)
                    continue
                if unreachable:
                    self.stderr.write(DB_BACK.format(batch_id=batch.pk))
                    unreachable = False
                if said:
                    self.stderr.write(said)
                if bar is not None:
                    bar.total, bar.n = batch.rows_total, batch.rows_done
                    bar.set_postfix_str(batch.stage or batch.status)
                if batch.status in LoadBatch.FINISHED:
                    return batch
                warning = self._silence(batch, silent_after)
                if warning and warning[:30] != warned:  # once per kind of silence
                    self.stderr.write(warning)
                warned = warning[:30] if warning else None
                time.sleep(0.5)
        finally:
            if bar is not None:
                bar.close()

    @staticmethod
    def _follow(batch: LoadBatch) -> str:
        """Read the batch again; a queued one whose message was lost is sent again (what was done)."""
        batch.refresh_from_db()
        if batch.status == LoadBatch.Status.QUEUED and queued_unclaimed().filter(pk=batch.pk).exists():
            return batch_republish(batch=batch)
        return ""

    @staticmethod
    def _silence(batch: LoadBatch, seconds: float) -> str:
        now = timezone.now()
        if batch.status == LoadBatch.Status.RUNNING and batch.heartbeat_at:
            quiet = (now - batch.heartbeat_at).total_seconds()
            if quiet > seconds:
                return WORKER_SILENT.format(batch_id=batch.pk, seconds=quiet)
        if batch.status == LoadBatch.Status.QUEUED:
            waited = (now - (batch.started_at or batch.created_at)).total_seconds()
            if waited > 4 * seconds:
                return NOT_PICKED_UP.format(batch_id=batch.pk, seconds=waited)
        return ""

    # -- reporting -----------------------------------------------------------------------

    def _report(self, batches: list[LoadBatch], *, as_json: bool) -> None:
        presented = [batch_present(batch) for batch in batches]
        # A finished dry run: what a load would change, as the admin's preview shows it.
        previews = {
            b.pk: batch_preview(b) for b in batches if b.dry_run and b.status == LoadBatch.Status.SUCCEEDED
        }
        if as_json:
            for batch in presented:
                line = batch_json(batch)
                if batch["id"] in previews:
                    line["preview"] = previews[batch["id"]]
                self.stdout.write(json.dumps(line))
            return
        self.stdout.write(
            f"{'batch':>6}  {'status':<10} {'read':>10} {'loaded':>10} {'inserted':>10}"
            f" {'updated':>9} {'unchanged':>10} {'rejected':>9}  file"
        )
        for b in presented:
            self.stdout.write(
                f"{b['id']:>6}  {b['status']:<10} {b['rows_read']:>10,} {b['rows_loaded']:>10,}"
                f" {b['rows_inserted']:>10,} {b['rows_updated']:>9,} {b['rows_unchanged']:>10,}"
                f" {b['rows_rejected']:>9,}  {b['file_name']}"
            )
            if b["dry_run"]:
                self.stdout.write(f"{'':>8}{DRY_RUN_TEXT}")
            for text in preview_lines(previews[b["id"]]) if b["id"] in previews else ():
                self.stdout.write(f"{'':>8}{text}")
            if b["reason_counts"]:
                reasons = ", ".join(f"{k} {v:,}" for k, v in b["reason_counts"].items())
                self.stdout.write(f"{'':>8}rejected: {reasons}")
            if b["error"] or b["note"]:
                self.stdout.write(f"{'':>8}{b['error'] or b['note']}")
