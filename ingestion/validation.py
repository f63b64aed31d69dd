"""The load's rules with this installation's settings and dimensions (load and re-processing)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from django.conf import settings

from ingestion.pipeline.clean import dimensions_from_rows, invoices_clean
from warehouse.models import Customer, Item, Status


def dimensions_load():
    """The dimension lookups the cleaning rules check against, as they are now."""
    return dimensions_from_rows(
        customers=Customer.objects.values_list("customer_id", "customer_key"),
        items=Item.objects.values_list("item_description", "item_key"),
        statuses=Status.objects.values_list("status_name", "status_key"),
    )


def invoices_validate(raw: pd.DataFrame, *, dims) -> pd.DataFrame:
    """``invoices_clean`` with this installation's settings (date order, missing ids)."""
    return invoices_clean(
        raw,
        dims=dims,
        day_first=settings.INVOICE_DATE_ORDER.upper() != "MDY",
        allow_missing_invoice_id=settings.ALLOW_MISSING_INVOICE_ID,
    )


def reason_counts_ordered(reasons: Counter) -> dict[str, int]:
    """Counts per reason, the most frequent first (as batches store them)."""
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
