"""Assertions shared by tests of everything that writes facts."""

import datetime as dt
import hashlib
import json
from collections import Counter
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Sum

from warehouse.models import (
    DailySales,
    Invoice,
    LoadBatch,
    MonthlySales,
    RejectedInvoice,
    RejectedResolution,
    StagingInvoice,
    StagingMark,
    WeeklySales,
)

_KEYS = ("customer_id", "item_id", "status_id")


def assert_aggregates_match_facts() -> None:
    """agg_daily_sales, agg_monthly_sales and agg_weekly_sales equal a GROUP BY over
    fact_invoices, exactly."""
    rows = Invoice.objects.values("issue_date", *_KEYS).annotate(n=Count("pk"), q=Sum("qty"), r=Sum("total"))
    facts = {(r["issue_date"], *(r[k] for k in _KEYS)): (r["n"], r["q"], r["r"]) for r in rows}
    daily = {
        (r.day, r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
        for r in DailySales.objects.all()
    }
    assert daily == facts
    for model, column, first_day in (
        (MonthlySales, "month", lambda day: day.replace(day=1)),
        (WeeklySales, "week", lambda day: day - dt.timedelta(day.weekday())),
    ):
        periods: dict = {}
        for (day, *rest), (n, q, r) in facts.items():
            key = (first_day(day), *rest)
            old = periods.get(key, (0, 0, Decimal(0)))
            periods[key] = (old[0] + n, old[1] + q, old[2] + r)
        rolled = {
            (getattr(r, column), r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
            for r in model.objects.all()
        }
        assert rolled == periods, model.__name__
    assert_facts_name_their_lines()


def assert_facts_name_their_lines() -> None:
    """Every fact's ``source_row`` is the line of its batch's file that wrote it: the staged row
    of that batch that passed with its id (not checked for a batch whose staging retention
    removed)."""
    staged_batches = set(StagingInvoice.objects.values_list("batch_id", flat=True).distinct())
    marked = StagingMark.objects.filter(batch_id=OuterRef("batch_id"), source_row=OuterRef("source_row"))
    passed = StagingInvoice.objects.filter(reason__isnull=True, batch_id__in=staged_batches).exclude(
        Exists(marked)
    )
    lines = {(b, i): r for b, i, r in passed.values_list("batch_id", "clean_invoice_id", "source_row")}
    facts = Invoice.objects.values_list("invoice_id", "batch_id", "source_row")
    wrong = {i: (b, r) for i, b, r in facts if b in staged_batches and r != lines.get((b, i))}
    assert wrong == {}, "(batch, line) of facts whose line is not their batch's"


def warehouse_snapshot() -> dict:
    """What a finance team reads: every fact column (not the writing batch), rejected rows.

    ``facts``: a checksum over every fact column of every invoice, with the count and the
    sum of totals; ``rejected``: the unresolved rejected rows per reason, and each one's
    file, row, reason and raw record.
    """
    facts = sorted(
        Invoice.objects.values_list(
            "invoice_id",
            "issue_date",
            "customer__customer_id",
            "item__item_description",
            "status__status_name",
            "qty",
            "unit_price",
            "total",
        )
    )
    digest = hashlib.sha256(repr(facts).encode()).hexdigest()
    unresolved = RejectedInvoice.objects.filter(resolution__isnull=True).select_related("batch")
    rows = sorted(
        (r.file_sha256, r.source_row, r.reason, r.invoice_id or "", json.dumps(r.raw_record, sort_keys=True))
        for r in unresolved
    )
    return {
        "facts": (len(facts), sum((f[-1] for f in facts), Decimal(0)), digest),
        "rejected_per_reason": dict(sorted(Counter(r[2] for r in rows).items())),
        "rejected": hashlib.sha256(repr(rows).encode()).hexdigest(),
    }


def warehouse_clear() -> None:
    """Empty every table a load writes, to replay loads from scratch in the same database."""
    written = (RejectedResolution, RejectedInvoice, StagingMark, StagingInvoice, Invoice, LoadBatch)
    for model in (*written, DailySales, MonthlySales, WeeklySales):
        model.objects.all().delete()
