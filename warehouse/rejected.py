"""Read-side queries over rejected rows for the API: filters, pages by cursor, and chunks
read in primary-key order (the streamed export).

Pages and chunks are keyset reads (``id > last ORDER BY id LIMIT n``): each is one short
query on the primary key, whatever the table's size, so memory stays flat and no cursor
stays open on the server while a slow client reads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from warehouse.models import RejectedInvoice

CURSOR_INVALID = "not a cursor this API returned"
_PRESENTED = (
    "id",
    "batch_id",
    "file_name",
    "source_row",
    "invoice_id",
    "reason",
    "detail",
    "raw_record",
    "created_at",
    "resolved_at",
    "resolved_by_batch_id",
)


def rejected_filter(*, batch_id: int | None = None, reason: str | None = None, resolved: bool | None = None):
    queryset = RejectedInvoice.objects.all()
    if batch_id is not None:
        queryset = queryset.filter(batch_id=batch_id)
    if reason:
        queryset = queryset.filter(reason=reason)
    if resolved is not None:
        queryset = queryset.resolved() if resolved else queryset.unresolved()
    return queryset


def rejected_cursor_encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{last_id}".encode()).decode().rstrip("=")


def rejected_cursor_decode(cursor: str) -> int:
    """The last id of the previous page; ValueError(CURSOR_INVALID) for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(CURSOR_INVALID) from None
    if not (text.startswith("r") and text[1:].isdigit() and len(text) < 20):
        raise ValueError(CURSOR_INVALID)
    return int(text[1:])


def rejected_page(*, queryset, after: int | None, limit: int) -> tuple[list[dict], str | None]:
    """Up to ``limit`` rows after id ``after`` as dicts, and the cursor of the next page (or None)."""
    if after is not None:
        queryset = queryset.filter(id__gt=after)
    rows = list(queryset.order_by("id").values(*_PRESENTED)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rejected_cursor_encode(rows[-1]["id"]) if more else None


def rejected_chunks(*, queryset, fields: tuple[str, ...], chunk_size: int = 5000) -> Iterator[list[tuple]]:
    """Every row of ``queryset`` as tuples of ``fields`` (``id`` first), ``chunk_size`` at a time."""
    assert fields[0] == "id"
    last = None
    while True:
        chunk = queryset.order_by("id") if last is None else queryset.filter(id__gt=last).order_by("id")
        rows = list(chunk.values_list(*fields)[:chunk_size])
        if not rows:
            return
        yield rows
        if len(rows) < chunk_size:
            return
        last = rows[-1][0]
