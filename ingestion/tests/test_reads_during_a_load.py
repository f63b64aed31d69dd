"""While a load runs, the progress endpoint and the dashboard answer (SQLite in WAL mode).

One thread loads a file through the real service; the test polls the batch's progress
JSON and the dashboard from the main thread, each request on its own connection, until
the load ends.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline.generate import invoice_file_generate
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = 24_000  # six chunks of the test settings' INGEST_CHUNK_ROWS


def test_the_sqlite_database_is_in_wal_mode():
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


@pytest.fixture
def polled_load(tmp_path, admin_user):
    """Run a load in a thread and poll while it runs; returns what the polls saw."""
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=11)
    batch = batch_create(path=path)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    progress_url = reverse("admin:warehouse_loadbatch_progress", args=[batch.pk])
    errors: list[BaseException] = []

    def load():
        try:
            invoice_file_ingest(batch_id=batch.pk)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=load)
    thread.start()
    polls = []
    while thread.is_alive():
        progress = client.get(progress_url)
        page = client.get("/visualization/dashboard/")
        payload = progress.json() if progress.status_code == 200 else {}
        polls.append(
            (progress.status_code, page.status_code, payload.get("status"), payload.get("rows_done"))
        )
    thread.join()
    assert errors == []
    batch.refresh_from_db()
    return batch, polls


def test_progress_and_dashboard_answer_200_while_a_load_runs_and_progress_increases(polled_load):
    batch, polls = polled_load

    assert batch.status == LoadBatch.Status.SUCCEEDED and batch.rows_read == ROWS
    assert [p for p in polls if p[:2] != (200, 200)] == []
    assert sum(1 for p in polls if p[2] == "running") >= 3  # answered during the load, not after it
    done = [p[3] for p in polls]
    assert done == sorted(done)  # progress never goes backwards
    seen = {p[3] for p in polls if p[2] == "running"}
    assert any(0 < n < ROWS for n in seen), sorted(seen)
