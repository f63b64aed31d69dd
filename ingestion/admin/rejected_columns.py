"""How the rejected-rows workbench shows a row: its list columns, its raw record, what to do
next about its reasons, and where the rows still rejected after a re-processing are listed."""

from __future__ import annotations

from django.contrib import admin
from django.http import QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from ingestion.admin.display import admin_url, failing_fields, reasons_in_detail
from ingestion.admin.wording import detail_sentence
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.rules import REASONS, reason_next_step
from warehouse.models import LoadBatch, RejectedInvoice

# Above this many rows, the link to the rows still rejected is the list the selection came
# from (unresolved) rather than the rows' ids (a URL stays short).
STILL_REJECTED_IDS_MAX = 200


def next_steps(codes) -> list[tuple[str, str]]:
    """(reason, what to do next) for ``codes``, in the order given, unknown codes left out."""
    return [(code, step) for code in codes if (step := reason_next_step(code))]


def row_next_steps(row: RejectedInvoice) -> list[tuple[str, str]]:
    """What to do about each reason a row failed for, in check order (its first reason first)."""
    codes = reasons_in_detail(row.reason, row.detail)
    return next_steps([row.reason, *(c for c in REASONS if c in codes and c != row.reason)])


def still_rejected_url(ids: list[int] | None, *, selection_url: str) -> str:
    """The rejected list showing the rows of ``ids`` that are still unresolved: by id for a
    selection of a page, else (or with no ids: "select all") the list the selection was made
    from, unresolved rows only."""
    changelist = admin_url(RejectedInvoice._meta, "changelist")
    if ids is not None and len(ids) <= STILL_REJECTED_IDS_MAX:
        return f"{changelist}?{urlencode({'id__in': ','.join(map(str, ids)), 'resolved': 'no'})}"
    params = QueryDict(selection_url.partition("?")[2], mutable=True)
    params["resolved"] = "no"
    params.pop("p", None)  # fewer rows now: the first page
    return f"{changelist}?{params.urlencode()}"


class RejectedColumnsMixin:
    """The columns and read-only fields of ``RejectedInvoiceAdmin``."""

    @admin.display(description="detail")
    def detail_short(self, obj):
        text = detail_sentence(obj.detail, obj.raw_record)
        return format_html('<span class="ingestion-detail" title="{}">{}</span>', obj.detail, text)

    @admin.display(description="customer")
    def customer(self, obj):
        raw = obj.raw_record or {}
        text = " ".join(str(raw.get(k) or "") for k in ("customer_id", "customer_name")).strip() or "-"
        return format_html('<span class="ingestion-customer" title="{}">{}</span>', text, text)

    @admin.display(description="batch", ordering="batch_id")
    def batch_link(self, obj):
        url = admin_url(LoadBatch._meta, "change", obj.batch_id)
        return format_html('<a href="{}" title="{}">#{}</a>', url, obj.file_name, obj.batch_id)

    @admin.display(description="row", ordering="source_row")
    def row_number(self, obj):
        return obj.source_row

    @admin.display(description="resolved by")
    def resolved_by_link(self, obj):
        if not obj.resolved_by_batch_id:
            return "-"
        url = admin_url(LoadBatch._meta, "change", obj.resolved_by_batch_id)
        return format_html('<a href="{}">batch #{}</a>', url, obj.resolved_by_batch_id)

    @admin.display(description="resolved at", ordering="resolved_at")
    def resolved_at(self, obj):
        return obj.resolved_at

    @admin.display(description="resolved", boolean=True, ordering="resolved_at")
    def resolved(self, obj):
        return obj.resolved_at is not None

    @admin.display(description="raw record")
    def raw_record_table(self, obj):
        raw = obj.raw_record or {}
        failing = failing_fields(obj.reason, obj.detail)
        keys = [*RAW_COLUMNS, *(k for k in raw if k not in RAW_COLUMNS)]
        rows = (
            (
                mark_safe(' class="ingestion-failing"') if key in failing else "",
                key,
                "" if raw.get(key) is None else str(raw.get(key)),
                "fails" if key in failing else ("extra column" if key not in RAW_COLUMNS else ""),
            )
            for key in keys
        )
        return format_html(
            '<table class="ingestion-raw"><thead><tr><th scope="col">field</th>'
            '<th scope="col">value as read</th><th scope="col">finding</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            format_html_join(
                "", '<tr{}><th scope="row">{}</th><td><code>{}</code></td><td>{}</td></tr>', rows
            ),
        )
