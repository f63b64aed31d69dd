"""The load's rules with this installation's settings and dimensions (load and re-processing).

The rules (``ingestion.pipeline.clean``, pandas) are imported when they first run: an upload
imports this module for its limits alone, in a web process that never cleans a row.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from django.conf import settings

from ingestion.pipeline import extract
from warehouse.models import Customer, Item, Status

if TYPE_CHECKING:
    import pandas as pd

    from ingestion.pipeline.amounts import AmountConventions


def dimensions_load():
    """The dimension lookups the cleaning rules check against, as they are now."""
    from ingestion.pipeline.clean import dimensions_from_rows

    return dimensions_from_rows(
        customers=Customer.objects.values_list("customer_id", "customer_key"),
        items=Item.objects.values_list("item_description", "item_key"),
        statuses=Status.objects.values_list("status_name", "status_key"),
    )


def invoices_validate(
    raw: pd.DataFrame, *, dims, conventions: AmountConventions | None = None
) -> pd.DataFrame:
    """``invoices_clean`` with this installation's settings (date order, missing ids).

    ``conventions`` carries the file's amount conventions from one chunk to the next.
    """
    from ingestion.pipeline.clean import invoices_clean

    return invoices_clean(
        raw,
        dims=dims,
        day_first=settings.INVOICE_DATE_ORDER.upper() != "MDY",
        allow_missing_invoice_id=settings.ALLOW_MISSING_INVOICE_ID,
        conventions=conventions,
    )


def read_limits() -> extract.Limits:
    """The installation's limits on what one file may hold (the load and the upload)."""
    return extract.Limits(
        field_bytes=settings.INGEST_MAX_FIELD_BYTES,
        line_bytes=settings.INGEST_MAX_LINE_BYTES,
        chunk_bytes=settings.INGEST_MAX_CHUNK_BYTES,
        part_bytes=settings.INGEST_MAX_XLSX_PART_BYTES,
        part_ratio=settings.INGEST_MAX_XLSX_RATIO,
    )


def reason_counts_ordered(reasons: Counter) -> dict[str, int]:
    """Counts per reason, the most frequent first (as batches store them)."""
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
