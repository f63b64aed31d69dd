"""A rejected row's detail in the words of the people who fix it.

The stored ``detail`` stays as the load wrote it (``UNKNOWN_CUSTOMER: customer_id 'C-120'
is not in dim_customer``); this turns it into ``customer C-120 (Tyrell Corp) is not in the
customer list`` at display time, from the detail and the raw record.
"""

from __future__ import annotations

import re

from ingestion.pipeline.rules import REASONS, Reason

_PART = re.compile(r"(?:^|; )(" + "|".join(REASONS) + r"): ")
_WORDS = (
    ("invoice_id", "invoice id"),
    ("issue_date", "issue date"),
    ("customer_id", "customer id"),
    ("item_description", "item"),
    ("unit_price", "unit price"),
    ("qty", "quantity"),
    (" != ", " differs from "),
)
_NOT_LISTED: dict[str, str] = {
    Reason.UNKNOWN_CUSTOMER: "customer_id",
    Reason.UNKNOWN_ITEM: "item_description",
    Reason.UNKNOWN_STATUS: "status",
}


def detail_parts(detail: str) -> list[tuple[str, str]]:
    """``[(reason, message), ...]`` in the order the detail lists them."""
    pieces = _PART.split(detail or "")
    return [(pieces[i], pieces[i + 1]) for i in range(1, len(pieces) - 1, 2)]


def _plain(message: str) -> str:
    for word, text in _WORDS:
        message = message.replace(word, text)
    return message


def _not_listed(reason: str, message: str, raw: dict) -> str | None:
    column = _NOT_LISTED.get(reason)
    if column is None or "is not in dim_" not in message:
        return None
    value = " ".join(str(raw.get(column) or "").split())
    if reason == Reason.UNKNOWN_CUSTOMER:
        name = " ".join(str(raw.get("customer_name") or "").split())
        return f"customer {value}{f' ({name})' if name else ''} is not in the customer list"
    if reason == Reason.UNKNOWN_ITEM:
        return f"item \u201c{value}\u201d is not in the item list"
    return f"status {value} is not in the status list"


def detail_for_people(detail: str, raw_record: dict | None) -> list[str]:
    raw = raw_record or {}
    parts = detail_parts(detail)
    if not parts:
        return [_plain(detail)] if detail else []
    return [_not_listed(reason, message, raw) or _plain(message) for reason, message in parts]


def detail_sentence(detail: str, raw_record: dict | None) -> str:
    text = "; ".join(detail_for_people(detail, raw_record))
    return text[:1].upper() + text[1:]
