"""A re-processing whose connection is lost while it writes its outcome (the resolutions), or
while it reads its rows a chunk at a time, leaves nothing of itself, and its retry converges;
two of the same rows at once end as one (MariaDB/MySQL: a lock wait to kill in, a connection
the server kills, a second writer)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from ingestion.batches.run_stops import BatchRetry
from ingestion.batches.services import invoice_file_ingest
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.rejected.reprocess import REPROCESS_FILE_NAME
from ingestion.tests.files import ingest
from warehouse.models import Customer, LoadBatch, RejectedInvoice, RejectedResolution, ReprocessSelection
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

WAITING_TO_RESOLVE = (  # the re-processing's connection, in the resolutions' insert
    "SELECT ID FROM information_schema.PROCESSLIST"
    " WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO rejected_resolutions%%' AND ID <> CONNECTION_ID()"
)


@pytest.fixture(autouse=True)
def _mysql_only(settings):
    if connection.vendor != "mysql":
        pytest.skip("a lock wait in another connection's way is a MySQL/MariaDB matter here")
    settings.INGEST_CHUNK_ROWS = 1_000


def _queued(ids: list[int]) -> LoadBatch:
    """A re-processing batch of ``ids``, queued as the request leaves it (not run)."""
    batch = LoadBatch.objects.create(
        file_name=REPROCESS_FILE_NAME.format(rows=len(ids)),
        file_path="",
        sha256="",
        source=LoadBatch.Source.ADMIN,
        rows_total=len(ids),
    )
    ReprocessSelection.objects.create(batch=batch, source_batch_id=None, rejected_ids=ids)
    return batch


def _fixable(tmp_path, *, seed: int) -> tuple[Path, list[int]]:
    """A loaded file whose rows of one customer were rejected as unknown, the customer now
    added: the file and those rows' ids."""
    path = invoice_file_generate(path=tmp_path / "a.csv", rows=3_000, seed=seed)
    path.write_text(path.read_text().replace(",C-105,", ",C-120,"))  # a customer the warehouse lacks
    ingest(path)
    unknown = RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").order_by("pk")
    ids = list(unknown.values_list("pk", flat=True))
    assert len(ids) > 100
    Customer.objects.create(customer_id="C-120", customer_name="Tyrell Corp")
    return path, ids


def _in_the_way(rejected_id: int, release: threading.Event, holding: threading.Event) -> threading.Thread:
    """Another connection inserts ``rejected_id``'s resolution and keeps its transaction open
    until ``release``: the re-processing's insert of the same key waits for it."""

    def hold():
        try:
            with transaction.atomic():
                RejectedResolution.objects.create(
                    rejected_id=rejected_id, batch=None, resolved_at=timezone.now()
                )
                holding.set()
                release.wait(120)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(30)
    return thread


def _kill_when_resolving(killed: list[int]) -> threading.Thread:
    """Kill the connection that waits in the resolutions' insert."""

    def watch():
        try:
            deadline = time.monotonic() + 120
            with connection.cursor() as cursor:
                while time.monotonic() < deadline and not killed:
                    cursor.execute(WAITING_TO_RESOLVE)
                    for (pid,) in cursor.fetchall():
                        cursor.execute(f"KILL {int(pid)}")
                        killed.append(pid)
                    time.sleep(0.01)
        finally:
            connections.close_all()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_connection_lost_while_resolving_rolls_the_whole_reprocessing_back(tmp_path):
    _, ids = _fixable(tmp_path, seed=31)
    before = warehouse_snapshot()
    batch = _queued(ids)

    release, holding = threading.Event(), threading.Event()
    killed: list[int] = []
    holder = _in_the_way(ids[-1], release, holding)
    killer = _kill_when_resolving(killed)
    try:
        with pytest.raises(BatchRetry):
            invoice_file_ingest(batch_id=batch.pk, retry_transient=True)
    finally:
        killer.join()
        release.set()
        holder.join()

    assert killed
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == ("queued", 0)
    assert not RejectedResolution.objects.exists()
    assert warehouse_snapshot() == before  # no fact, no reason changed
    assert_aggregates_match_facts()

    result = invoice_file_ingest(batch_id=batch.pk)

    assert result.status == "succeeded", result.error
    assert RejectedResolution.objects.filter(batch=result).count() == result.rows_loaded > 0
    still = RejectedInvoice.objects.filter(pk__in=ids, resolution__isnull=True)
    assert still.count() == len(ids) - result.rows_loaded
    assert_aggregates_match_facts()


def test_a_connection_lost_between_two_chunks_rolls_the_whole_reprocessing_back(
    tmp_path, settings, monkeypatch
):
    """The rows go to the merge a chunk at a time: the reading connection killed (by the
    server) as it reads the second chunk, the first handed to the merge, leaves nothing of
    the batch, and its retry converges."""
    from ingestion.rejected import reprocess_run

    _, ids = _fixable(tmp_path, seed=31)
    before = warehouse_snapshot()
    batch = _queued(ids)
    settings.INGEST_CHUNK_ROWS = 50
    reads, killed = [], []
    read = reprocess_run.chunk_rows

    def killed_on_the_second_chunk(**kwargs):
        reads.append(kwargs)
        if len(reads) == 2:
            own = connection.connection.thread_id()  # this thread's, as the server knows it
            killer = connections.create_connection("default")
            try:
                killer.cursor().execute(f"KILL {int(own)}")
                killed.append(own)
            finally:
                killer.close()
        return read(**kwargs)

    monkeypatch.setattr(reprocess_run, "chunk_rows", killed_on_the_second_chunk)
    with pytest.raises(BatchRetry):
        invoice_file_ingest(batch_id=batch.pk, retry_transient=True)

    assert killed
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == ("queued", 0)
    assert not RejectedResolution.objects.exists()
    assert warehouse_snapshot() == before
    assert_aggregates_match_facts()

    monkeypatch.setattr(reprocess_run, "chunk_rows", read)
    result = invoice_file_ingest(batch_id=batch.pk)

    assert result.status == "succeeded", result.error
    assert result.rows_loaded == RejectedResolution.objects.filter(batch=result).count() > 100
    assert_aggregates_match_facts()


def test_the_same_rows_reprocessed_by_two_batches_at_the_same_moment_load_once(tmp_path, settings):
    """Two batches of the same selection run together, each reading and merging a chunk at a
    time: the warehouse's lock puts one after the other, and the second, reading under the
    lock, finds resolved the rows the first loaded (those still failing it re-processes again,
    to the same reasons). The warehouse ends as after one re-processing."""
    from ingestion.tests.test_concurrency import at_once
    from warehouse.tests.checks import warehouse_clear

    path, ids = _fixable(tmp_path, seed=33)
    settings.INGEST_CHUNK_ROWS = 50
    batches = [_queued(ids), _queued(ids)]

    results = at_once(*(lambda b=b: invoice_file_ingest(batch_id=b.pk) for b in batches))

    assert all(isinstance(r, LoadBatch) and r.status == "succeeded" for r in results), results
    first, second = sorted(results, key=lambda r: r.finished_at)
    assert first.rows_loaded > 100 and first.rows_rejected > 0
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (
        first.rows_rejected,
        0,
        first.rows_rejected,
    )
    assert RejectedResolution.objects.filter(batch=first).count() == first.rows_loaded
    assert not RejectedResolution.objects.filter(batch=second).exists()
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()

    warehouse_clear()
    Customer.objects.filter(customer_id="C-120").delete()
    ingest(path)
    Customer.objects.create(customer_id="C-120", customer_name="Tyrell Corp")
    again = invoice_file_ingest(
        batch_id=_queued(
            list(RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").values_list("pk", flat=True))
        ).pk
    )
    assert (again.status, again.rows_loaded) == ("succeeded", first.rows_loaded)
    assert warehouse_snapshot() == snapshot
