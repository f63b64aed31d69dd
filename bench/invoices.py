"""Invoice table benchmark: N facts (and their staging rows), then server time per page and
the streamed CSV.

    .venv/bin/python bench/invoices.py --facts 1000000 [--database-url URL] [--repeat 9]

The database is recreated (default: MariaDB ``invoices_bench``) and filled like
``bench/dashboard.py`` (``benchdb.facts_fill``), each fact with a file line. Each page is
requested ``--repeat`` times with the answer cache emptied before each request (every request
reads the database) by a user who sees the batch columns; the median and p95 server time are
printed. Pages: the first page of each sort (the sorts no index serves within a month or a
quarter, as the table offers them up to ``SORT_MAX_ROWS`` invoices), with and without
filters, and a page 900,000 rows deep (its cursor taken from the database). Last, the whole
CSV is downloaded in-process: time, rows, and the growth of the peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

from benchdb import database_recreate, facts_fill

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/invoices_bench"
PAGE = "/visualization/dashboard/invoices/"
PAGES = [
    "",
    "?start=2023-03-01&end=2023-03-31&sort=customer",
    "?sort=invoice",
    "?customer=C-101",
    "?start=2023-01-01&end=2023-03-31&customer=C-101&sort=total",
    "?start=2023-03-01&end=2023-03-31",
    "?start=2023-03-01&end=2023-03-31&sort=-total",
    "?status=PENDING&item=API%20Access",
]


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, p95) milliseconds of ``fn()`` over ``repeat`` runs, after two warm-ups."""
    for _ in range(2):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def lines_fill() -> float:
    """Each fact's file line, as a load writes it (the fill leaves it empty)."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE fact_invoices SET source_row = 2 + CAST(SUBSTRING(invoice_id, 3) AS UNSIGNED)")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=1_000_000, help="number of facts to generate")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="MySQL/MariaDB database to (re)create")
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per page")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    sys.path.insert(0, str(ROOT))
    database_recreate(args.database_url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.http import StreamingHttpResponse
    from django.test import Client

    from warehouse.aggregates import daily_sales_refresh
    from warehouse.selectors import invoices

    call_command("migrate", verbosity=0)
    print(f"fill {args.facts:,} facts: {facts_fill(args.facts):.1f}s; their lines: {lines_fill():.1f}s")
    daily_sales_refresh()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.create_superuser("bench", "b@example.com", "pw"))

    def page(url: str):
        cache.clear()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    deep = invoices.Invoice.objects.order_by("-issue_date", "-invoice_id").values_list(
        "issue_date", "invoice_id"
    )[900_000 if args.facts > 900_000 else args.facts // 2]
    cursor = invoices.invoices_cursor_encode(*deep)
    print(f"{'page':<60} {'median ms':>10} {'p95 ms':>8}")
    for url in [*(PAGE + q for q in PAGES), f"{PAGE}?after={cursor}"]:
        median, p95 = timed(lambda url=url: page(url), args.repeat)
        print(f"{url[:60]:<60} {median:>10.1f} {p95:>8.1f}")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get("/visualization/dashboard/invoices.csv")
    if not isinstance(response, StreamingHttpResponse):
        raise SystemExit(f"the CSV of every invoice was not streamed (status {response.status_code})")
    lines = sum(block.count(b"\n") for block in response.streaming_content)
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"CSV of every invoice: {lines - 2:,} rows in {seconds:.1f}s; peak RSS grew {grown:.0f} MB")


if __name__ == "__main__":
    main()
