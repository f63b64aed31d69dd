"""The outcome of a batch, as the top of its page shows it."""

from __future__ import annotations

from django.utils.http import urlencode

from ingestion import views
from ingestion.admin.display import admin_url, number, seconds_text, status_badge
from warehouse.models import LoadBatch, RejectedInvoice


def batch_summary(batch: LoadBatch) -> dict:
    """The top of a batch page: what happened, in numbers formatted like everywhere else."""
    presented = views.batch_progress_payload(batch)
    rejected_url = admin_url(RejectedInvoice._meta, "changelist")
    seconds = batch.duration_seconds
    rate = batch.rejection_rate
    return {
        "headline": views.batch_outcome_message(batch)[1],
        "status": status_badge(batch.status),
        "running": not presented["finished"],
        "progress_text": presented["progress_text"],
        "read": number(batch.rows_read),
        "loaded": number(batch.rows_loaded),
        "inserted": number(batch.rows_inserted),
        "updated": number(batch.rows_updated),
        "unchanged": number(batch.rows_unchanged),
        "rejected": number(batch.rows_rejected),
        "rejection_rate": "-" if rate is None else f"{rate:.1f}%",
        "rejected_url": f"{rejected_url}?{urlencode({'batch__id__exact': batch.pk})}",
        "reasons": [
            (
                reason,
                number(count),
                f"{rejected_url}?{urlencode({'batch__id__exact': batch.pk, 'reason': reason})}",
            )
            for reason, count in (batch.reason_counts or {}).items()
        ],
        "duration": seconds_text(seconds),
        "rows_per_second": number(round(batch.rows_read / seconds)) if seconds else "-",
    }
