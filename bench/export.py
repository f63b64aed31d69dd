"""Streamed export benchmark: N rejected rows out of ``GET /api/rejected.csv`` through a real
gunicorn process, read by a client as they come.

    .venv/bin/python bench/export.py --rows 1000000 [--database-url URL] [--port 8765]

Recreates the database (default MariaDB ``export_bench``), fills ``rejected_invoices`` with
N rows by set-based SQL (a raw record of nine fields each, some cells formula-like), makes a
user with a personal token, starts gunicorn as in production (``docker/entrypoint.sh``:
threaded worker, ``--timeout 120``, ``DJANGO_DEBUG`` off) on 127.0.0.1, downloads the CSV
with that token and prints the time, the rows and bytes received, and the web worker's peak
RSS (``VmHWM``, and sampled).
``--compare-iterator`` also reads the same rows in a fresh process with Django's
``QuerySet.iterator()`` and with the keyset chunks the export uses, and prints each peak RSS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from benchdb import database_recreate
from figures import figures_write, table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/export_bench"

_FILL = r"""
import django, json, sys
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from tokens.services import token_create
from warehouse.models import LoadBatch
rows = int(sys.argv[1])
batch = LoadBatch.objects.create(
    file_name="big.csv", file_path="/big.csv", sha256="f" * 64, status="succeeded"
)
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE bench_digits (d INT PRIMARY KEY)")  # a temporary one cannot self-join
    cursor.execute("INSERT INTO bench_digits VALUES " + ",".join(f"({d})" for d in range(10)))
    step = 100_000  # one INSERT ... SELECT per 100,000 rows: short transactions, small undo
    for start in range(0, rows, step):
        count = min(step, rows - start)
        cursor.execute(
            "INSERT INTO rejected_invoices (invoice_id, reason, detail, raw_record, batch_id, file_name,"
            " source_row, created_at) "
            "SELECT CONCAT('INV-', n),"
            " ELT(1 + MOD(n, 3), 'UNKNOWN_CUSTOMER', 'INVALID_DATE', 'TOTAL_MISMATCH'),"
            " CONCAT('UNKNOWN_CUSTOMER: customer_id ''C-', MOD(n, 1000), ''' is not in dim_customer'),"
            " JSON_OBJECT('invoice_id', CONCAT('INV-', n), 'issue_date', '2024-13-05',"
            "  'customer_id', CONCAT('C-', MOD(n, 1000)),"
            "  'customer_name', IF(MOD(n, 50) = 0, '=HYPERLINK(\"x\")', 'Acme Corp'),"
            "  'item_description', 'Server Setup', 'qty', '3', 'unit_price', '$ 1,200.50',"
            "  'total', '3601.50', 'status', 'Paid'), %s, 'big.csv', n + 2, %s "
            "FROM (SELECT %s + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n"
            "      FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f) s"
            " WHERE n < %s",
            [batch.pk, timezone.now(), start, start + count],
        )
    cursor.execute("DROP TABLE bench_digits")
user = get_user_model().objects.create_superuser("bench", "bench@example.com", "pw-bench-123")
_, secret = token_create(user=user, name="bench")
print(json.dumps({"token": secret}))
"""

_READ = r"""
import django, json, resource, sys, time
django.setup()
from warehouse.models import RejectedInvoice
from warehouse.rejected import rejected_chunks
from ingestion.rejected.streams import _FIELDS as fields
started, rows = time.perf_counter(), 0
if sys.argv[1] == "iterator":
    for row in RejectedInvoice.objects.order_by("id").values_list(*fields).iterator(chunk_size=5000):
        rows += 1
else:
    for chunk in rejected_chunks(queryset=RejectedInvoice.objects.all(), fields=fields):
        rows += len(chunk)
print(json.dumps({"method": sys.argv[1], "rows": rows, "seconds": round(time.perf_counter() - started, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _env(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "export-benchmark-only",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "ENV_FILE": "",
        "LOG_LEVEL": "WARNING",
    }


def _python(code: str, url: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=_env(url), cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _worker(master: psutil.Process) -> psutil.Process:
    for _ in range(200):
        children = master.children()
        if children:
            return children[0]
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/favicon.ico")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn does not answer")


def export_run(url: str, port: int, token: str, rows: int) -> dict:
    gunicorn = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--no-control-socket",
    ]
    server = subprocess.Popen(gunicorn, env=_env(url), cwd=ROOT)
    try:
        _wait_listening(port)
        worker = _worker(psutil.Process(server.pid))
        before = worker.memory_info().rss / 2**20
        sampled = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    sampled.append(worker.memory_info().rss / 2**20)
                except psutil.Error:
                    return
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/api/rejected.csv", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        first = None
        size = lines = 0
        while block := response.read(1 << 16):
            first = first or time.perf_counter() - started
            size += len(block)
            lines += block.count(b"\n")  # no cell holds a line break here
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        alive = worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
        return {
            "status": response.status,
            "rows": lines - 1,
            "expected_rows": rows,
            "mb": round(size / 2**20, 1),
            "seconds": round(seconds, 1),
            "rows_per_s": round((lines - 1) / seconds),
            "first_byte_s": round(first or 0, 2),
            "worker_rss_before_mb": round(before),
            "worker_peak_rss_mb": round(max(_hwm_mb(worker.pid), max(sampled))),
            "worker_alive_after": alive,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Rejected rows to export.")
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="The benchmark's own database (recreated)."
    )
    parser.add_argument("--port", type=int, default=8765, help="Port of the gunicorn started on 127.0.0.1.")
    parser.add_argument("--compare-iterator", action="store_true", help="Also time QuerySet.iterator().")
    args = parser.parse_args()

    database_recreate(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], check=True, env=_env(args.database_url), cwd=ROOT
    )
    started = time.perf_counter()
    token = _python(_FILL, args.database_url, str(args.rows))["token"]
    print(f"filled {args.rows:,} rejected rows in {time.perf_counter() - started:.1f} s", flush=True)
    reads = []
    if args.compare_iterator:
        for method in ("iterator", "keyset"):
            reads.append(_python(_READ, args.database_url, method))
            print(json.dumps(reads[-1]), flush=True)
    result = export_run(args.database_url, args.port, token, args.rows)
    print(json.dumps(result))
    download = (
        f"{result['rows']:,} rows ({result['mb']:,.0f} MiB), status {result['status']}",
        f"{result['seconds']:.1f}",
        f"{result['first_byte_s']:.2f}",
        f"{result['rows_per_s']:,}",
        f"{result['worker_rss_before_mb']} → {result['worker_peak_rss_mb']} MiB",
    )
    in_process = [
        (
            f"`{r['method']}`: {r['rows']:,} rows read in-process",
            f"{r['seconds']}",
            "",
            "",
            f"{r['peak_rss_mb']} MiB",
        )
        for r in reads
    ]
    header = ["`GET /api/rejected.csv` through gunicorn", "seconds", "first byte s", "rows/s", "RSS"]
    figures_write("benchmarks.md", "export", table(header, [download, *in_process]))


if __name__ == "__main__":
    main()
