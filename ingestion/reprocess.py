"""Re-processing rejected rows after their cause is fixed (a customer or item added, ...).

The rows are validated again with the load's own rules (``invoices_clean`` on a frame
built from ``raw_record``) and settled the way a clean load of their file would have
settled them had the fix been there from the start:

- the first valid row of an invoice id in a file wins: a row that now passes, but whose
  invoice was loaded from an *earlier* row of the same batch, becomes
  ``DUPLICATE_INVOICE_ID``; a row that now passes *before* the row its batch loaded takes
  the invoice over, and that later row becomes the duplicate (a new rejected row of its
  batch, from staging);
- a later batch that carried the same invoice still wins: the row is resolved but the
  invoice keeps the later batch's values;
- the rest are upserted into ``fact_invoices`` by a new batch (source ``admin``, file name
  "reprocess of N rows"), marked resolved, and the dashboard aggregates of the days they
  touched are rebuilt. Rows that still fail keep their row with the updated reason.

Which row a batch loaded comes from staging (the load's lineage). If a batch's staging rows
were pruned, a repeated row of it never overwrites an invoice that exists. All of it is one
transaction under the warehouse's write lock, like a load.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.validation import dimensions_load, invoices_validate, reason_counts_ordered
from warehouse.aggregates import daily_sales_refresh
from warehouse.locks import facts_lock
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice
from warehouse.versions import data_version_bump

NOTHING_TO_REPROCESS = "no unresolved rejected rows selected"
REPROCESS_FILE_NAME = "reprocess of {rows} rows"
REPROCESS_NOTE = "re-processed rejected rows of batch(es) {batches}"
DUPLICATE_OF_EARLIER_ROW = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} was already loaded from row {first_row} of the same file"
)
DUPLICATE_DISPLACED = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} was loaded from row {first_row} once it was"
    " re-processed (batch #{batch_id}); this later row is the duplicate"
)
DUPLICATE_STILL_LOADED = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} is loaded from {file} (batch #{batch_id});"
    " this repeated row stays rejected"
)
_FACT_FIELDS = ("issue_date", "customer_id", "item_id", "status_id", "qty", "unit_price", "total")
_IN = 2000


def _text(value) -> str:
    return "" if value is None else str(value)


def raw_frame(rows: list[RejectedInvoice]) -> pd.DataFrame:
    """The nine raw columns as text, as the load read them (missing keys are empty)."""
    records = [{c: _text((r.raw_record or {}).get(c)) for c in RAW_COLUMNS} for r in rows]
    return pd.DataFrame(records, columns=list(RAW_COLUMNS), dtype=object)


def _invoice(values: dict, batch: LoadBatch) -> Invoice:
    return Invoice(
        invoice_id=values["clean_invoice_id"],
        issue_date=values["clean_issue_date"],
        customer_id=int(values["customer_key"]),
        item_id=int(values["item_key"]),
        status_id=int(values["status_key"]),
        qty=int(values["clean_qty"]),
        unit_price=Decimal(values["clean_unit_price"]),
        total=Decimal(values["clean_total"]),
        batch=batch,
    )


def _chunks(values: list):
    for start in range(0, len(values), _IN):
        yield values[start : start + _IN]


def _existing(ids: list[str]) -> dict[str, Invoice]:
    found = {}
    for chunk in _chunks(ids):
        found.update(
            {i.invoice_id: i for i in Invoice.objects.filter(invoice_id__in=chunk).select_related("batch")}
        )
    return found


class _Lineage:
    """What staging says about the rows' batches: which row each loaded, and who came later."""

    def __init__(self, batch_ids: set[int], ids: list[str]) -> None:
        self.staged = {b for b in batch_ids if StagingInvoice.objects.filter(batch_id=b).exists()}
        self.loaded: dict[tuple[int, str], int] = {}
        self.last_batch: dict[str, int] = {}
        loads = LoadBatch.objects.filter(status=LoadBatch.Status.SUCCEEDED, dry_run=False).exclude(sha256="")
        later = list(loads.filter(pk__gt=min(batch_ids, default=0)).values_list("pk", flat=True))
        for chunk in _chunks(ids):
            rows = StagingInvoice.objects.filter(
                batch_id__in={*batch_ids, *later}, clean_invoice_id__in=chunk, reason__isnull=True
            )
            for batch_id, invoice_id, source_row in rows.values_list(
                "batch_id", "clean_invoice_id", "source_row"
            ):
                if batch_id in batch_ids:
                    self.loaded[(batch_id, invoice_id)] = source_row
            for row in (
                rows.filter(batch_id__in=later).values("clean_invoice_id").annotate(last=Max("batch_id"))
            ):
                self.last_batch[row["clean_invoice_id"]] = row["last"]

    def later_batch_wins(self, invoice_id: str, batch_id: int, current: Invoice | None) -> bool:
        if invoice_id in self.last_batch:
            return self.last_batch[invoice_id] > batch_id
        return current is not None and current.batch_id > batch_id and current.batch.sha256 != ""


def _displaced_record(row: RejectedInvoice, source_row: int, invoice_id: str) -> RejectedInvoice | None:
    """The row ``row``'s batch had loaded, now the duplicate of that earlier re-processed row."""
    batch_id, first_row = row.batch_id, row.source_row
    staged = StagingInvoice.objects.filter(batch_id=batch_id, source_row=source_row).first()
    if staged is None:
        return None
    record = {c: getattr(staged, c) for c in RAW_COLUMNS}
    if staged.extra:
        record.update(json.loads(staged.extra))
    detail = DUPLICATE_DISPLACED.format(invoice_id=invoice_id, first_row=first_row, batch_id=batch_id)
    StagingInvoice.objects.filter(batch_id=batch_id, source_row=source_row).update(
        reason=DUPLICATE_INVOICE_ID, detail=detail
    )
    return RejectedInvoice(
        invoice_id=(staged.invoice_id or "").strip()[:255] or None,
        reason=DUPLICATE_INVOICE_ID,
        detail=detail,
        raw_record=record,
        batch_id=batch_id,
        file_name=row.file_name,  # the same batch's file
        file_sha256=row.file_sha256,
        source_row=source_row,
        created_at=timezone.now(),
    )


def _staging_mark_loaded(row: RejectedInvoice, rec: dict) -> None:
    """The re-processed row is now the row its batch loaded for this invoice id."""
    StagingInvoice.objects.filter(batch_id=row.batch_id, source_row=row.source_row).update(
        reason=None,
        detail=None,
        clean_invoice_id=rec["clean_invoice_id"],
        clean_issue_date=rec["clean_issue_date"],
        customer_key=rec["customer_key"],
        item_key=rec["item_key"],
        status_key=rec["status_key"],
        clean_qty=rec["clean_qty"],
        clean_unit_price=rec["clean_unit_price"],
        clean_total=rec["clean_total"],
    )


def rejected_reprocess(*, rejected_ids: Iterable[int], user=None) -> LoadBatch:
    """Validate the rows again; load those that pass; return the batch that records it.

    Waits up to ``FACTS_LOCK_WAIT_SECONDS`` for a running load to finish writing
    (``warehouse.locks.FactsLockTimeout`` after that).
    """
    ids = sorted(set(rejected_ids))
    with facts_lock(timeout=settings.FACTS_LOCK_WAIT_SECONDS), transaction.atomic():
        rows = sorted(
            (
                row
                for chunk in _chunks(ids)
                for row in RejectedInvoice.objects.select_for_update().filter(
                    pk__in=chunk, resolved_at__isnull=True
                )
            ),
            key=lambda r: (r.batch_id, r.source_row),
        )
        if not rows:
            raise ValueError(NOTHING_TO_REPROCESS)
        batch = _reprocess(rows, user)
        data_version_bump()
        return batch


def _reprocess(rows: list[RejectedInvoice], user) -> LoadBatch:
    now = timezone.now()
    batch = LoadBatch.objects.create(
        file_name=REPROCESS_FILE_NAME.format(rows=len(rows)),
        file_path="",
        sha256="",
        source=LoadBatch.Source.ADMIN,
        created_by=user if getattr(user, "pk", None) else None,
        status=LoadBatch.Status.RUNNING,
        stage=LoadBatch.Stage.REPROCESS,
        rows_total=len(rows),
        started_at=now,
        note=REPROCESS_NOTE.format(batches=", ".join(f"#{b}" for b in sorted({r.batch_id for r in rows}))),
    )
    cleaned = invoices_validate(raw_frame(rows), dims=dimensions_load())
    records = cleaned.astype(object).where(cleaned.notna(), None).to_dict(orient="records")
    passing = [(row, rec) for row, rec in zip(rows, records) if rec["reason"] is None]
    invoice_ids = sorted({rec["clean_invoice_id"] for _, rec in passing})
    existing = _existing(invoice_ids)
    lineage = _Lineage({row.batch_id for row, _ in passing}, invoice_ids)

    to_load: dict[str, Invoice] = {}  # rows in batch order: a later batch's row wins
    displaced: list[RejectedInvoice] = []
    for row, rec in passing:
        invoice_id, key = rec["clean_invoice_id"], (row.batch_id, rec["clean_invoice_id"])
        current = existing.get(invoice_id)
        first_row = lineage.loaded.get(key)
        if first_row is not None and first_row < row.source_row:
            rec["reason"] = DUPLICATE_INVOICE_ID
            rec["detail"] = DUPLICATE_OF_EARLIER_ROW.format(invoice_id=invoice_id, first_row=first_row)
            continue
        if row.batch_id not in lineage.staged and row.reason == DUPLICATE_INVOICE_ID and current is not None:
            rec["reason"] = DUPLICATE_INVOICE_ID
            rec["detail"] = DUPLICATE_STILL_LOADED.format(
                invoice_id=invoice_id, file=current.batch.file_name, batch_id=current.batch_id
            )
            continue
        if first_row is not None:  # this earlier row takes the invoice from the later one
            record = _displaced_record(row, first_row, invoice_id)
            if record is not None:
                displaced.append(record)
        lineage.loaded[key] = row.source_row
        _staging_mark_loaded(row, rec)
        if not lineage.later_batch_wins(invoice_id, row.batch_id, current):
            to_load[invoice_id] = _invoice(rec, batch)

    counts = _facts_write(to_load, existing)
    RejectedInvoice.objects.bulk_create(displaced, batch_size=_IN)

    resolved, still = [], []
    reasons: Counter = Counter()
    for row, rec in zip(rows, records):
        if rec["reason"] is None:
            row.resolved_at, row.resolved_by_batch = now, batch
            resolved.append(row)
        else:
            row.reason, row.detail = rec["reason"], rec["detail"] or ""
            reasons[row.reason] += 1
            still.append(row)
    RejectedInvoice.objects.bulk_update(resolved, ["resolved_at", "resolved_by_batch"], batch_size=_IN)
    RejectedInvoice.objects.bulk_update(still, ["reason", "detail"], batch_size=_IN)

    batch.rows_read = batch.rows_done = len(rows)
    batch.rows_loaded, batch.rows_rejected = len(resolved), len(still)
    batch.rows_inserted, batch.rows_updated = counts["inserted"], counts["updated"]
    batch.rows_unchanged = len(resolved) - counts["inserted"] - counts["updated"]
    batch.reason_counts = reason_counts_ordered(reasons)
    batch.status, batch.stage = LoadBatch.Status.SUCCEEDED, LoadBatch.Stage.DONE
    batch.finished_at = timezone.now()
    batch.save()
    return batch


def _facts_write(to_load: dict[str, Invoice], existing: dict[str, Invoice]) -> dict[str, int]:
    """Upsert the invoices that changed; rebuild the aggregates of the days they touch."""
    inserted = updated = 0
    changed = []
    for invoice_id, new in to_load.items():
        current = existing.get(invoice_id)
        if current is None:
            inserted += 1
        elif all(getattr(current, f) == getattr(new, f) for f in _FACT_FIELDS):
            continue  # an identical invoice keeps the batch that wrote it
        else:
            updated += 1
        changed.append(new)
    if changed:
        conflict = {"unique_fields": ["invoice_id"]} if connection.vendor != "mysql" else {}
        Invoice.objects.bulk_create(
            changed,
            batch_size=_IN,
            update_conflicts=True,
            update_fields=[*_FACT_FIELDS, "batch", "source_row"],
            **conflict,
        )
        days = {i.issue_date for i in changed} | {
            existing[i.invoice_id].issue_date for i in changed if i.invoice_id in existing
        }
        daily_sales_refresh(days=days)
    return {"inserted": inserted, "updated": updated}
