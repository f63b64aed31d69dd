"""Re-processing rejected rows after their cause is fixed (a customer or item added, ...).

The request records the work and answers at once: one batch per load whose rows are
selected (source ``admin``, file name "reprocess of N rows"), queued for the workers like
a load, with the same progress, lease, sweeper, cancel and dry run. The worker runs it
(``ingestion.rejected.reprocess_run``): the rows are cleaned again with the load's rules and merged
by the load's merge as rows of their file, so what a re-processing leaves is what a load
of that file would have left had the fix been there from the start:

- the first valid row of an invoice id in a file wins: a row that now passes after the
  row its load kept is ``DUPLICATE_INVOICE_ID``; one before it takes the invoice over,
  and the later row becomes the duplicate (a new rejected row of that load);
- a later load that carried the same invoice still wins: the row is resolved, the
  invoice keeps the later load's values;
- rows that pass are marked resolved (by the re-processing batch); rows that still fail
  keep their record with the updated reason.

Rows of several loads: the worker keeps the oldest load's rows and queues one batch for
the rows of each other load (the order between them does not matter: a later load wins
either way).

Without a broker (the embedded default) the batches run in-process before this returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from ingestion.batches.dispatch import batch_enqueue
from ingestion.rejected.reprocess_rows import unresolved_of
from warehouse.models import LoadBatch, RejectedInvoice, ReprocessSelection

NOTHING_TO_REPROCESS = "no unresolved rejected rows selected"
REPROCESS_FILE_NAME = "reprocess of {rows} rows"
REPROCESS_NOTE = "re-processing rejected rows of batch #{batch_id} ({file_name})"
REPROCESS_SPLIT_NOTE = "re-processing rejected rows of batch #{batch_id} ({file_name}), split from #{first}"
_IN = 2000


def _any_unresolved(ids: list[int]) -> bool:
    """One of ``ids`` is an unresolved rejected row (usually the first chunk answers)."""
    return any(
        RejectedInvoice.objects.filter(pk__in=ids[start : start + _IN], resolved_at__isnull=True).exists()
        for start in range(0, len(ids), _IN)
    )


def _reprocess_batch(
    *, rejected_ids: list[int], source_id: int | None, user, dry_run: bool, note: str
) -> LoadBatch:
    """A queued re-processing batch of ``rejected_ids`` (call inside a transaction)."""
    batch = LoadBatch.objects.create(
        file_name=REPROCESS_FILE_NAME.format(rows=len(rejected_ids)),
        file_path="",
        sha256="",
        source=LoadBatch.Source.ADMIN,
        created_by=user if getattr(user, "pk", None) else None,
        dry_run=dry_run,
        rows_total=len(rejected_ids),
        note=note[:255],
    )
    ReprocessSelection.objects.create(batch=batch, source_batch_id=source_id, rejected_ids=rejected_ids)
    batch_enqueue(batch=batch)
    return batch


def reprocess_batches_create(
    *, rejected_ids: Iterable[int], user=None, dry_run: bool = False
) -> list[LoadBatch]:
    """Queue the re-processing of the unresolved rows among ``rejected_ids``; the batch (and,
    once a worker has split the rows by load, the others: without a broker they ran already).

    Reads no more than it must (the request answers at once): the worker splits the rows by
    the load that rejected them. Raises ``ValueError(NOTHING_TO_REPROCESS)``.
    """
    ids = sorted({int(i) for i in rejected_ids})
    if not _any_unresolved(ids):
        raise ValueError(NOTHING_TO_REPROCESS)
    with transaction.atomic():
        batch = _reprocess_batch(rejected_ids=ids, source_id=None, user=user, dry_run=dry_run, note="")
    split = LoadBatch.objects.filter(note__endswith=f", split from #{batch.pk}").order_by("pk")
    batch.refresh_from_db()
    return [batch, *split]


def reprocess_split(*, batch: LoadBatch, selection: ReprocessSelection) -> None:
    """The worker's first step: keep the rows of the oldest load they come from, queue one
    batch for the rows of each other load (same user, same dry run)."""
    grouped: dict[int, list[int]] = {}
    for pk, batch_id in unresolved_of(selection.rejected_ids):
        grouped.setdefault(batch_id, []).append(pk)
    if not grouped:
        return  # nothing left: the batch runs empty
    names = dict(LoadBatch.objects.filter(pk__in=grouped).values_list("pk", "file_name"))
    first, *others = sorted(grouped)
    with transaction.atomic():
        for source_id in others:
            note = REPROCESS_SPLIT_NOTE.format(
                batch_id=source_id, file_name=names.get(source_id), first=batch.pk
            )
            _reprocess_batch(
                rejected_ids=sorted(grouped[source_id]),
                source_id=source_id,
                user=batch.created_by,
                dry_run=batch.dry_run,
                note=note,
            )
        selection.source_batch_id, selection.rejected_ids = first, sorted(grouped[first])
        selection.save(update_fields=["source_batch", "rejected_ids"])
        batch.file_name = REPROCESS_FILE_NAME.format(rows=len(grouped[first]))
        batch.note = REPROCESS_NOTE.format(batch_id=first, file_name=names.get(first))[:255]
        batch.rows_total = len(grouped[first])
        LoadBatch.objects.filter(pk=batch.pk).update(
            file_name=batch.file_name, note=batch.note, rows_total=batch.rows_total
        )
