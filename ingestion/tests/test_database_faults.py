"""The database stopped and started again under a load: in process, and under a worker.

A private ``mariadbd`` (``servers.MariaDBServer``, its own data folder and port) holds the
warehouse the load writes, so the test can stop it; the clean run it is compared with is
loaded into the test's own database. MariaDB/MySQL runs only (skipped on SQLite, where no
server can go away).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from ingestion.pipeline.generate import invoice_file_generate
from ingestion.tests.files import ingest
from ingestion.tests.servers import MariaDBServer, RedisServer
from ingestion.tests.workers import ROOT, Worker
from warehouse.models import LoadBatch
from warehouse.tests.checks import warehouse_snapshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.slow,
    pytest.mark.process,
]
DATABASE = "invoices"
ROWS = 60_000
# The test settings' chunk, not the worker tests' smaller one: an outage must land while the
# load still has most of its rows to go, however fast the machine.
CHUNK = 4_000
OUTAGE_SECONDS = 6
LAST_BATCH = "SELECT rows_done, status, error FROM load_batch ORDER BY id DESC LIMIT 1"
# Run inside a process on the private database: empty the warehouse, or print its snapshot
# and its batches as JSON.
PRIVATE = """
import json, sys, django
django.setup()
from warehouse.models import LoadBatch
from warehouse.tests.checks import warehouse_clear, warehouse_snapshot
if sys.argv[1] == "clear":
    warehouse_clear()
else:
    batches = [
        {"status": b.status, "error": b.error, "attempts": [a["status"] for a in b.attempts],
         "counts": [getattr(b, f) for f in LoadBatch.COUNT_FIELDS]}
        for b in LoadBatch.objects.order_by("pk")
    ]
    print(json.dumps({"snapshot": warehouse_snapshot(), "batches": batches}, default=str))
"""


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    if connection.vendor != "mysql":
        pytest.skip("a database server stopping under a load: a MariaDB/MySQL matter")
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb"))
    server.start()
    server.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=_env(server),
        check=True,
        capture_output=True,
    )
    yield server
    server.stop()


def _env(server: MariaDBServer, **settings: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": server.url(DATABASE),
        "LOG_LEVEL": "WARNING",
        "TEST_INGEST_CHUNK_ROWS": str(CHUNK),
        **settings,
    }


def _private(server: MariaDBServer, action: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PRIVATE, action], cwd=ROOT, env=_env(server), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout) if action == "read" else {}


@pytest.fixture(scope="module")
def big_file(mariadb, tmp_path_factory) -> Path:
    """The module's one file: each test shows what an outage does to a load, which does not
    depend on the rows, so the three loads read the same file (generated once)."""
    return invoice_file_generate(path=tmp_path_factory.mktemp("files") / "big.csv", rows=ROWS, seed=41)


@pytest.fixture
def private_db(mariadb):
    if not mariadb.up():
        mariadb.start()
    _private(mariadb, "clear")
    return mariadb


_CLEAN_RUNS: dict[Path, tuple[list, dict]] = {}


def clean_run(path: Path) -> tuple[list, dict]:
    """The counts and warehouse of a clean in-process load of ``path`` (the test's database),
    loaded once per file: a clean run's result depends on its file alone."""
    if path not in _CLEAN_RUNS:
        batch = ingest(path)
        counts = [getattr(batch, f) for f in LoadBatch.COUNT_FIELDS]
        _CLEAN_RUNS[path] = counts, json.loads(json.dumps(warehouse_snapshot(), default=str))
    return _CLEAN_RUNS[path]


class Command:
    """``manage.py load_invoices --json`` in its own process; stderr collected line by line."""

    def __init__(self, path: Path, env: dict, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "load_invoices", "--json", *args, str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.said: list[str] = []
        stderr = self.proc.stderr
        assert stderr is not None  # a pipe
        self.reader = threading.Thread(target=lambda: self.said.extend(iter(stderr.readline, "")))
        self.reader.start()

    def result(self) -> tuple[int, dict | None, str]:
        assert self.proc.stdout is not None  # a pipe
        out = self.proc.stdout.read()
        self.proc.wait(timeout=300)
        self.reader.join()
        # --json prints a line per batch; log lines (JSON too, with a level) may share stdout.
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        answers = [line for line in lines if "levelname" not in line]
        return self.proc.returncode, answers[-1] if answers else None, "".join(self.said)


def stop_mid_load(
    server: MariaDBServer, *, after_rows: int = 3 * CHUNK, outage: float = OUTAGE_SECONDS
) -> None:
    """Stop the server once the load has read ``after_rows``, start it ``outage`` s later."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            rows = server.execute(LAST_BATCH, DATABASE)
        except Exception:
            rows = []
        if rows and rows[0][1] == "running" and rows[0][0] >= after_rows:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the load never got going: last seen {rows}")
    server.stop()
    if outage:
        time.sleep(outage)
        server.start()


def test_the_database_restarted_under_an_in_process_load_ends_the_batch_as_a_clean_run(private_db, big_file):
    path = big_file
    command = Command(path, _env(private_db), "--in-process")

    stop_mid_load(private_db)
    code, line, said = command.result()

    assert code == 0, said
    assert "Traceback" not in said, said
    assert line is not None, said
    assert line["status"] == "succeeded", line
    loaded = _private(private_db, "read")
    assert [b["attempts"] for b in loaded["batches"]] == [["queued", "succeeded"]]
    counts, snapshot = clean_run(path)
    assert loaded["batches"][0]["counts"] == counts
    assert loaded["snapshot"] == snapshot


def test_a_database_that_stays_away_ends_the_command_in_one_line_and_the_next_run_ends_the_batch(
    private_db, big_file
):
    path = big_file
    env = _env(private_db, BATCH_OUTCOME_RETRY_SECONDS="2", BATCH_LEASE_SECONDS="3")
    command = Command(path, env, "--in-process")

    stop_mid_load(private_db, outage=0)
    code, line, said = command.result()
    private_db.start()

    assert code == 1 and line is None, said
    assert "Traceback" not in said, said
    last = said.strip().splitlines()[-1]
    assert "the database went away during the load and did not come back" in last, said
    time.sleep(3)  # the lease of the run that stopped expires
    code, line, said = Command(path, env).result()
    assert code == 0, said
    assert "interrupted: the process loading it stopped" in said, said
    loaded = _private(private_db, "read")
    assert [b["status"] for b in loaded["batches"]] == ["failed", "succeeded"]
    assert loaded["batches"][0]["counts"] == [0] * len(LoadBatch.COUNT_FIELDS)
    counts, snapshot = clean_run(path)
    assert loaded["batches"][1]["counts"] == counts
    assert loaded["snapshot"] == snapshot


def test_the_database_restarted_under_a_worker_is_ridden_out_by_the_waiting_command(
    tmp_path, private_db, big_file
):
    path = big_file
    broker = RedisServer(tmp_path / "redis")
    broker.start()
    env = _env(private_db, CELERY_BROKER_URL=broker.url)
    worker = Worker(
        tmp_path / "worker.log", env=env, BATCH_LEASE_SECONDS="30", TEST_INGEST_CHUNK_ROWS=str(CHUNK)
    )
    try:
        command = Command(path, env)
        stop_mid_load(private_db)
        code, line, said = command.result()
        alive = worker.proc.poll() is None
    finally:
        worker.stop()
        broker.stop()

    assert code == 0, said
    assert "Traceback" not in said, said
    assert "the database is unreachable" in said and "the database answers again" in said, said
    assert line is not None, said
    assert line["status"] == "succeeded", line
    assert alive, worker.log_path.read_text()[-3000:]
    loaded = _private(private_db, "read")
    counts, snapshot = clean_run(path)
    assert loaded["batches"][0]["counts"] == counts
    assert loaded["snapshot"] == snapshot
