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
import resource
import time

from benchdb import bench_django, facts_fill, superuser_client, timed
from figures import figures_write, table

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

    bench_django(args.database_url)
    from django.core.cache import cache
    from django.http import StreamingHttpResponse

    from warehouse.aggregates import daily_sales_refresh
    from warehouse.selectors import invoices

    print(f"fill {args.facts:,} facts: {facts_fill(args.facts):.1f}s; their lines: {lines_fill():.1f}s")
    daily_sales_refresh()
    client = superuser_client()

    def page(url: str):
        cache.clear()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    depth = 900_000 if args.facts > 900_000 else args.facts // 2
    deep = invoices.Invoice.objects.order_by("-issue_date", "-invoice_id").values_list(
        "issue_date", "invoice_id"
    )[depth]
    cursor = invoices.invoices_cursor_encode(*deep)
    pages = [(f"`{q or '(first page)'}`", PAGE + q) for q in PAGES]
    pages.append((f"a page {depth:,} rows deep (keyset cursor)", f"{PAGE}?after={cursor}"))
    timings = []
    print(f"{'page':<60} {'median ms':>10} {'p95 ms':>8}")
    for what, url in pages:
        median, p95 = timed(lambda url=url: page(url), args.repeat)
        print(f"{url[:60]:<60} {median:>10.1f} {p95:>8.1f}")
        timings.append((what, f"{median:,.0f}", f"{p95:,.0f}"))

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get("/visualization/dashboard/invoices.csv")
    if not isinstance(response, StreamingHttpResponse):
        raise SystemExit(f"the CSV of every invoice was not streamed (status {response.status_code})")
    lines = sum(bytes(block).count(b"\n") for block in response)
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"CSV of every invoice: {lines - 2:,} rows in {seconds:.1f}s; peak RSS grew {grown:.0f} MB")
    figures_write(
        "benchmarks.md",
        "invoices",
        table([f"`{PAGE}` ({args.facts:,} facts)", "median ms", "p95 ms"], timings),
        table(
            ["CSV of every counted invoice, streamed", "rows", "seconds", "peak RSS grew"],
            [("`invoices.csv`", f"{lines - 2:,}", f"{seconds:.1f}", f"{grown:.0f} MB")],
        ),
    )


if __name__ == "__main__":
    main()
