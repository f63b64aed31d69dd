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
from typing import cast

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from ingestion.batches.dispatch import batch_enqueue
from ingestion.rejected.reprocess_keys import SELECTED_IDS, unresolved_by_load
from warehouse.models import LoadBatch, RejectedInvoice, RejectedInvoiceQuerySet, ReprocessSelection

NOTHING_TO_REPROCESS = "no unresolved rejected rows selected"
REPROCESS_FILE_NAME = "reprocess of {rows} rows"
REPROCESS_NOTE = "re-processing rejected rows of batch #{batch_id} ({file_name})"
REPROCESS_SPLIT_NOTE = "re-processing rejected rows of batch #{batch_id} ({file_name}), split from #{first}"
_IN = 2000
# One statement stores the ids a query selects as the batch's JSON array (the request reads none
# of them). MariaDB bounds JSON_ARRAYAGG by group_concat_max_len (1 MiB by default): raised first.
_SELECTION_STORE = (
    "INSERT INTO reprocess_selection (batch_id, source_batch_id, rejected_ids)"
    " SELECT %s, %s, {ids} FROM ({query}) q"
)
_AGGREGATE = {"mysql": "COALESCE(JSON_ARRAYAGG(q.k), '[]')", "sqlite": "json_group_array(q.k)"}
_LENGTH = {"mysql": "JSON_LENGTH(rejected_ids)", "sqlite": "json_array_length(rejected_ids)"}
_AGGREGATE_BYTES = 1 << 30


def _any_unresolved(ids: list[int]) -> bool:
    """One of ``ids`` is an unresolved rejected row (usually the first chunk answers)."""
    return any(
        RejectedInvoice.objects.filter(pk__in=ids[start : start + _IN]).unresolved().exists()
        for start in range(0, len(ids), _IN)
    )


def _selection_store(batch: LoadBatch, rejected: QuerySet, *, source_id: int | None = None) -> int:
    """Store the ids of the rows ``rejected`` selects with ``batch`` (one ``INSERT … SELECT``);
    their number."""
    query, params = rejected.order_by().values(k=F("pk")).query.sql_with_params()
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "mysql":
            cursor.execute(f"SET SESSION group_concat_max_len = {_AGGREGATE_BYTES}")
        statement = _SELECTION_STORE.format(ids=_AGGREGATE[vendor], query=query)
        cursor.execute(statement, [batch.pk, source_id, *params])
        cursor.execute(f"SELECT {_LENGTH[vendor]} FROM reprocess_selection WHERE batch_id = %s", [batch.pk])
        return int(cursor.fetchone()[0])


def _reprocess_batch(
    *, rejected: list[int] | QuerySet, source_id: int | None, user, dry_run: bool, note: str, source: str
) -> LoadBatch:
    """A queued re-processing batch of the ``rejected`` rows (ids, or a query of rejected rows;
    call inside a transaction)."""
    batch = LoadBatch.objects.create(
        file_name="",
        file_path="",
        sha256="",
        source=source,
        created_by=user if getattr(user, "pk", None) else None,
        dry_run=dry_run,
        note=note[:255],
    )
    if isinstance(rejected, QuerySet):
        rows = _selection_store(batch, rejected, source_id=source_id)
    else:
        ReprocessSelection.objects.create(batch=batch, source_batch_id=source_id, rejected_ids=rejected)
        rows = len(rejected)
    batch.file_name, batch.rows_total = REPROCESS_FILE_NAME.format(rows=rows), rows
    LoadBatch.objects.filter(pk=batch.pk).update(file_name=batch.file_name, rows_total=rows)
    if rows:  # none: the caller rolls the batch back
        batch_enqueue(batch=batch)
    return batch


def reprocess_batches_create(
    *,
    rejected_ids: Iterable[int] | QuerySet,
    user=None,
    dry_run: bool = False,
    source: str = LoadBatch.Source.ADMIN,
) -> list[LoadBatch]:
    """Queue the re-processing of the unresolved rows among ``rejected_ids``; the batch (and,
    once a worker has split the rows by load, the others: without a broker they ran already).

    ``rejected_ids`` is ids, or a query of rejected rows (the admin's "select all", the API's
    filter): then the ids are stored by the database in one statement, none read here. Reads
    no more than it must (the request answers at once): the worker splits the rows by the
    load that rejected them. ``source``: where it was asked for (the admin, the API).
    Raises ``ValueError(NOTHING_TO_REPROCESS)``.
    """
    rejected: list[int] | QuerySet
    if isinstance(rejected_ids, QuerySet):
        rejected = cast(RejectedInvoiceQuerySet, rejected_ids).unresolved()  # none stored: nothing to do
    else:
        rejected = sorted({int(i) for i in rejected_ids})
        if not _any_unresolved(rejected):
            raise ValueError(NOTHING_TO_REPROCESS)
    with transaction.atomic():
        batch = _reprocess_batch(
            rejected=rejected, source_id=None, user=user, dry_run=dry_run, note="", source=source
        )
        if not batch.rows_total:
            transaction.set_rollback(True)
    if not batch.rows_total:
        raise ValueError(NOTHING_TO_REPROCESS)
    split = LoadBatch.objects.filter(note__endswith=f", split from #{batch.pk}").order_by("pk")
    batch.refresh_from_db()
    return [batch, *split]


def reprocess_split(*, batch: LoadBatch, selection: ReprocessSelection) -> bool:
    """The worker's first step: keep the rows of the oldest load they come from, queue one
    batch for the rows of each other load (same user, dry run and source); whether it queued any.
    Set-based: the ids stay in the database (``selection_keys_fill`` has filled the
    connection's table of them)."""
    grouped = dict(unresolved_by_load())
    if not grouped:
        return False  # nothing left: the batch runs empty
    names = dict(LoadBatch.objects.filter(pk__in=grouped).values_list("pk", "file_name"))
    first, *others = sorted(grouped)

    def rows_of(source_id: int) -> QuerySet:
        unresolved = RejectedInvoice.objects.filter(batch_id=source_id).unresolved()
        return unresolved.filter(pk__in=RawSQL(SELECTED_IDS, []))

    with transaction.atomic():
        for source_id in others:
            note = REPROCESS_SPLIT_NOTE.format(
                batch_id=source_id, file_name=names.get(source_id), first=batch.pk
            )
            _reprocess_batch(
                rejected=rows_of(source_id),
                source_id=source_id,
                user=batch.created_by,
                dry_run=batch.dry_run,
                note=note,
                source=batch.source,
            )
        if others:  # this batch keeps the first load's rows only
            ReprocessSelection.objects.filter(batch_id=batch.pk).delete()
            _selection_store(batch, rows_of(first), source_id=first)
        ReprocessSelection.objects.filter(batch_id=batch.pk).update(source_batch_id=first)
        selection.source_batch_id = first
        batch.file_name = REPROCESS_FILE_NAME.format(rows=grouped[first])
        batch.note = REPROCESS_NOTE.format(batch_id=first, file_name=names.get(first))[:255]
        batch.rows_total = grouped[first]
        LoadBatch.objects.filter(pk=batch.pk).update(
            file_name=batch.file_name, note=batch.note, rows_total=batch.rows_total
        )
    return bool(others)
