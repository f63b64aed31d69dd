"""What a re-processing reads, once it holds the warehouse's write lock: the selected rows
as their file had them, the rows their load loaded for the same invoice ids, and which of
those invoices a later load owns.

Every read is on the calling thread's connection (autocommit: it sees what is committed,
and while the lock is held no other writer commits facts, rejected rows or lineage).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import pandas as pd

from ingestion.pipeline.columns import CLEAN_COLUMNS, RAW_COLUMNS
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice

_IN = 2000
_STAGED = ("source_row", *RAW_COLUMNS, "extra", *CLEAN_COLUMNS)
# The fact's columns for staging's cleaned ones, in order.
FACT_OF_CLEAN = {
    "clean_issue_date": "issue_date",
    "customer_key": "customer_id",
    "item_key": "item_id",
    "status_key": "status_id",
    "clean_qty": "qty",
    "clean_unit_price": "unit_price",
    "clean_total": "total",
}
_KEYS = ("customer_key", "item_key", "status_key", "clean_qty")
_MONEY = ("clean_unit_price", "clean_total")


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), _IN):
        yield values[start : start + _IN]


def _text(value) -> str:
    return "" if value is None else str(value)


def selected_rows(*, batch_id: int, rejected_ids: Iterable[int]) -> pd.DataFrame:
    """The selected rows of the batch still unresolved, as read: ``source_row``, the nine
    columns, ``extra`` (JSON of the file's other columns, or null) and ``rejected_reason``."""
    records = []
    for chunk in _chunks(sorted(set(rejected_ids))):
        rows = RejectedInvoice.objects.filter(pk__in=chunk, batch_id=batch_id, resolved_at__isnull=True)
        for source_row, reason, raw in rows.values_list("source_row", "reason", "raw_record"):
            raw = raw if isinstance(raw, dict) else {}
            extra = {k: v for k, v in raw.items() if k not in RAW_COLUMNS}
            records.append(
                {
                    "source_row": source_row,
                    **{c: _text(raw.get(c)) for c in RAW_COLUMNS},
                    "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
                    "rejected_reason": reason,
                }
            )
    frame = pd.DataFrame(records, columns=["source_row", *RAW_COLUMNS, "extra", "rejected_reason"])
    frame = frame.sort_values("source_row", kind="stable").drop_duplicates("source_row")
    return frame.astype({"source_row": "int64"}).reset_index(drop=True)


def staging_kept(batch_id: int) -> bool:
    """The batch's staging rows are still there (retention has not pruned them)."""
    return StagingInvoice.objects.filter(batch_id=batch_id).exists()


def cleaned_like(frame: pd.DataFrame) -> pd.DataFrame:
    """Cleaned values read back from the database, typed as ``invoices_clean`` returns them."""
    frame = frame.copy()
    for column in _KEYS:
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in _MONEY:
        frame[column] = frame[column].map(lambda v: None if v is None or pd.isna(v) else f"{v:.2f}")
    return frame


def loaded_rows(*, batch_id: int, invoice_ids: list[str]) -> pd.DataFrame:
    """The rows the batch loaded (its staging) for these invoice ids, staged columns."""
    rows = []
    for chunk in _chunks(invoice_ids):
        staged = StagingInvoice.objects.filter(batch_id=batch_id, reason__isnull=True, clean_invoice_id__in=chunk)
        rows += list(staged.values_list(*_STAGED))
    return cleaned_like(pd.DataFrame(rows, columns=list(_STAGED)))


def facts_current(invoice_ids: list[str]) -> pd.DataFrame:
    """The invoices as they stand, indexed by id: the writing batch and the staged columns."""
    rows = []
    for chunk in _chunks(invoice_ids):
        facts = Invoice.objects.filter(invoice_id__in=chunk)
        rows += list(facts.values_list("invoice_id", "batch_id", *FACT_OF_CLEAN.values()))
    frame = pd.DataFrame(rows, columns=["invoice_id", "batch_id", *FACT_OF_CLEAN])
    return cleaned_like(frame).set_index("invoice_id")


def later_owned(*, batch_id: int, facts: pd.DataFrame) -> set[str]:
    """Ids (among ``facts``) a load later than the batch carried: its value stands.

    A later load's staging says it loaded the id; where its staging was pruned, the
    invoice's writing batch says it (a later load, or a re-processing of a later load's rows).
    """
    later = LoadBatch.objects.filter(
        status=LoadBatch.Status.SUCCEEDED, dry_run=False, pk__gt=batch_id, reprocess__isnull=True
    ).exclude(sha256="")
    later_ids = list(later.values_list("pk", flat=True))
    owned: set[str] = set()
    if later_ids:
        for chunk in _chunks(list(facts.index)):
            staged = StagingInvoice.objects.filter(
                batch_id__in=later_ids, clean_invoice_id__in=chunk, reason__isnull=True
            )
            owned.update(staged.values_list("clean_invoice_id", flat=True).distinct())
    writers = LoadBatch.objects.filter(pk__in=set(facts["batch_id"].tolist()))
    later_writers = {
        pk
        for pk, sha256, source in writers.values_list("pk", "sha256", "reprocess__source_batch_id")
        if (source or (pk if sha256 else 0)) > batch_id
    }
    owned.update(facts.index[facts["batch_id"].isin(later_writers)])
    return owned
