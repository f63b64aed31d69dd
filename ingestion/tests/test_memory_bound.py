"""Memory is bounded whatever the file holds: the hostile files run in a child process
(the real extract and clean code, default limits) that reports its own peak RSS (Linux)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.tests import hostile
from ingestion.tests.files import write_invoices

RSS_LIMIT_MB = 500
MB = 1_000_000

CHILD = """
import json, sys
from pathlib import Path
from ingestion.pipeline import errors
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import dimensions_from_rows, invoices_clean
from ingestion.pipeline.extract import chunks_read, file_format_detect

dims = dimensions_from_rows(customers=[("C-100", 1)], items=[("API Access", 2)], statuses=[("Paid", 3)])
path, rows, error = Path(sys.argv[1]), 0, None
try:
    conventions = AmountConventions()
    for raw in chunks_read(path, file_format_detect(path), chunk_rows=50_000):
        rows += len(invoices_clean(raw, dims=dims, conventions=conventions))
except errors.FileRejected as exc:
    error = str(exc)
# VmHWM is this process's own peak: ru_maxrss would include the parent's, copied at fork.
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) // 1024
print(json.dumps({"rows": rows, "error": error, "peak_mb": peak}))
"""


def run_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(done.stdout)


CASES = [
    ("xlsx-one-huge-cell", lambda d: hostile.xlsx_one_huge_cell(d, size=300 * MB), "inflates 1,0"),
    ("xlsx-blank-rows", lambda d: hostile.xlsx_blank_rows(d, size=560 * MB, numbered=False), "inflates to"),
    ("xlsx-blank-rows-under-the-cap", lambda d: hostile.xlsx_blank_rows(d, size=30 * MB), None),
    (
        "csv-one-line-of-fields",
        lambda d: hostile.csv_one_line_of_fields(d, size=300 * MB),
        "line 1 is longer",
    ),
    ("csv-one-line-no-delimiter", lambda d: hostile.csv_one_line_no_delimiter(d, size=300 * MB), "line 1 is"),
    ("csv-one-huge-row", lambda d: hostile.csv_one_huge_row(d, size=300 * MB), "line 2 is longer"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make", "error"), CASES, ids=[c[0] for c in CASES])
def test_hostile_files_stay_within_the_memory_bound(tmp_path, name, make, error):
    path = make(tmp_path)
    outcome = run_child(path)
    path.unlink()

    if error is None:
        assert outcome == {"rows": 0, "error": None, "peak_mb": outcome["peak_mb"]}
    else:
        assert error in (outcome["error"] or ""), outcome
    assert outcome["peak_mb"] < RSS_LIMIT_MB, outcome


def test_the_child_measures_a_real_load(tmp_path):
    path = write_invoices(tmp_path, hostile.GOOD_ROW.format(n=1), name="ok.csv")
    outcome = run_child(path)
    assert (outcome["rows"], outcome["error"]) == (1, None)
    assert 20 < outcome["peak_mb"] < RSS_LIMIT_MB
