"""Re-processing rejected rows after their cause is fixed (a customer or item added, ...).

The rows are validated again with the load's own rules (``invoices_clean`` on a frame
built from ``raw_record``); those that pass are upserted into ``fact_invoices`` and
marked resolved by a new batch (source ``admin``, file name "reprocess of N rows");
the rest keep their row with the updated reason and detail. One transaction.

Duplicates stay duplicates: a row rejected as ``DUPLICATE_INVOICE_ID`` is kept rejected
while its invoice exists (it was loaded from the first valid occurrence, or written by a
later file since): re-processing it would overwrite that invoice with a repeated row.
Within one re-processing, the first row per file and invoice id wins, as in a load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.services import dimensions_load, invoices_validate, reason_counts_ordered
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Invoice, LoadBatch, RejectedInvoice

NOTHING_TO_REPROCESS = "no unresolved rejected rows selected"
REPROCESS_FILE_NAME = "reprocess of {rows} rows"
REPROCESS_NOTE = "re-processed rejected rows of batch(es) {batches}"
DUPLICATE_STILL_LOADED = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} is loaded from {file} (batch #{batch_id});"
    " this repeated row stays rejected"
)
DUPLICATE_IN_SELECTION = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} was already loaded from row {first_row}"
    " of the same file in this re-processing"
)
_FACT_FIELDS = ("issue_date", "customer_id", "item_id", "status_id", "qty", "unit_price", "total")


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


def _existing(ids: list[str]) -> dict[str, Invoice]:
    found = {}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        found.update(
            {i.invoice_id: i for i in Invoice.objects.filter(invoice_id__in=chunk).select_related("batch")}
        )
    return found


def rejected_reprocess(*, rejected_ids: Iterable[int], user=None) -> LoadBatch:
    """Validate the rows again; load those that pass; return the batch that records it."""
    with transaction.atomic():
        ids = sorted(set(rejected_ids))
        rows = sorted(
            (
                row
                for start in range(0, len(ids), 2000)
                for row in RejectedInvoice.objects.select_for_update().filter(
                    pk__in=ids[start : start + 2000], resolved_at__isnull=True
                )
            ),
            key=lambda r: (r.batch_id, r.source_row),
        )
        if not rows:
            raise ValueError(NOTHING_TO_REPROCESS)
        now = timezone.now()
        batch = LoadBatch.objects.create(
            file_name=REPROCESS_FILE_NAME.format(rows=len(rows)),
            file_path="",
            sha256="",
            source=LoadBatch.Source.ADMIN,
            created_by=user if getattr(user, "pk", None) else None,
            status=LoadBatch.Status.RUNNING,
            stage="reprocess",
            rows_total=len(rows),
            started_at=now,
            note=REPROCESS_NOTE.format(
                batches=", ".join(f"#{b}" for b in sorted({r.batch_id for r in rows}))
            ),
        )
        cleaned = invoices_validate(raw_frame(rows), dims=dimensions_load())
        records = cleaned.astype(object).where(cleaned.notna(), None).to_dict(orient="records")
        passing = [(row, rec) for row, rec in zip(rows, records) if rec["reason"] is None]
        existing = _existing(sorted({rec["clean_invoice_id"] for _, rec in passing}))

        first_in_file: dict[tuple[str, str], int] = {}
        to_load: dict[str, Invoice] = {}  # rows in batch order: a later batch's row wins
        for row, rec in passing:
            invoice_id = rec["clean_invoice_id"]
            current = existing.get(invoice_id)
            if row.reason == DUPLICATE_INVOICE_ID and current is not None:
                rec["reason"] = DUPLICATE_INVOICE_ID
                rec["detail"] = DUPLICATE_STILL_LOADED.format(
                    invoice_id=invoice_id, file=current.batch.file_name, batch_id=current.batch_id
                )
                continue
            key = (row.file_sha256, invoice_id)
            if key in first_in_file:
                rec["reason"] = DUPLICATE_INVOICE_ID
                rec["detail"] = DUPLICATE_IN_SELECTION.format(
                    invoice_id=invoice_id, first_row=first_in_file[key]
                )
                continue
            first_in_file[key] = row.source_row
            to_load[invoice_id] = _invoice(rec, batch)

        inserted = updated = unchanged = 0
        changed = []
        for invoice_id, new in to_load.items():
            current = existing.get(invoice_id)
            if current is None:
                inserted += 1
            elif all(getattr(current, f) == getattr(new, f) for f in _FACT_FIELDS):
                unchanged += 1
                continue  # an identical invoice keeps the batch that wrote it
            else:
                updated += 1
            changed.append(new)
        if changed:
            conflict = {"unique_fields": ["invoice_id"]} if connection.vendor != "mysql" else {}
            Invoice.objects.bulk_create(
                changed,
                batch_size=2000,
                update_conflicts=True,
                update_fields=[*_FACT_FIELDS, "batch"],
                **conflict,
            )
            days = {i.issue_date for i in changed} | {
                existing[i.invoice_id].issue_date for i in changed if i.invoice_id in existing
            }
            daily_sales_refresh(days=days)

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
        RejectedInvoice.objects.bulk_update(resolved, ["resolved_at", "resolved_by_batch"], batch_size=2000)
        RejectedInvoice.objects.bulk_update(still, ["reason", "detail"], batch_size=2000)

        batch.rows_read = batch.rows_done = len(rows)
        batch.rows_loaded, batch.rows_rejected = len(resolved), len(still)
        batch.rows_inserted, batch.rows_updated, batch.rows_unchanged = inserted, updated, unchanged
        batch.reason_counts = reason_counts_ordered(reasons)
        batch.status, batch.stage, batch.finished_at = LoadBatch.Status.SUCCEEDED, "done", timezone.now()
        batch.save()
    return batch
