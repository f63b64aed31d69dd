"""What a re-processing reads, once it holds the warehouse's write lock: the selected rows
as their file had them, the rows their load loaded for the same invoice ids, the invoices
as they stand and which of them a later load carried.

Each read is one statement joined to a temporary table of the keys it needs (ids of rows,
or invoice ids), on the calling thread's connection: autocommit, so it sees what is
committed, and while the lock is held no other writer commits facts, rejected rows or
lineage. Staging is read by its primary key (batch, row), never by invoice id.
"""

from __future__ import annotations

import json

import pandas as pd
from django.db import connection

from ingestion.pipeline.columns import CLEAN_COLUMNS, RAW_COLUMNS
from ingestion.pipeline.sql import MARKS_JOIN, STAGED_REASON, unresolved
from ingestion.rejected.reprocess_keys import SELECTED_TABLE, keys_rows, keys_table, rows_fetch
from warehouse.models import LoadBatch, StagingInvoice

_STAGED = ("source_row", *RAW_COLUMNS, "extra", *CLEAN_COLUMNS)
# The fact's columns for staging's cleaned ones.
FACT_OF_CLEAN = {
    "clean_issue_date": "issue_date",
    "customer_key": "customer_key",
    "item_key": "item_key",
    "status_key": "status_key",
    "clean_qty": "qty",
    "clean_unit_price": "unit_price",
    "clean_total": "total",
}
_INTEGERS = ("customer_key", "item_key", "status_key", "clean_qty")
_MONEY = ("clean_unit_price", "clean_total")
_INVOICE_IDS = "tmp_reprocess_invoices"


def _text(value) -> str:
    return "" if value is None else str(value)


def _raw_of_record(raw_text) -> tuple:
    """The nine columns and ``extra`` from a rejected row's ``raw_record``."""
    raw = json.loads(raw_text) if isinstance(raw_text, str | bytes) else raw_text
    raw = raw if isinstance(raw, dict) else {}
    extra = {k: v for k, v in raw.items() if k not in RAW_COLUMNS}
    return (
        *(_text(raw.get(c)) for c in RAW_COLUMNS),
        json.dumps(extra, ensure_ascii=False) if extra else None,
    )


def selected_records(*, batch_id: int) -> pd.DataFrame:
    """The ids of the selected rows (``selection_keys_fill``) of the batch still unresolved,
    with their source rows (``source_row``, ``rejected_id``), in the file's order."""
    rows = rows_fetch(
        f"SELECT j.source_row, j.id FROM {SELECTED_TABLE} t JOIN rejected_invoices j ON j.id = t.k"
        f" WHERE j.batch_id = %s AND {unresolved('j')} ORDER BY j.source_row, j.id",
        [batch_id],
    )
    return pd.DataFrame(rows, columns=["source_row", "rejected_id"]).astype("int64")


def selected_rows(*, batch_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The selected rows (``selection_keys_fill``) of the batch still unresolved, as read:
    ``source_row``, the nine columns, ``extra`` (JSON of the file's other columns, or null)
    and ``rejected_reason``; and the ids of their records (``source_row``, ``rejected_id``).

    The text comes from the load's staging (exactly as read); from the rejected row's
    ``raw_record`` where staging no longer has the row.
    """
    raw = ", ".join(f"s.{c}" for c in (*RAW_COLUMNS, "extra"))
    read = f"j.source_row, {raw}, j.reason, CASE WHEN s.source_row IS NULL THEN j.raw_record END, j.id"
    staged = "LEFT JOIN stg_invoices s ON s.batch_id = j.batch_id AND s.source_row = j.source_row"
    rows = rows_fetch(
        f"SELECT {read} FROM {SELECTED_TABLE} t JOIN rejected_invoices j ON j.id = t.k {staged}"
        f" WHERE j.batch_id = %s AND {unresolved('j')}",
        [batch_id],
    )
    columns = ["source_row", *RAW_COLUMNS, "extra", "rejected_reason", "record", "rejected_id"]
    frame = pd.DataFrame(rows, columns=columns)
    ids = frame[["source_row", "rejected_id"]].astype("int64")
    frame = frame.drop(columns="rejected_id")
    unstaged = frame["record"].notna()
    if unstaged.any():
        frame.loc[unstaged, [*RAW_COLUMNS, "extra"]] = [
            _raw_of_record(r) for r in frame.loc[unstaged, "record"]
        ]
    frame[list(RAW_COLUMNS)] = frame[list(RAW_COLUMNS)].fillna("")
    frame = (
        frame.drop(columns="record").sort_values("source_row", kind="stable").drop_duplicates("source_row")
    )
    return frame.astype({"source_row": "int64"}).reset_index(drop=True), ids


def chunks_growing(rows: pd.Series, size: int) -> list[pd.Series]:
    """``rows`` in chunks growing from a fifth of ``size`` to ``size``, doubling: the merge
    starts on a small one, and each is written while the next, at most twice as big, is read."""
    chunks, start, step = [], 0, max(1, size // 5)
    while start < len(rows):
        chunks.append(rows.iloc[start : start + step])
        start, step = start + step, min(size, 2 * step)
    return chunks


def chunk_rows(*, batch_id: int, records: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``records`` (``source_row``, ``rejected_id``, read under the lock), as
    ``selected_rows`` gives them but for ``rejected_reason``: read from the load's staging by
    its primary key, without the rejected rows; from a rejected row's ``raw_record`` where
    staging no longer has its row."""
    columns = ["source_row", *RAW_COLUMNS, "extra"]
    rows = keys_rows(
        f"SELECT {', '.join(f's.{c}' for c in columns)} FROM (SELECT {{key}} AS k FROM {{keys}}) t"
        f" JOIN stg_invoices s ON s.batch_id = {int(batch_id)} AND s.source_row = t.k",
        records["source_row"].drop_duplicates().tolist(),
        [],
        text=False,
    )
    frame = pd.DataFrame(rows, columns=columns)
    unstaged = records.loc[~records["source_row"].isin(frame["source_row"]), "rejected_id"].tolist()
    if unstaged:
        read = keys_rows(
            "SELECT j.source_row, j.raw_record FROM (SELECT {key} AS k FROM {keys}) t"
            " JOIN rejected_invoices j ON j.id = t.k",
            unstaged,
            [],
            text=False,
        )
        frame = pd.concat(
            [frame, pd.DataFrame([(row, *_raw_of_record(raw)) for row, raw in read], columns=columns)]
        )
    frame[list(RAW_COLUMNS)] = frame[list(RAW_COLUMNS)].fillna("")
    frame = frame.sort_values("source_row", kind="stable").drop_duplicates("source_row")
    return frame.astype({"source_row": "int64"}).reset_index(drop=True)


def staging_kept(batch_id: int) -> bool:
    """The batch's staging rows are still there (retention has not pruned them)."""
    return StagingInvoice.objects.filter(batch_id=batch_id).exists()


def cleaned_like(frame: pd.DataFrame) -> pd.DataFrame:
    """Cleaned values read back from the database, typed as ``invoices_clean`` returns them."""
    frame = frame.copy()
    for column in _INTEGERS:
        frame[column] = pd.array([None if pd.isna(v) else int(v) for v in frame[column]], dtype="Int64")
    for column in _MONEY:
        frame[column] = frame[column].map(lambda v: None if v is None or pd.isna(v) else f"{v:.2f}")
    if "clean_issue_date" in frame and connection.vendor != "mysql":  # SQLite answers text
        frame["clean_issue_date"] = pd.to_datetime(frame["clean_issue_date"]).dt.date
    return frame


class InvoicesRead:
    """Reads keyed by the invoice ids that now pass, ``facts`` first (joined to their JSON
    array). Facts are never deleted, so a load loaded a row for an id (its lineage, a later
    load's claim) only if the id is in the warehouse: after ``facts`` the reads of staging
    look for those ids alone (a temporary table of them), and are not made at all when none
    is there."""

    def __init__(self, invoice_ids: list[str]) -> None:
        self._ids = invoice_ids
        self._in_warehouse: int | None = None  # how many of them, once ``facts`` has read them

    def _settled(self, batch_id: int, columns: tuple[str, ...]) -> pd.DataFrame:
        """The load's staging rows of these ids as re-processings of its rows left them.

        A re-processing stages the rows it settles under its own batch; for each row the
        latest succeeded re-processing of it speaks, else the load's own staging. Only the
        rows loaded (no reason) are returned.
        """
        if self._in_warehouse is None:
            raise RuntimeError("read the facts first")
        if not self._in_warehouse:
            return pd.DataFrame(columns=list(columns))
        overlays = LoadBatch.objects.filter(
            reprocess__source_batch_id=batch_id, status=LoadBatch.Status.SUCCEEDED, dry_run=False
        )
        selected = ", ".join(f"s.{c}" for c in columns)
        frames = []
        for order, staged_by in enumerate([batch_id, *overlays.order_by("pk").values_list("pk", flat=True)]):
            fetched = rows_fetch(  # each a primary-key range of staging
                f"SELECT {selected}, {STAGED_REASON} FROM stg_invoices s JOIN {_INVOICE_IDS} t"
                f" ON t.k = s.clean_invoice_id {MARKS_JOIN} WHERE s.batch_id = %s",
                [staged_by],
            )
            frames.append(pd.DataFrame(fetched, columns=[*columns, "reason_now"]).assign(order=order))
        rows = pd.concat(frames, ignore_index=True).sort_values(["source_row", "order"], kind="stable")
        rows = rows.drop_duplicates("source_row", keep="last")
        return rows.loc[rows["reason_now"].isna(), list(columns)].reset_index(drop=True)

    def loaded_rows(self, *, batch_id: int) -> pd.DataFrame:
        """The rows the batch loaded for these invoice ids, staged columns."""
        return cleaned_like(self._settled(batch_id, _STAGED))

    def facts(self) -> pd.DataFrame:
        """The invoices as they stand, indexed by id: the writing batch and the staged columns."""
        columns = ", ".join(f"f.{c}" for c in FACT_OF_CLEAN.values())
        rows = keys_rows(  # straight from the ids' JSON: usually few of them are in the warehouse
            f"SELECT f.invoice_id, f.batch_id, {columns} FROM {{keys}}"
            " JOIN fact_invoices f ON f.invoice_id = {key}",
            self._ids,
            [],
            text=True,
        )
        frame = pd.DataFrame(rows, columns=["invoice_id", "batch_id", *FACT_OF_CLEAN])
        if len(frame):  # the keys of the staging reads, made only when there is one to make
            keys_table(_INVOICE_IDS, frame["invoice_id"].tolist(), text=True)
        self._in_warehouse = len(frame)
        return cleaned_like(frame).set_index("invoice_id")

    def later_owned(self, *, batch_id: int, facts: pd.DataFrame) -> set[str]:
        """Ids (among ``facts``) a load later than the batch carried: its value stands.

        A later load's staging says it loaded the id; where its staging was pruned, the
        invoice's writing batch says it (a later load, or a re-processing of a later load's
        rows).
        """
        later = LoadBatch.objects.filter(
            status=LoadBatch.Status.SUCCEEDED, dry_run=False, pk__gt=batch_id, reprocess__isnull=True
        ).exclude(sha256="")
        owned: set[str] = set()
        for later_id in later.values_list("pk", flat=True):
            owned.update(self._settled(later_id, ("source_row", "clean_invoice_id"))["clean_invoice_id"])
        writers = LoadBatch.objects.filter(pk__in=set(facts["batch_id"].tolist()))
        later_writers = {
            pk
            for pk, sha256, source in writers.values_list("pk", "sha256", "reprocess__source_batch_id")
            if (source or (pk if sha256 else 0)) > batch_id
        }
        owned.update(facts.index[facts["batch_id"].isin(later_writers)])
        return owned
