"""The validation rules of the load contract, declared once, in the order rows are checked.

A row's ``reason`` is its first failing rule; its ``detail`` lists every failure.
Everything else derives from this table: the check order in ``clean.py``, the raw
fields the admin highlights, the admin's reason filter and the table in docs/loading.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from ingestion.pipeline.columns import RAW_COLUMNS


class Reason(StrEnum):
    """One member per rule, in check order: (code, raw columns it reads, when it fails,
    what the data steward does next, in the steward's words)."""

    columns: tuple[str, ...]
    when: str
    next_step: str

    def __new__(cls, code: str, columns: tuple[str, ...], when: str, next_step: str) -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.columns = columns
        member.when = when
        member.next_step = next_step
        return member

    FIELD_TOO_LONG = (
        "FIELD_TOO_LONG",
        RAW_COLUMNS,
        "a field (extra columns included) is longer than `INGEST_MAX_FIELD_BYTES` (default 1 MiB);"
        " staging keeps its first 256 characters and the field's size",
        "The file is probably damaged (a quote left open swallows the lines after it). Ask the sender for a "
        "clean export and upload it; re-processing cannot repair the row.",
    )
    UNKNOWN_INVOICE_ID = (
        "UNKNOWN_INVOICE_ID",
        ("invoice_id",),
        "invoice id missing (unless `ALLOW_MISSING_INVOICE_ID=true`: then a deterministic `GEN-` id"
        " derived from the row's content), longer than 64 characters, or holding a control character",
        "The row has no usable invoice id. Ask the sender for it and upload the corrected file; re-"
        "processing cannot invent an id.",
    )
    INVALID_DATE = (
        "INVALID_DATE",
        ("issue_date",),
        "date missing or not a real date in an accepted format",
        "Find the real date with the sender (the row shows the date as it was read): correct it in the"
        " file and upload the corrected file. Re-processing does not change a date.",
    )
    UNKNOWN_CUSTOMER = (
        "UNKNOWN_CUSTOMER",
        ("customer_id",),
        "customer id not in `dim_customer`, or holding a control character",
        "If the customer is real, add it to the customer list (from the row's page, or for many rows with"
        " the list action that adds the unknown customers and items), then re-process the rows. If the id"
        " is a typo, correct the file and upload it again.",
    )
    UNKNOWN_ITEM = (
        "UNKNOWN_ITEM",
        ("item_description",),
        "item not in `dim_item`",
        "If the item is new, add it to the item list (from the row's page, or for many rows with the list"
        " action), then re-process the rows. If it is a misspelling of an item we have, correct the file and"
        " upload it again.",
    )
    UNKNOWN_STATUS = (
        "UNKNOWN_STATUS",
        ("status",),
        "status not in `dim_status`",
        "Usually a typo in the file (PAYED for PAID): correct the file and upload it again. Add the status "
        "from the row's page only if it is truly a new status, then re-process the row.",
    )
    INVALID_QUANTITY = (
        "INVALID_QUANTITY",
        ("qty",),
        "qty missing, not a whole number, or <= 0",
        "The quantity must be a whole number above zero. Ask the sender for the right quantity, correct the "
        "file and upload it again.",
    )
    INVALID_UNIT_PRICE = (
        "INVALID_UNIT_PRICE",
        ("unit_price",),
        "unit price missing, not a number, < 0, or written against its column's decimal convention",
        "The unit price is missing or unreadable. Ask the sender for the right price, correct the file and "
        "upload it again.",
    )
    INVALID_TOTAL = (
        "INVALID_TOTAL",
        ("total",),
        "total missing, not a number, < 0, or written against its column's decimal convention",
        "The total is missing or unreadable. Ask the sender for the right total, correct the file and upload"
        " it again.",
    )
    TOTAL_MISMATCH = (
        "TOTAL_MISMATCH",
        ("qty", "unit_price", "total"),
        "`round(qty * unit_price, 2) != round(total, 2)` (decimal arithmetic)",
        "Quantity x unit price does not give the total to the cent: one of the three is wrong (often a "
        "discount or tax folded into the total). Ask the sender which, correct the file and upload it again;"
        " re-processing the same values gives the same answer.",
    )
    DUPLICATE_INVOICE_ID = (
        "DUPLICATE_INVOICE_ID",
        ("invoice_id",),
        "the row passes every rule above, but an earlier valid row of the same file has the same invoice id",
        "Nothing is lost when the detail says the rows are identical: leave the row. When they differ, the "
        "first row was loaded: if the later one is right, correct the file (one row per invoice) and upload "
        "it again.",
    )


REASONS: tuple[str, ...] = tuple(str(reason) for reason in Reason)
DUPLICATE_INVOICE_ID = Reason.DUPLICATE_INVOICE_ID.value  # settled over the whole batch, by the load


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


def reason_next_step(code: str) -> str:
    """What the data steward does next about a reason; empty for a code this version does not know."""
    return next((reason.next_step for reason in Reason if reason.value == code), "")


def reason_next_steps_markdown() -> str:
    """The "what to do next" table of docs/admin.md, as the rules declare it."""
    lines = ["| reason | what to do next |", "|---|---|"]
    lines += [f"| `{reason}` | {reason.next_step} |" for reason in Reason]
    return "\n".join(lines)
