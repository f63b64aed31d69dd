"""End-to-end load benchmark: a messy file of N rows through the real service.

    .venv/bin/python bench/ingest.py --rows 1000000 [--database-url URL] [--runs 3]

Generates the file once (cached under bench/.cache/), then for each run recreates
an empty warehouse database, loads the file through ``invoice_file_ingest`` in a
fresh process and reports rows/s, seconds per stage and that process's peak RSS.
The last line is the summary (medians over the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from benchdb import database_recreate

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/invoice_bench"

_ONE_RUN = r"""
import json, resource, time, django
django.setup()
from ingestion.services import batch_create, invoice_file_ingest
from warehouse.selectors.batches import batch_present
started = time.perf_counter()
batch = batch_create(path=PATH)
batch = invoice_file_ingest(batch_id=batch.pk)
seconds = time.perf_counter() - started
presented = batch_present(batch)
print(json.dumps({
    **{key: presented[key] for key in ("status", "error", "rows_read", "rows_loaded", "rows_rejected")},
    "seconds": seconds, "stages": batch.stage_seconds,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _env(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }


def database_reset(url: str) -> None:
    database_recreate(url)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=_env(url), cwd=ROOT)


def input_file(rows: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"invoices-{rows}.csv"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "generate_invoices",
                "--rows",
                str(rows),
                "--seed",
                "1",
                "--out",
                str(path),
            ],
            check=True,
            env=_env("sqlite:///" + str(CACHE / "gen.sqlite3")),
            cwd=ROOT,
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    path = input_file(args.rows)
    size_mb = path.stat().st_size / 1e6
    results = []
    for run in range(1, args.runs + 1):
        database_reset(args.database_url)
        out = subprocess.run(
            [sys.executable, "-c", _ONE_RUN.replace("PATH", repr(str(path)))],
            env=_env(args.database_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            sys.exit(f"run {run} crashed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["status"] != "succeeded":
            sys.exit(f"run {run}: batch {result['status']}: {result['error']}")
        results.append(result)
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in result["stages"].items())
        print(
            f"run {run}: {result['seconds']:.2f}s, {args.rows / result['seconds']:,.0f} rows/s,"
            f" peak RSS {result['peak_rss_mb']:.0f} MB ({stages}); loaded {result['rows_loaded']:,},"
            f" rejected {result['rows_rejected']:,}"
        )
    seconds = statistics.median(r["seconds"] for r in results)
    rss = statistics.median(r["peak_rss_mb"] for r in results)
    print(
        f"SUMMARY rows={args.rows:,} file={size_mb:.0f}MB runs={len(results)}"
        f" median_seconds={seconds:.2f} rows_per_s={args.rows / seconds:,.0f}"
        f" peak_rss_mb={rss:.0f} database={urlparse(args.database_url).scheme}"
    )


if __name__ == "__main__":
    main()
