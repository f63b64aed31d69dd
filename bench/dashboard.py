"""Dashboard benchmark: N facts, the aggregate refresh, then server time per URL.

    .venv/bin/python bench/dashboard.py --facts 200000 [--database-url URL] [--repeat 20]

Fast path for the facts (``benchdb.facts_fill``): one ``INSERT ... SELECT`` per million rows from a number
table (0..999,999) joined to small tables of days (2023-01-01 + 0..729), customers,
items and statuses (n modulo a few primes), so 5,000,000 facts need no file and
no Python loop. The database is recreated empty (default: MariaDB ``dashboard_bench``,
never the test or loader-benchmark databases), migrated, filled, and
``daily_sales_refresh()`` is timed. Then the dashboard page and every API endpoint
are requested ``--repeat`` times (after two warm-ups) with Django's test Client,
without and with filters, and the median / p95 in-process server time (answers cached
after the first: see ``bench/concurrency.py`` for many clients at once) is printed
per URL; last, the same figures for plain GROUP BY queries over fact_invoices.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from benchdb import FILTERS, URLS, database_recreate, facts_fill

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/dashboard_bench"


def timed(fn, repeat: int) -> tuple[float, float]:
    for _ in range(2):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=200_000, help="number of facts to generate")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="database to (re)create and fill")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per URL")
    parser.add_argument("--group-by-repeat", type=int, default=3, help="timed runs of each GROUP BY")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    sys.path.insert(0, str(ROOT))
    database_recreate(args.database_url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth
    from django.test import Client

    from warehouse.aggregates import daily_sales_refresh
    from warehouse.models import DailySales, Invoice, MonthlySales
    from warehouse.selectors.sales import DEFAULT_REVENUE_STATUSES

    call_command("migrate", verbosity=0)
    print(f"fill {args.facts:,} facts: {facts_fill(args.facts):.1f}s")
    started = time.perf_counter()
    daily_sales_refresh()
    print(
        f"daily_sales_refresh(): {time.perf_counter() - started:.1f}s"
        f" ({DailySales.objects.count():,} daily rows, {MonthlySales.objects.count():,} monthly rows)"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", None))
    print(f"{'URL':<90} {'median ms':>10} {'p95 ms':>8}")
    for url in URLS:
        for full in (url, url + ("&" if "?" in url else "?") + FILTERS):
            assert client.get(full).status_code == 200, full
            median, p95 = timed(lambda full=full: client.get(full), args.repeat)
            print(f"{full:<90} {median:>10.1f} {p95:>8.1f}")

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
        print(f"{name:<90} {median:>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
