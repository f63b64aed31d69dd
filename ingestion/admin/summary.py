"""The outcome of a batch, as the top of its page shows it."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.http import urlencode

from ingestion.admin import views
from ingestion.admin.display import admin_url, number, seconds_text, status_badge
from ingestion.batches.preview_loads import preview_load, preview_loadable
from ingestion.batches.previews import batch_preview
from warehouse.models import LoadBatch, RejectedInvoice
from warehouse.selectors.batches import DRY_RUN_TEXT, batch_present


def progress_bar(presented: dict) -> str:
    """The bar and the progress line, both from ``batch_present`` (``percent``,
    ``progress_text``); ``batch_progress.js`` updates both from the progress JSON."""
    return format_html(
        '<div class="ingestion-progress" data-url="{}" data-finished="{}" data-status="{}">'
        '<div class="ingestion-progress-bar" style="width:{}%"></div></div>'
        '<span class="ingestion-progress-text">{}</span>',
        admin_url(LoadBatch._meta, "progress", presented["id"]),
        "true" if presented["finished"] else "false",
        presented["status"],
        presented["percent"] or 0,
        presented["progress_text"],
    )


def batch_summary(batch: LoadBatch) -> dict:
    """The top of a batch page: the batch as ``batch_present`` shows it (``presented``), its
    counts formatted like everywhere else (``counts``), and what only the page adds.

    A dry run stores no rejected rows, so it links to none (``rejected_url`` and the reasons'
    links are empty)."""
    presented = batch_present(batch)
    rejected_url = admin_url(RejectedInvoice._meta, "changelist")
    seconds = batch.duration_seconds
    rate = batch.rejection_rate  # one decimal here, from the unrounded rate (like the list)
    dry_run, query = presented["dry_run"], {"batch__id__exact": batch.pk}
    return {
        "presented": presented,
        "counts": {field: number(presented[field]) for field in LoadBatch.COUNT_FIELDS},
        "headline": views.batch_outcome_message(batch)[1],
        "status": status_badge(presented["status"], dry_run=presented["dry_run"]),
        "progress": progress_bar(presented),
        "dry_run_text": DRY_RUN_TEXT if dry_run else "",
        "rejection_rate": "-" if rate is None else f"{rate:.1f}%",
        "rejected_url": "" if dry_run else f"{rejected_url}?{urlencode(query)}",
        "reasons": [
            (
                reason,
                number(count),
                "" if dry_run else f"{rejected_url}?{urlencode({**query, 'reason': reason})}",
            )
            for reason, count in presented["reason_counts"].items()
        ],
        "duration": seconds_text(seconds),
        "rows_per_second": number(round(presented["rows_read"] / seconds)) if seconds else "-",
    }


def batch_preview_context(batch: LoadBatch, *, can_act: bool) -> dict:
    """A finished dry run's page: what it would change (``batch_preview``, the presenter
    ``load_invoices --dry-run`` prints too), the load that followed it, or the button that
    loads its stored file (``can_load``)."""
    if not (batch.dry_run and batch.status == LoadBatch.Status.SUCCEEDED):
        return {}
    load = preview_load(batch)
    return {
        "preview": batch_preview(batch),
        "preview_load": load,
        "can_load": can_act and load is None and preview_loadable(batch),
    }
