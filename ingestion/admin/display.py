"""How the load admins show things: admin URLs, numbers, status badges, failing fields."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from ingestion.pipeline.rules import REASONS, reason_columns
from warehouse.selectors.batches import DRY_RUN_TEXT

STATUS_COLOURS = {
    "queued": "#6c757d",
    "running": "#0d6efd",
    "succeeded": "#198754",
    "failed": "#dc3545",
    "skipped": "#8c6d1f",
    "cancelled": "#495057",
}


def admin_url_name(opts, action: str) -> str:
    """``warehouse_loadbatch_upload``: the admin's URL name for ``action`` on a model."""
    return f"{opts.app_label}_{opts.model_name}_{action}"


def admin_url(opts, action: str, *args) -> str:
    return reverse(f"admin:{admin_url_name(opts, action)}", args=args)


def number(value) -> str:
    """Counts the same way everywhere: ``12,345`` (``-`` when unknown)."""
    return "-" if value is None else f"{value:,}"


def moment(value: dt.datetime | str | None) -> str:
    """A point in time the way every admin page shows it: the locale's ``DATETIME_FORMAT``
    (the format Django's own admin fields use), in the site's time zone; ``-`` when unknown.
    Accepts the ISO strings stored in JSON (a batch's attempts) too."""
    if not value:
        return "-"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "DATETIME_FORMAT")


def seconds_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:,.1f} s"


def status_badge(status: str, *, dry_run: bool = False):
    """The coloured status; a dry run's carries a "dry run" badge beside it."""
    badge = format_html(
        '<span class="ingestion-status" style="background:{}">{}</span>',
        STATUS_COLOURS.get(status, "#6c757d"),
        status,
    )
    if not dry_run:
        return badge
    return format_html('{} <span class="ingestion-dry-run" title="{}">dry run</span>', badge, DRY_RUN_TEXT)


def reasons_in_detail(reason: str, detail: str) -> set[str]:
    """Every reason a row failed for: its first one plus those named in its detail."""
    return set(_REASON_IN_DETAIL.findall(detail or "")) | {reason}


_REASON_IN_DETAIL = re.compile(r"\b(" + "|".join(REASONS) + r"):")


def failing_fields(reason: str, detail: str) -> set[str]:
    return {f for code in reasons_in_detail(reason, detail) for f in reason_columns(code)}
