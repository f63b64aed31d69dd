"""Nothing queued is lost, nothing running is left behind, on the embedded default too.

Celery runs eagerly here (no broker): sending a batch again runs it in this process, which
is what a worker would do with the message. The same paths under a real Redis restart and
real workers are in ``test_broker_faults.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from ingestion.batches.services import batch_create
from ingestion.management.commands.load_invoices import Command
from ingestion.tasks import batch_sweep, scan_input_dir
from ingestion.tests.files import write_invoices
from warehouse.models import Invoice, LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]
ROW = "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid"
OTHER = "INV-2,2024-01-06,C-100,Acme,Server Setup,2,10.00,20.00,Paid"


def queued(path, *, sent_seconds_ago: float, **kwargs) -> LoadBatch:
    """A queued batch whose message was sent that long ago (and never claimed)."""
    batch = batch_create(path=path, **kwargs)
    sent = timezone.now() - dt.timedelta(seconds=sent_seconds_ago)
    LoadBatch.objects.filter(pk=batch.pk).update(published_at=sent, task_id="lost-message")
    batch.refresh_from_db()
    return batch


def test_the_sweeper_sends_again_a_batch_nobody_claimed_for_a_sweep_period(settings, tmp_path):
    settings.BATCH_SWEEP_SECONDS = 60
    lost = queued(write_invoices(tmp_path, ROW, name="a.csv"), sent_seconds_ago=61)
    fresh = queued(write_invoices(tmp_path, OTHER, name="b.csv"), sent_seconds_ago=5)

    assert batch_sweep() == [lost.pk]

    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost.status, [a["status"] for a in lost.attempts]) == ("succeeded", ["succeeded"])
    assert lost.task_id != "lost-message"
    assert (fresh.status, fresh.task_id) == ("queued", "lost-message")  # still within its period
    assert list(Invoice.objects.values_list("invoice_id", flat=True)) == ["INV-1"]
    assert batch_sweep() == []  # once loaded, never sent again


def test_the_scan_sends_again_a_file_whose_batch_stayed_queued_instead_of_counting_it_handled(
    settings, tmp_path
):
    settings.INPUT_DIR, settings.BATCH_SWEEP_SECONDS = tmp_path / "in", 60
    lost = queued(write_invoices(tmp_path / "in", ROW, name="a.csv"), sent_seconds_ago=120)
    waiting = queued(write_invoices(tmp_path / "in", OTHER, name="b.csv"), sent_seconds_ago=5)

    assert scan_input_dir() == [lost.pk]  # no second batch of the same file

    assert LoadBatch.objects.count() == 2
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert (lost.status, waiting.status) == ("succeeded", "queued")


def test_an_in_process_load_ends_the_batches_a_stopped_run_left_running(settings, tmp_path):
    expired = timezone.now() - dt.timedelta(seconds=5)
    left = batch_create(path=write_invoices(tmp_path, ROW, name="left.csv"))
    mine = batch_create(path=write_invoices(tmp_path, OTHER, name="mine.csv"))
    host = socket.gethostname()[:32]
    LoadBatch.objects.filter(pk=left.pk).update(
        status="running", lease_owner=f"{host}:999999999:gone", lease_expires_at=expired, rows_done=4_000
    )
    LoadBatch.objects.filter(pk=mine.pk).update(  # a live process of this machine: left alone
        status="running", lease_owner=f"{host}:{os.getpid()}:alive", lease_expires_at=expired
    )
    again, err = write_invoices(tmp_path, ROW, name="again.csv"), StringIO()

    call_command("load_invoices", str(again), stdout=StringIO(), stderr=err)

    left.refresh_from_db()
    mine.refresh_from_db()
    assert left.status == "failed" and left.rows_read == 0
    assert left.error.startswith("interrupted: the process loading it stopped (no heartbeat since")
    assert err.getvalue().splitlines()[0] == f"batch #{left.pk} left.csv: {left.error}"
    assert mine.status == "running"
    assert LoadBatch.objects.latest("pk").status == "succeeded"  # the file loads anew


def test_a_waiting_load_invoices_rides_out_a_lock_held_on_its_batch(tmp_path):
    """The wait sends a lost batch again with an UPDATE; a run holding the row past the lock
    wait timeout is read again at the next tick, not a traceback."""
    if connection.vendor != "mysql":
        pytest.skip("row locks and their wait timeout: MariaDB/MySQL")
    batch = queued(write_invoices(tmp_path, ROW, name="a.csv"), sent_seconds_ago=3600)
    holding, waited = threading.Event(), []

    def hold_then_fail():
        try:
            with transaction.atomic():
                LoadBatch.objects.select_for_update().get(pk=batch.pk)
                holding.set()
                time.sleep(3)  # past the waiting command's 1 s lock wait timeout
                LoadBatch.objects.filter(pk=batch.pk).update(status="failed", error="stopped by its run")
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_then_fail)
    holder.start()
    assert holding.wait(30)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    started = time.monotonic()
    try:
        ended = Command(stderr=StringIO())._wait(batch, quiet=True)
        waited.append(time.monotonic() - started)
    finally:
        holder.join()
        connection.close()  # the next test's connection has the server's timeout

    assert (ended.status, ended.error) == ("failed", "stopped by its run")
    assert waited[0] > 1  # it did wait on the lock, and went on
