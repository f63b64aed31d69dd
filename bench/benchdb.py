"""The benchmarks' own databases: recreated empty for every run, filled with synthetic facts."""

import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlparse

import figures  # noqa: F401  (records the run's start and takes --write-docs off the command line)

ROOT = Path(__file__).resolve().parent.parent

# What the dashboard benchmarks request: the page and every sales endpoint (and with FILTERS).
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
DAYS = 730
# Small number and dimension tables the fast fill joins; dropped before and after.
_HELPER_TABLES = ("bench_thousand", "bench_seq", "bench_day", "bench_customer", "bench_item", "bench_status")


def database_recreate(url: str) -> None:
    """Drop and create the database of ``url`` (MySQL/MariaDB), or delete the SQLite file."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("mysql"):
        import MySQLdb

        name = parsed.path.lstrip("/")
        conn = MySQLdb.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 3306,
            user=parsed.username or "root",
            passwd=parsed.password or "",
        )
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
    elif parsed.scheme == "sqlite":
        Path(parsed.path).unlink(missing_ok=True)


def bench_django(url: str) -> None:
    """Django set up (the test settings) on the database of ``url``, recreated empty and migrated."""
    os.environ["DATABASE_URL"] = url
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    sys.path.insert(0, str(ROOT))
    database_recreate(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def superuser_client():
    """A test ``Client`` logged in as a new superuser (who sees every column)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", None))
    return client


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
