"""Dashboard benchmark: N facts, the aggregate refresh, then server time per URL.

    .venv/bin/python bench/dashboard.py --facts 200000 [--database-url URL] [--repeat 20]

Fast path for the facts (``benchdb.facts_fill``): one ``INSERT ... SELECT`` per million rows from a number
table (0..999,999) joined to small tables of days (2023-01-01 + 0..729), customers,
items and statuses (n modulo a few primes), so 5,000,000 facts need no file and
no Python loop. The database is recreated empty (default: MariaDB ``dashboard_bench``,
never the test or loader-benchmark databases), migrated, filled, and
``daily_sales_refresh()`` is timed. Then the dashboard page and every API endpoint
are requested with Django's test Client, without and with filters: the first request's
in-process server time (its answer is built), then the median / p95 of ``--repeat`` more
(after two warm-ups; the answer is cached: see ``bench/concurrency.py`` for many clients at
once) are printed per URL; last, the same figures for plain GROUP BY queries over
fact_invoices. With ``--write-docs`` they go to their block in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

from benchdb import FILTERS, URLS, bench_django, facts_fill, superuser_client, timed
from figures import figure, figures_write, table

DEFAULT_URL = "mysql://root:@127.0.0.1:3306/dashboard_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=200_000, help="number of facts to generate")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="database to (re)create and fill")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per URL")
    parser.add_argument("--group-by-repeat", type=int, default=3, help="timed runs of each GROUP BY")
    args = parser.parse_args()

    bench_django(args.database_url)
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    from warehouse.aggregates import daily_sales_refresh
    from warehouse.models import DailySales, Invoice, MonthlySales
    from warehouse.selectors.sales import DEFAULT_REVENUE_STATUSES

    fill = facts_fill(args.facts)
    print(f"fill {args.facts:,} facts: {fill:.1f}s")
    started = time.perf_counter()
    daily_sales_refresh()
    refresh = time.perf_counter() - started
    sizes = f"{DailySales.objects.count():,} daily rows, {MonthlySales.objects.count():,} monthly rows"
    print(f"daily_sales_refresh(): {refresh:.1f}s ({sizes})")

    client = superuser_client()
    timings: list[tuple[str, float | None, float, float]] = []
    print(f"{'URL':<90} {'first ms':>10} {'median ms':>10} {'p95 ms':>8}")
    for url in URLS:
        for full in (url, url + ("&" if "?" in url else "?") + FILTERS):
            started = time.perf_counter()
            assert client.get(full).status_code == 200, full
            built = (time.perf_counter() - started) * 1000  # the first answer is built, then cached
            median, p95 = timed(lambda full=full: client.get(full), args.repeat)
            print(f"{full:<90} {built:>10.1f} {median:>10.1f} {p95:>8.1f}")
            timings.append((f"`{full.replace(FILTERS, 'FILTERS')}`", built, median, p95))

    revenue = Invoice.objects.filter(status__status_name__in=DEFAULT_REVENUE_STATUSES).order_by()
    queries = {
        "GROUP BY month over fact_invoices": lambda: list(
            revenue.annotate(m=TruncMonth("issue_date")).values("m").annotate(r=Sum("total"))
        ),
        "pending per customer over fact_invoices": lambda: list(
            Invoice.objects.filter(status__status_name="PENDING")
            .order_by()
            .values("customer__customer_name")
            .annotate(r=Sum("total"), n=Count("pk"))
        ),
        "top customers over fact_invoices": lambda: list(
            revenue.values("customer__customer_name").annotate(r=Sum("total")).order_by("-r")[:10]
        ),
    }
    for name, query in queries.items():
        median, p95 = timed(query, args.group_by_repeat)
        print(f"{name:<90} {'':>10} {median:>10.1f} {p95:>8.1f}")
        timings.append((name, None, median, p95))

    figures_write(
        "benchmarks.md",
        "dashboard",
        table(
            ["facts", "fill", "`daily_sales_refresh()`", "aggregate rows"],
            [(f"{args.facts:,}", f"{fill:.1f} s", f"{refresh:.1f} s", sizes)],
        ),
        table(
            ["request (FILTERS: the filters below)", "first: built ms", "then: cached median ms", "p95 ms"],
            [
                (what, figure(built) if built else "", figure(median), figure(p95))
                for what, built, median, p95 in timings
            ],
        ),
        f"FILTERS: `{FILTERS}`",
    )


if __name__ == "__main__":
    main()
