"""Dashboard benchmark: N facts, the aggregate refresh, then server time per URL.

    .venv/bin/python bench/dashboard.py --facts 200000 [--database-url URL] [--repeat 20]

Fast path for the facts: one ``INSERT ... SELECT`` per million rows from a number
table (0..999,999) joined to small tables of days (2023-01-01 + 0..729), customers,
items and statuses (n modulo a few primes), so 5,000,000 facts need no file and
no Python loop. The database is recreated empty (default: MariaDB ``dashboard_bench``,
never the test or loader-benchmark databases), migrated, filled, and
``daily_sales_refresh()`` is timed. Then the dashboard page and every API endpoint
are requested ``--repeat`` times (after two warm-ups) with Django's test Client,
without and with filters, and the median / p95 in-process server time is printed
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

from benchdb import database_recreate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/dashboard_bench"
DAYS = 730
# Small number and dimension tables the fast fill joins; dropped before and after.
_HELPER_TABLES = ("bench_thousand", "bench_seq", "bench_day", "bench_customer", "bench_item", "bench_status")
FILTERS = "start=2023-03-15&end=2023-11-20&status=PAID&status=PENDING&customer=C-101"
URLS = [
    "/visualization/dashboard/",
    "/api/sells/kpis/",
    "/api/sells/customers/?top=10",
    "/api/sells/time/?period=monthly",
    "/api/sells/time/?period=weekly",
    "/api/sells/pending/",
    "/api/sells/status/",
    "/api/sells/items/",
]


def facts_fill(count: int) -> float:
    """Insert ``count`` synthetic facts with set-based SQL; returns seconds."""
    import datetime as dt

    from django.db import connection, transaction

    from warehouse.models import Customer, Item, LoadBatch, Status

    started = time.perf_counter()
    batch = LoadBatch.objects.create(
        file_name="bench", file_path="bench", sha256="0" * 64, status="succeeded"
    )
    concat = "CONCAT('B-', {n})" if connection.vendor == "mysql" else "('B-' || {n})"
    with connection.cursor() as cur:
        for table in _HELPER_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute("CREATE TABLE bench_thousand (n INTEGER PRIMARY KEY)")
        cur.executemany("INSERT INTO bench_thousand VALUES (%s)", [(i,) for i in range(1000)])
        cur.execute("CREATE TABLE bench_seq (n INTEGER PRIMARY KEY)")
        cur.execute(
            "INSERT INTO bench_seq SELECT a.n * 1000 + b.n FROM bench_thousand a CROSS JOIN bench_thousand b "
            "WHERE a.n * 1000 + b.n < %s",
            [min(count, 1_000_000)],
        )
        cur.execute("CREATE TABLE bench_day (i INTEGER PRIMARY KEY, day DATE)")
        first = dt.date(2023, 1, 1)
        cur.executemany(
            "INSERT INTO bench_day VALUES (%s, %s)", [(i, first + dt.timedelta(i)) for i in range(DAYS)]
        )
        for table, keys in (
            ("bench_customer", Customer.objects.values_list("pk", flat=True)),
            ("bench_item", Item.objects.values_list("pk", flat=True)),
            ("bench_status", Status.objects.values_list("pk", flat=True)),
        ):
            cur.execute(f"CREATE TABLE {table} (i INTEGER PRIMARY KEY, k INTEGER)")
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", list(enumerate(sorted(keys))))
        sizes = (Customer.objects.count(), Item.objects.count(), Status.objects.count())
        for offset in range(0, count, 1_000_000):
            n = f"(s.n + {offset})"  # "%%" is a literal "%" on both backends (params follow)
            with transaction.atomic():
                cur.execute(
                    "INSERT INTO fact_invoices (invoice_id, issue_date, customer_key, item_key, status_key,"
                    " qty, unit_price, total, batch_id)"
                    f" SELECT {concat.format(n=n)}, d.day, c.k, it.k, st.k, 1 + {n} %% 9,"
                    f" 10 + ({n} %% 97) * 12.5, (1 + {n} %% 9) * (10 + ({n} %% 97) * 12.5), %s"
                    " FROM bench_seq s"
                    f" JOIN bench_day d ON d.i = {n} %% {DAYS}"
                    f" JOIN bench_customer c ON c.i = {n} %% {sizes[0]}"
                    f" JOIN bench_item it ON it.i = {n} %% 13 %% {sizes[1]}"
                    f" JOIN bench_status st ON st.i = {n} %% 17 %% {sizes[2]}"
                    " WHERE s.n < %s",
                    [batch.pk, count - offset],
                )
        for table in _HELPER_TABLES:
            cur.execute(f"DROP TABLE {table}")
    return time.perf_counter() - started


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
