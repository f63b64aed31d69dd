"""Hostile-file benchmark: the files built to hurt, at full size, through ``load_invoices``.

    .venv/bin/python bench/hostile.py [--database-url URL] [--only NAME ...] [--keep]

Writes each file of ``ingestion/tests/hostile.py`` at its full size (under
bench/.cache/hostile/), plus a workbook of blank rows small enough to pass the limits,
recreates the database (default MariaDB ``hostile_bench``; ``bench/ingest.py``'s environment)
and loads each file with ``manage.py load_invoices FILE --json --force`` in a fresh process,
as a user would. Prints, per file: its size, the
batch's outcome (status and error), the wall time and the process's peak RSS. The files are
removed afterwards unless ``--keep``. ``ingestion/tests/test_memory_bound.py`` holds the
bound these figures illustrate (peak RSS under 500 MB, whatever the file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchdb import ROOT
from figures import figures_write, table
from ingest import _env, database_reset

sys.path.insert(0, str(ROOT))
from ingestion.tests import hostile  # the generators the tests use, here at full size

DEFAULT_URL = "mysql://root:@127.0.0.1:3306/hostile_bench"
FOLDER = ROOT / "bench" / ".cache" / "hostile"
FILES = {
    **hostile.ALL,
    "xlsx-blank-rows-under-the-limits": lambda folder: hostile.xlsx_blank_rows(folder / "small", 300_000_000),
}


def load_measure(url: str, path: Path) -> dict:
    """One ``load_invoices --json --force`` of ``path`` in a child process: outcome, time, peak RSS."""
    command = [sys.executable, "manage.py", "load_invoices", str(path), "--json", "--force"]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=_env(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, _, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    assert child.stdout is not None and child.stderr is not None  # both piped
    out, err = child.stdout.read().decode(), child.stderr.read().decode()
    child.stdout.close()
    child.stderr.close()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"load_invoices printed no batch for {path.name}: {err.strip()[-500:]}")
    batch = lines[-1]
    outcome = f"{batch['status']}: " + (batch["error"] or f"{batch['rows_loaded']:,} rows loaded")
    return {"outcome": outcome, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e9:.2f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="MySQL/MariaDB database to (re)create")
    parser.add_argument("--only", nargs="*", choices=sorted(FILES), help="these files only")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    database_reset(args.database_url)
    rows = []
    try:
        for name in args.only or FILES:
            (FOLDER / "small").mkdir(parents=True, exist_ok=True)
            path = FILES[name](FOLDER)
            result = load_measure(args.database_url, path)
            seconds, peak = f"{result['seconds']:.1f}", f"{result['peak_mb']:.0f}"
            print(f"{name} ({_size(path)}): {result['outcome']}; {seconds}s, peak RSS {peak} MB")
            rows.append((f"`{name}` ({_size(path)})", result["outcome"], seconds, peak))
            if not args.keep:
                path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(FOLDER, ignore_errors=True)
    figures_write("loading.md", "hostile", table(["file", "outcome", "seconds", "peak RSS MB"], rows))


if __name__ == "__main__":
    main()
