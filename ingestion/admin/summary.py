"""The outcome of a batch, as the top of its page shows it."""

from __future__ import annotations

from django.utils.http import urlencode

from ingestion import views
from ingestion.admin.display import admin_url, number, seconds_text, status_badge
from warehouse.models import LoadBatch, RejectedInvoice
from warehouse.selectors.batches import batch_present


def batch_summary(batch: LoadBatch) -> dict:
    """The top of a batch page: the batch as ``batch_present`` shows it (``presented``), its
    counts formatted like everywhere else (``counts``), and what only the page adds."""
    presented = batch_present(batch)
    rejected_url = admin_url(RejectedInvoice._meta, "changelist")
    seconds = batch.duration_seconds
    rate = batch.rejection_rate  # one decimal here, from the unrounded rate (like the list)
    return {
        "presented": presented,
        "counts": {field: number(presented[field]) for field in LoadBatch.COUNT_FIELDS},
        "headline": views.batch_outcome_message(batch)[1],
        "status": status_badge(presented["status"]),
        "rejection_rate": "-" if rate is None else f"{rate:.1f}%",
        "rejected_url": f"{rejected_url}?{urlencode({'batch__id__exact': batch.pk})}",
        "reasons": [
            (
                reason,
                number(count),
                f"{rejected_url}?{urlencode({'batch__id__exact': batch.pk, 'reason': reason})}",
            )
            for reason, count in presented["reason_counts"].items()
        ],
        "duration": seconds_text(seconds),
        "rows_per_second": number(round(presented["rows_read"] / seconds)) if seconds else "-",
    }
