"""Loads that overlap, run twice or lose their connection still end in a clean-run state.

Each test compares the warehouse after the concurrent or faulty run with a clean serial
replay of the same work in the same database: a checksum over every fact column, the
unresolved rejected rows per reason, each batch's counts, and the aggregates against a
GROUP BY over the facts. They need a second writer beside the first, so they run on
MySQL/MariaDB (SQLite takes one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from ingestion.batches.dispatch import batch_rerun
from ingestion.batches.run_stops import BatchRetry
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.rejected.reprocess import NOTHING_TO_REPROCESS, reprocess_batches_create
from ingestion.tests.files import ingest
from warehouse.locks import facts_lock_name
from warehouse.models import Customer, LoadBatch, RejectedInvoice
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

CHUNK = 1_000  # rows a chunk here: the files below are 2 to 5 chunks, as large ones would be
SIZES = (2_500, 3_750, 3_000, 1_500, 2_250)  # ids from 1: the files overlap, values differ
KILL_ROWS = 5 * CHUNK  # a load still staging and merging when its connection is killed at 2 chunks


@pytest.fixture(autouse=True)
def _mysql_only(settings):
    if connection.vendor != "mysql":
        pytest.skip("a second writer beside the first is a MySQL/MariaDB matter (SQLite: one writer)")
    settings.INGEST_CHUNK_ROWS = CHUNK


def files(tmp_path: Path, count: int, *, seed: int, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    return [
        invoice_file_generate(path=tmp_path / f"f{seed}-{n}.csv", rows=sizes[n], seed=seed * 10 + n)
        for n in range(count)
    ]


def at_once(*calls) -> list:
    """Run the calls in threads started together; return their results (or exceptions)."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index, call):
        try:
            start.wait()
            results[index] = call()
        except BaseException as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def started_in_background(batch: LoadBatch) -> tuple[threading.Thread, list]:
    """A thread loading the batch, once it has read its first rows; (thread, [its result])."""
    result: list = []

    def load() -> None:
        result.append(invoice_file_ingest(batch_id=batch.pk))
        connections.close_all()

    runner = threading.Thread(target=load)
    runner.start()
    while not LoadBatch.objects.filter(pk=batch.pk, status="running", rows_done__gt=0).exists():
        time.sleep(0.01)
    return runner, result


def batch_counts(batch: LoadBatch) -> tuple:
    batch.refresh_from_db()
    return (
        batch.file_name,
        batch.status,
        *(getattr(batch, f) for f in LoadBatch.COUNT_FIELDS),
        batch.reason_counts,
    )


def in_commit_order() -> list[LoadBatch]:
    """Batches in the order their transactions committed (finished_at is set under the lock)."""
    return list(LoadBatch.objects.filter(status=LoadBatch.Status.SUCCEEDED).order_by("finished_at", "pk"))


def replay(paths_in_order: list[tuple[Path, bool]]) -> tuple[list[tuple], dict]:
    warehouse_clear()
    counts = [batch_counts(ingest(path, force=force)) for path, force in paths_in_order]
    assert_aggregates_match_facts()
    return counts, warehouse_snapshot()


@pytest.mark.slow
@pytest.mark.parametrize("repeat", [1, 2, 3])
@pytest.mark.parametrize("width", [2, 4])
def test_overlapping_loads_end_as_a_serial_order_of_them(tmp_path, width, repeat):
    first, *others = files(tmp_path, width + 1, seed=repeat)
    ingest(first)
    batches = [batch_create(path=p) for p in others]

    results = at_once(*(lambda b=b: invoice_file_ingest(batch_id=b.pk) for b in batches))

    assert all(isinstance(r, LoadBatch) and r.status == "succeeded" for r in results), results
    assert_aggregates_match_facts()
    order = in_commit_order()
    counts = [batch_counts(b) for b in order]
    snapshot = warehouse_snapshot()
    assert sum(c[4] for c in counts) == snapshot["facts"][0]  # every fact inserted exactly once
    paths = {b.file_name: Path(b.file_path) for b in order}

    assert replay([(paths[c[0]], False) for c in counts]) == (counts, snapshot)


@pytest.mark.slow
def test_a_load_beside_a_reprocessing_and_a_forced_rerun(tmp_path):
    a, b = files(tmp_path, 2, seed=7)
    a.write_text(a.read_text().replace(",C-105,", ",C-120,"))  # a customer the warehouse lacks
    first = ingest(a)
    unknown = list(RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").values_list("pk", flat=True))
    assert len(unknown) > 100
    Customer.objects.create(customer_id="C-120", customer_name="Tyrell Corp")
    other = batch_create(path=b)

    results = at_once(
        lambda: invoice_file_ingest(batch_id=other.pk),
        lambda: reprocess_batches_create(rejected_ids=unknown),
        lambda: invoice_file_ingest(batch_id=batch_rerun(batch=first).pk),
    )

    assert results[0].status == "succeeded" and results[2].status == "succeeded", results
    reprocessed = results[1]
    if isinstance(reprocessed, ValueError):  # the re-run replaced those rows before the request
        assert str(reprocessed) == NOTHING_TO_REPROCESS
    else:  # a batch, queued and run; it finds none of the rows if the re-run replaced them first
        [batch] = reprocessed
        assert batch.status == "succeeded" and batch.rows_read in (0, len(unknown)), batch
    assert_aggregates_match_facts()
    events = [bt for bt in in_commit_order() if bt.pk != first.pk]
    snapshot = warehouse_snapshot()

    warehouse_clear()
    Customer.objects.filter(customer_id="C-120").delete()
    replayed = ingest(a)
    Customer.objects.create(customer_id="C-120", customer_name="Tyrell Corp")
    for event in events:
        if event.sha256 == "":  # the re-processing
            ids = RejectedInvoice.objects.filter(
                batch=replayed, reason="UNKNOWN_CUSTOMER", resolution__isnull=True
            ).values_list("pk", flat=True)
            if ids:  # none when the re-run came first
                reprocess_batches_create(rejected_ids=list(ids))
        elif Path(event.file_path) == a:
            replayed = ingest(a, force=True)
        else:
            ingest(b)
    assert_aggregates_match_facts()
    assert warehouse_snapshot() == snapshot


def test_one_batch_started_twice_runs_once(tmp_path):
    (path,) = files(tmp_path, 1, seed=11)
    batch = batch_create(path=path)

    results = at_once(*(lambda: invoice_file_ingest(batch_id=batch.pk) for _ in range(2)))

    assert sorted(r.status for r in results) == ["running", "succeeded"]  # one left it alone
    batch.refresh_from_db()
    assert batch.status == "succeeded" and len(batch.attempts) == 1
    counts, snapshot = batch_counts(batch), warehouse_snapshot()
    assert replay([(path, False)]) == ([counts], snapshot)


def test_a_second_start_while_the_first_runs_leaves_it_alone(tmp_path):
    (path,) = files(tmp_path, 1, seed=12)
    batch = batch_create(path=path)
    runner, first = started_in_background(batch)

    second = invoice_file_ingest(batch_id=batch.pk)

    assert (second.status, second.error) == ("running", "")
    runner.join()
    assert first[0].status == "succeeded"
    batch.refresh_from_db()
    assert (batch.status, len(batch.attempts)) == ("succeeded", 1)


def test_a_run_whose_lease_expired_is_taken_over_and_converges(tmp_path):
    (path,) = files(tmp_path, 1, seed=13)
    batch = batch_create(path=path)
    runner, first = started_in_background(batch)
    LoadBatch.objects.filter(pk=batch.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(hours=1)
    )  # as if it hung

    taken_over = invoice_file_ingest(batch_id=batch.pk)
    runner.join()

    assert taken_over.status == "succeeded", taken_over.error
    assert first[0].status in ("running", "succeeded")  # the first run wrote no outcome of its own
    batch.refresh_from_db()
    assert (batch.status, len(batch.attempts)) == ("succeeded", 1)
    counts, snapshot = batch_counts(batch), warehouse_snapshot()
    assert replay([(path, False)]) == ([counts], snapshot)


def _load_connections(cursor, target: str) -> list[int]:
    """Connection ids of the load: the stager's, the merger's (holds the lock), or all."""
    db = connection.settings_dict["NAME"]
    if target == "merger":
        cursor.execute("SELECT IS_USED_LOCK(%s)", [facts_lock_name()])
        holder = cursor.fetchone()[0]
        return [holder] if holder else []
    like = "%stg_invoices%" if target == "stager" else "%"
    cursor.execute(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()"
        " AND COALESCE(INFO, '') LIKE %s",
        [db, like],
    )
    return [row[0] for row in cursor.fetchall()]


def _killer(batch_id: int, target: str, *, after_rows: int, spare=()) -> tuple[threading.Thread, list]:
    """A thread that kills the load's connection(s) once the batch has read ``after_rows``."""
    killed: list[int] = []

    def watch():
        from django.db import connection as conn

        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT rows_done, status FROM load_batch WHERE id = %s", [batch_id])
                    done, status = cursor.fetchone()
                    if status == "running" and done >= after_rows:
                        for pid in set(_load_connections(cursor, target)) - set(spare):
                            cursor.execute(f"KILL {int(pid)}")
                            killed.append(pid)
                time.sleep(0.002)
        finally:
            connections.close_all()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread, killed


@pytest.mark.parametrize("target", ["stager", "merger", "all"])
def test_a_killed_connection_ends_in_the_clean_run_state(tmp_path, target):
    (path,) = files(tmp_path, 1, seed=14, sizes=(KILL_ROWS,))
    clean = ingest(path)
    counts, snapshot = batch_counts(clean), warehouse_snapshot()
    warehouse_clear()
    batch = batch_create(path=path)
    killer, killed = _killer(batch.pk, target, after_rows=2 * CHUNK)

    with pytest.raises(BatchRetry):
        invoice_file_ingest(batch_id=batch.pk, retry_transient=True)
    killer.join()
    assert killed
    batch.refresh_from_db()
    assert (batch.status, batch.lease_owner, batch.rows_read) == ("queued", "", 0)
    assert batch.error.startswith("queued again after a transient database error")
    result = invoice_file_ingest(batch_id=batch.pk)

    assert result.status == "succeeded", result.error
    result.refresh_from_db()
    assert [a["status"] for a in result.attempts] == ["queued", "succeeded"]
    assert "Lost connection" in result.attempts[0]["error"] or "gone away" in result.attempts[0]["error"]
    assert batch_counts(result)[2:] == counts[2:]
    assert warehouse_snapshot() == snapshot
    assert_aggregates_match_facts()
