"""End-to-end load benchmark: a messy file of N rows through the real service, beside its floor.

    .venv/bin/python bench/ingest.py --rows 1000000 [--database-url URL] [--runs 3] [--reload]

Generates the file once (cached under bench/.cache/), then for each run recreates
an empty warehouse database, measures the floor for the file on it (``bench/floor.py``),
loads the file through ``invoice_file_ingest`` in a fresh process and reports rows/s,
seconds per stage, that process's peak RSS and the ratio to the floor of the same run (the
mean of the floors measured just before and just after the load: the machine is shared).
With ``--reload`` it then loads the same file again, forced (every row an upsert of an
existing invoice), and reports that beside the floors measured around it. The last line is the summary
(medians over the runs).
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
from floor import floor_measure

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/invoice_bench"

_ONE_RUN = r"""
import json, resource, time, django
django.setup()
from ingestion.batches.services import batch_create, invoice_file_ingest
from warehouse.selectors.batches import batch_present
started = time.perf_counter()
batch = batch_create(path=PATH, force=FORCE)
batch = invoice_file_ingest(batch_id=batch.pk)
seconds = time.perf_counter() - started
presented = batch_present(batch)
print(json.dumps({
    **{key: presented[key] for key in ("status", "error", "rows_read", "rows_loaded", "rows_rejected")},
    "seconds": seconds, "stages": batch.stage_seconds, "inserted": batch.rows_inserted,
    "updated": batch.rows_updated, "unchanged": batch.rows_unchanged,
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


def load_once(url: str, path: Path, *, force: bool) -> dict:
    """One load of ``path`` through the service, in a fresh process; its result."""
    code = _ONE_RUN.replace("PATH", repr(str(path))).replace("FORCE", repr(force))
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(url), cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"the load crashed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] != "succeeded":
        sys.exit(f"batch {result['status']}: {result['error']}")
    return result


def _report(label: str, rows: int, result: dict, floor: dict) -> str:
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result["stages"].items())
    return (
        f"{label}: {result['seconds']:.2f}s = {result['seconds'] / floor['floor_seconds']:.2f}x the floor,"
        f" {rows / result['seconds']:,.0f} rows/s, peak RSS {result['peak_rss_mb']:.0f} MB; loaded"
        f" {result['rows_loaded']:,} (inserted {result['inserted']:,}, updated {result['updated']:,},"
        f" unchanged {result['unchanged']:,}), rejected {result['rows_rejected']:,}\n  stages: {stages}"
    )


# What each timing of a load measures (``LoadBatch.stage_seconds``), in the order shown;
# indented ones run inside the stage above them, beside each other.
STAGES = (
    ("loading", "**loading** (wall): read, clean, stage and merge every chunk"),
    ("py_read", "· main thread: parsing the file (pandas' C reader)"),
    ("py_clean", "· main thread: cleaning, validating, the repeated-id filter"),
    ("py_wait_db", "· main thread: waiting for the previous chunk's database work"),
    ("db_staging", "· stager connection: `LOAD DATA` of every row into `stg_invoices`"),
    ("db_facts", "· merger connection: new and changed invoices into `fact_invoices`"),
    ("db_rejected", "· merger connection: rejected rows into `rejected_invoices`"),
    ("db_file_hashed", "· merger connection, once read: the rejected rows of earlier loads of it replaced"),
    ("aggregates", "**aggregates** (wall): the batch's changes into the three sales aggregates"),
    ("duplicates", "**duplicates** (wall): repeated invoice ids settled (first valid row wins)"),
    ("db_first_rows", "· stager connection: each repeated id's first valid row, by key"),
    ("committing", "**committing** (wall): batch row, data version, commit"),
)
FLOOR_STEPS = (
    ("floor_load_data", "**floor**: `LOAD DATA` of the raw file into a text staging table"),
    ("floor_insert_select", "**floor**: one keyed, typed `INSERT … SELECT` into a copy of `fact_invoices`"),
)


def where_the_time_goes(runs: list[dict]) -> str:
    """A Markdown table: the medians of each stage of the loads, and of the floor's two steps."""
    kinds = [k for k in ("load", "reload") if k in runs[0]]
    names = {"load": "load", "reload": "forced re-load"}
    blanks = " | " * len(kinds)
    lines = [
        "| stage (median seconds) | " + " | ".join(names[k] for k in kinds) + " | floor |",
        "|---|" + "---:|" * (len(kinds) + 1),
    ]

    def cell(kind: str, key: str) -> str:
        values = [r[kind]["stages"][key] for r in runs if key in r[kind]["stages"]]
        return f"{statistics.median(values):.1f}" if values else ""

    for key, what in STAGES:
        lines.append(f"| {what} | " + " | ".join(cell(k, key) for k in kinds) + " | |")
    for key, what in FLOOR_STEPS:
        lines.append(f"| {what} |{blanks}{statistics.median(r['floor'][key] for r in runs):.1f} |")
    totals = [f"**{statistics.median(r[k]['seconds'] for r in runs):.1f}**" for k in kinds]
    floor_total = statistics.median(r["floor"]["floor_seconds"] for r in runs)
    lines.append("| **end to end** | " + " | ".join(totals) + f" | **{floor_total:.1f}** |")
    floors = {"load": "floor", "reload": "reload_floor"}
    ratios = [
        f"{statistics.median(r[k]['seconds'] / r[floors[k]]['floor_seconds'] for r in runs):.2f}x"
        for k in kinds
    ]
    lines.append("| **to the floor of the same run** | " + " | ".join(ratios) + " | 1.00x |")
    return "\n".join(lines)


def _floor(args, path: Path, label: str) -> dict:
    if args.no_floor:
        return {
            "floor_seconds": float("nan"),
            "floor_load_data": float("nan"),
            "floor_insert_select": float("nan"),
        }
    floor = floor_measure(args.database_url, path)
    print(
        f"{label}: {floor['floor_seconds']:.2f}s (LOAD DATA {floor['floor_load_data']:.2f}s,"
        f" INSERT ... SELECT {floor['floor_insert_select']:.2f}s, {floor['floor_rows']:,} facts)"
    )
    return floor


def _mean(a: dict, b: dict) -> dict:
    """The floor of a load: the mean of the floors measured just before and just after it, so a
    change in the machine's other work during the run weighs on the floor as on the load."""
    return {key: (a[key] + b[key]) / 2 for key in ("floor_seconds", "floor_load_data", "floor_insert_select")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--reload", action="store_true", help="then load the same file again, forced")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (its ratio is not printed)")
    args = parser.parse_args()

    path = input_file(args.rows)
    size_mb = path.stat().st_size / 1e6
    runs: list[dict] = []
    for run in range(1, args.runs + 1):
        database_reset(args.database_url)
        before = _floor(args, path, f"run {run} floor before the load")
        load = load_once(args.database_url, path, force=False)
        after = _floor(args, path, f"run {run} floor after the load")
        entry = {"floor": _mean(before, after), "load": load}
        print(_report(f"run {run} load", args.rows, load, entry["floor"]))
        if args.reload:
            entry["reload"] = load_once(args.database_url, path, force=True)
            last = _floor(args, path, f"run {run} floor after the re-load")
            entry["reload_floor"] = _mean(after, last)
            print(_report(f"run {run} forced re-load", args.rows, entry["reload"], entry["reload_floor"]))
        runs.append(entry)
        sys.stdout.flush()

    def median(kind: str, key: str) -> float:
        return statistics.median(r[kind][key] for r in runs)

    floor_s, load_s = median("floor", "floor_seconds"), median("load", "seconds")
    ratio = statistics.median(r["load"]["seconds"] / r["floor"]["floor_seconds"] for r in runs)
    summary = (
        f"SUMMARY rows={args.rows:,} file={size_mb:.0f}MB runs={len(runs)} median_seconds={load_s:.2f}"
        f" rows_per_s={args.rows / load_s:,.0f} peak_rss_mb={median('load', 'peak_rss_mb'):.0f}"
        f" floor_seconds={floor_s:.2f} load_to_floor={ratio:.2f}"
    )
    if args.reload:
        reload_ratio = statistics.median(
            r["reload"]["seconds"] / r["reload_floor"]["floor_seconds"] for r in runs
        )
        summary += (
            f" reload_seconds={median('reload', 'seconds'):.2f} reload_to_floor={reload_ratio:.2f}"
            f" reload_peak_rss_mb={median('reload', 'peak_rss_mb'):.0f}"
        )
    print(f"{summary} database={urlparse(args.database_url).scheme}")
    if not args.no_floor:
        print(where_the_time_goes(runs))
    from figures import figures_write, summary_table

    tables = [summary_table(summary), *([] if args.no_floor else [where_the_time_goes(runs)])]
    # The reference size's block and the 10M one; other sizes are only printed.
    if args.rows == 1_000_000:
        figures_write("performance.md", "ingest", *tables)
    elif args.rows == 10_000_000:
        figures_write("performance.md", "ingest-10000000", *tables)


if __name__ == "__main__":
    main()
