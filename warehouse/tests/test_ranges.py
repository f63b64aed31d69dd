import datetime as dt
import random

import pytest
from django.db.models import Count, Sum

from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Invoice
from warehouse.selectors.ranges import sales_in_ranges
from warehouse.selectors.sales import DimensionNames, SalesFilter, money
from warehouse.tests.factories import batch_make, invoice_create

pytestmark = pytest.mark.django_db


def test_totals_of_many_ranges_equal_sql_over_the_facts():
    batch = batch_make()
    rng = random.Random(11)
    first = dt.date(2023, 12, 1)
    for n in range(250):
        invoice_create(
            batch,
            f"R{n}",
            first + dt.timedelta(days=rng.randrange(200)),
            f"C-10{rng.randrange(3)}",
            rng.choice(["API Access", "Cloud Storage"]),
            rng.choice(["PAID", "PENDING", "REFUNDED"]),
            rng.randrange(1, 5),
            f"{rng.randrange(1, 9999) / 100:.2f}",
        )
    daily_sales_refresh()
    dims = DimensionNames.load()
    for flt in (SalesFilter(), SalesFilter(customer_id="C-101", statuses=("PENDING",))):
        for _ in range(10):  # disjoint ranges: whole months, partial months, single days, across years
            cuts = sorted(rng.sample(range(-20, 230), 8))
            ranges = [
                (first + dt.timedelta(a), first + dt.timedelta(b - 1)) for a, b in zip(cuts[::2], cuts[1::2])
            ]
            ranges.append((dt.date(2024, 2, 1), dt.date(2024, 2, 29)))  # a whole month, alone
            ranges = sorted(set(ranges), key=lambda r: r[0])
            ranges = [r for i, r in enumerate(ranges) if i == 0 or r[0] > ranges[i - 1][1]]
            got = sales_in_ranges(filters=flt, ranges=ranges, dims=dims)
            for (a, b), (count, revenue) in zip(ranges, got):
                facts = Invoice.objects.filter(
                    issue_date__gte=a, issue_date__lte=b, status__status_name__in=flt.counted_statuses
                )
                if flt.customer_id:
                    facts = facts.filter(customer__customer_id=flt.customer_id)
                expected = facts.aggregate(n=Count("pk"), r=Sum("total"))
                assert (count, revenue) == (expected["n"], money(expected["r"])), (a, b)
