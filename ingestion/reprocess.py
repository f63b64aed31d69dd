"""Re-processing rejected rows after their cause is fixed (a customer or item added, ...).

The request records the work and answers at once: one batch per load whose rows are
selected (source ``admin``, file name "reprocess of N rows"), queued for the workers like
a load, with the same progress, lease, sweeper, cancel and dry run. The worker runs it
(``ingestion.reprocess_run``): the rows are cleaned again with the load's rules and merged
by the load's merge as rows of their file, so what a re-processing leaves is what a load
of that file would have left had the fix been there from the start:

- the first valid row of an invoice id in a file wins: a row that now passes after the
  row its load kept is ``DUPLICATE_INVOICE_ID``; one before it takes the invoice over,
  and the later row becomes the duplicate (a new rejected row of that load);
- a later load that carried the same invoice still wins: the row is resolved, the
  invoice keeps the later load's values;
- rows that pass are marked resolved (by the re-processing batch); rows that still fail
  keep their record with the updated reason.

Without a broker (the embedded default) the batches run in-process before this returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from ingestion.dispatch import batch_enqueue
from ingestion.reprocess_rows import unresolved_of
from warehouse.models import LoadBatch, RejectedInvoice, ReprocessSelection

NOTHING_TO_REPROCESS = "no unresolved rejected rows selected"
REPROCESS_FILE_NAME = "reprocess of {rows} rows"
REPROCESS_NOTE = "re-processing rejected rows of batch #{batch_id} ({file_name})"


def rows_by_batch(rejected_ids: Iterable[int]) -> dict[int, list[int]]:
    """The unresolved rows among ``rejected_ids``, grouped by the load that rejected them."""
    grouped: dict[int, list[int]] = {}
    for pk, batch_id in unresolved_of(sorted(set(rejected_ids))):
        grouped.setdefault(batch_id, []).append(pk)
    return grouped


def reprocess_batches_create(
    *, rejected_ids: Iterable[int], user=None, dry_run: bool = False
) -> list[LoadBatch]:
    """Queue the re-processing of the unresolved rows among ``rejected_ids``: one batch per
    load they come from, oldest load first. Raises ``ValueError(NOTHING_TO_REPROCESS)``."""
    grouped = rows_by_batch(rejected_ids)
    if not grouped:
        raise ValueError(NOTHING_TO_REPROCESS)
    names = dict(LoadBatch.objects.filter(pk__in=grouped).values_list("pk", "file_name"))
    created = []
    with transaction.atomic():
        for source_id in sorted(grouped):
            ids = grouped[source_id]
            batch = LoadBatch.objects.create(
                file_name=REPROCESS_FILE_NAME.format(rows=len(ids)),
                file_path="",
                sha256="",
                source=LoadBatch.Source.ADMIN,
                created_by=user if getattr(user, "pk", None) else None,
                dry_run=dry_run,
                rows_total=len(ids),
                note=REPROCESS_NOTE.format(batch_id=source_id, file_name=names.get(source_id, "?"))[:255],
            )
            ReprocessSelection.objects.create(batch=batch, source_batch_id=source_id, rejected_ids=ids)
            batch_enqueue(batch=batch)
            created.append(batch)
    for batch in created:  # without a broker, they ran on commit
        batch.refresh_from_db()
    return created
