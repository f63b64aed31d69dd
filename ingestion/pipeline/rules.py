"""The validation rules of the load contract, declared once, in the order rows are checked.

A row's ``reason`` is its first failing rule; its ``detail`` lists every failure.
Everything else derives from this table: the check order in ``clean.py``, the raw
fields the admin highlights, the admin's reason filter and the table in docs/loading.md.
"""

from __future__ import annotations

from enum import StrEnum

from ingestion.pipeline.columns import RAW_COLUMNS


class Reason(StrEnum):
    """One member per rule, in check order: (code, raw columns it reads, when it fails)."""

    columns: tuple[str, ...]
    when: str

    def __new__(cls, code: str, columns: tuple[str, ...], when: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.columns = columns
        member.when = when
        return member

    FIELD_TOO_LONG = (
        "FIELD_TOO_LONG",
        RAW_COLUMNS,
        "a field (extra columns included) is longer than `INGEST_MAX_FIELD_BYTES` (default 1 MiB);"
        " staging keeps its first 256 characters and the field's size",
    )
    UNKNOWN_INVOICE_ID = (
        "UNKNOWN_INVOICE_ID",
        ("invoice_id",),
        "invoice id missing (unless `ALLOW_MISSING_INVOICE_ID=true`: then a deterministic `GEN-` id"
        " derived from the row's content), longer than 64 characters, or holding a control character",
    )
    INVALID_DATE = (
        "INVALID_DATE",
        ("issue_date",),
        "date missing or not a real date in an accepted format",
    )
    UNKNOWN_CUSTOMER = (
        "UNKNOWN_CUSTOMER",
        ("customer_id",),
        "customer id not in `dim_customer`, or holding a control character",
    )
    UNKNOWN_ITEM = ("UNKNOWN_ITEM", ("item_description",), "item not in `dim_item`")
    UNKNOWN_STATUS = ("UNKNOWN_STATUS", ("status",), "status not in `dim_status`")
    INVALID_QUANTITY = ("INVALID_QUANTITY", ("qty",), "qty missing, not a whole number, or <= 0")
    INVALID_UNIT_PRICE = (
        "INVALID_UNIT_PRICE",
        ("unit_price",),
        "unit price missing, not a number, < 0, or written against its column's decimal convention",
    )
    INVALID_TOTAL = (
        "INVALID_TOTAL",
        ("total",),
        "total missing, not a number, < 0, or written against its column's decimal convention",
    )
    TOTAL_MISMATCH = (
        "TOTAL_MISMATCH",
        ("qty", "unit_price", "total"),
        "`round(qty * unit_price, 2) != round(total, 2)` (decimal arithmetic)",
    )
    DUPLICATE_INVOICE_ID = (
        "DUPLICATE_INVOICE_ID",
        ("invoice_id",),
        "the row passes every rule above, but an earlier valid row of the same file has the same invoice id",
    )


REASONS: tuple[str, ...] = tuple(str(reason) for reason in Reason)


def reason_columns(code: str) -> tuple[str, ...]:
    """The raw columns a reason is about; none for a code this version does not know."""
    return next((reason.columns for reason in Reason if reason.value == code), ())


def reason_table_markdown() -> str:
    """The reason table of docs/loading.md, as the rules declare it."""
    lines = ["| reason | columns | when |", "|---|---|---|"]
    for reason in Reason:
        columns = "every column" if reason.columns == RAW_COLUMNS else ", ".join(reason.columns)
        lines.append(f"| `{reason}` | {columns} | {reason.when} |")
    return "\n".join(lines)
