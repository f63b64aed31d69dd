"""The same file loaded twice at the same moment ends as a serial run would: one load, one skip.

Two ``load_invoices`` processes on one file, started together, on the test's database
(SQLite's file or MariaDB/MySQL): the second waits for the first's turn on the content and
then ends ``skipped``, naming the batch that loaded it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.pipeline.generate import invoice_file_generate
from ingestion.tests.files import ingest
from ingestion.tests.workers import ROOT, process_env
from warehouse.models import LoadBatch
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.slow,
    pytest.mark.process,
]


def load_together(path: Path, count: int) -> list[tuple[int, dict, str]]:
    env = process_env(CELERY_BROKER_URL="", LOG_LEVEL="WARNING")
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "load_invoices", "--json", "--in-process", str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, json.loads(out.strip().splitlines()[-1]), err))
    return results


def test_two_loads_of_one_file_at_once_end_one_succeeded_and_one_skipped(tmp_path):
    path = invoice_file_generate(path=tmp_path / "twice.csv", rows=8_000, seed=51)

    results = load_together(path, 2)

    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    assert not any("Traceback" in err for _, _, err in results)
    loaded, skipped = (
        LoadBatch.objects.get(status="succeeded"),
        LoadBatch.objects.get(status="skipped"),
    )
    assert skipped.note == f"identical to batch #{loaded.pk}, already loaded (use force to load again)"
    assert skipped.rows_read == 0 and [a["status"] for a in skipped.attempts] == ["skipped"]
    # They overlapped: the second started before the first had ended, so it waited its turn.
    started, ended = skipped.started_at, loaded.finished_at
    assert started is not None and ended is not None and started < ended, (started, ended)
    counts = tuple(getattr(loaded, f) for f in LoadBatch.COUNT_FIELDS)
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    clean = ingest(path)
    assert counts == tuple(getattr(clean, f) for f in LoadBatch.COUNT_FIELDS)
    assert warehouse_snapshot() == snapshot
