"""What a batch says about itself: counts that add up or none, every attempt, no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from ingestion.batches.leases import batch_sweep
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.batches.tmp_dirs import database_tmp_root
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROW = "INV-{n},2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid"


@pytest.fixture(autouse=True)
def tmp_root(settings, tmp_path) -> Path:
    settings.LOAD_TMP_DIR = tmp_path / "load-tmp"
    return settings.LOAD_TMP_DIR


def write(folder: Path, rows: int, *, bad_line: int | None = None) -> Path:
    lines = [ROW.format(n=n) for n in range(rows)]
    if bad_line is not None:  # a row with an extra field fails the whole file
        lines[bad_line - 2] += ",extra"
    return write_invoices(folder, *lines, name="a.csv")


def test_a_batch_that_fails_part_way_keeps_no_counts_and_its_attempt(tmp_path, settings, tmp_root):
    settings.INGEST_CHUNK_ROWS = 1_000
    batch = ingest(write(tmp_path, 5_000, bad_line=4_500))

    batch.refresh_from_db()
    assert batch.status == "failed" and "4500" in batch.error.replace(",", "")
    assert {f: getattr(batch, f) for f in LoadBatch.COUNT_FIELDS} == dict.fromkeys(LoadBatch.COUNT_FIELDS, 0)
    assert batch.reason_counts == {}
    assert batch.rows_done >= 3_000  # how far it got
    assert [(a["status"], a["error"]) for a in batch.attempts] == [("failed", batch.error)]
    assert (batch.lease_owner, batch.lease_expires_at) == ("", None)
    assert [p for p in tmp_root.rglob("*") if p.is_file() or p.name.startswith("batch-")] == []


def test_a_skipped_batch_keeps_no_counts(tmp_path):
    path = write(tmp_path, 10)
    ingest(path)

    again = ingest(path)

    assert again.status == "skipped"
    assert all(getattr(again, f) == 0 for f in LoadBatch.COUNT_FIELDS)


def test_a_succeeded_batch_records_one_attempt_and_leaves_no_folder(tmp_path, tmp_root):
    batch = ingest(write(tmp_path, 10))

    assert batch.status == "succeeded" and batch.rows_read == batch.rows_loaded + batch.rows_rejected == 10
    assert [a["status"] for a in batch.attempts] == ["succeeded"]
    assert [p for p in tmp_root.rglob("*") if p.is_file() or p.name.startswith("batch-")] == []


def test_folders_of_killed_runs_are_removed_when_the_next_run_starts(tmp_path, tmp_root):
    stale = database_tmp_root() / "batch-999-0123456789ab"
    stale.mkdir(parents=True)
    (stale / "stg_invoices-x.csv").write_text("left by a killed run")

    ingest(write(tmp_path, 10))

    assert not stale.exists()


def test_a_run_leaves_alone_the_folders_of_a_same_named_database_on_another_server(
    tmp_path, tmp_root, settings
):
    here = database_tmp_root()
    db = connection.settings_dict
    other_port = {**db, "HOST": "elsewhere.example", "PORT": "3307"}
    other_file = {**db, "NAME": str(tmp_path / "elsewhere" / Path(str(db["NAME"])).name)}
    connection.settings_dict = other_port if connection.vendor != "sqlite" else other_file
    try:
        there = database_tmp_root()
    finally:
        connection.settings_dict = db
    assert there != here
    theirs = there / "batch-1-0123456789ab"  # their batch 1 is running; ours need not be
    theirs.mkdir(parents=True)

    ingest(write(tmp_path, 10))

    assert theirs.exists()


def test_the_sweeper_queues_again_a_batch_whose_lease_expired(tmp_path):
    batch = batch_create(path=write(tmp_path, 10))
    LoadBatch.objects.filter(pk=batch.pk).update(
        status="running", lease_owner="gone:1:abc", lease_expires_at="2000-01-01T00:00:00Z", rows_done=7
    )
    requeued: list[LoadBatch] = []

    assert batch_sweep(requeue=requeued.append) == [batch.pk]

    batch.refresh_from_db()
    assert (batch.status, batch.lease_owner, [b.pk for b in requeued]) == ("queued", "", [batch.pk])
    assert batch.attempts[-1]["status"] == "worker lost" and batch.attempts[-1]["rows_done"] == 7
    assert invoice_file_ingest(batch_id=batch.pk).status == "succeeded"


def test_the_sweeper_fails_a_batch_after_too_many_lost_workers(tmp_path, settings):
    settings.BATCH_MAX_ATTEMPTS = 2
    batch = batch_create(path=write(tmp_path, 10))
    for _ in range(2):
        LoadBatch.objects.filter(pk=batch.pk).update(
            status="running", lease_owner="gone:1:abc", lease_expires_at="2000-01-01T00:00:00Z"
        )
        batch_sweep(requeue=lambda b: None)

    batch.refresh_from_db()
    assert batch.status == "failed" and batch.error.startswith("worker lost: no heartbeat since")
    assert [a["status"] for a in batch.attempts] == ["worker lost", "worker lost"]


def test_a_live_lease_is_left_alone_by_a_second_run_and_the_sweeper(tmp_path):
    batch = batch_create(path=write(tmp_path, 10))
    LoadBatch.objects.filter(pk=batch.pk).update(
        status="running", lease_owner="alive:1:abc", lease_expires_at="2999-01-01T00:00:00Z"
    )

    assert invoice_file_ingest(batch_id=batch.pk).status == "running"
    assert batch_sweep(requeue=lambda b: None) == []
    batch.refresh_from_db()
    assert (batch.status, batch.lease_owner, batch.attempts) == ("running", "alive:1:abc", [])
