"""A load reads its file once: one open, each byte read once, the sha256 taken on the way.

The opens are counted by the interpreter's own audit events (``open``, raised by every
``open()`` and ``os.open``, whoever calls them), and the file is a named pipe: a pipe gives
each byte once and cannot be rewound, so a load that read any byte twice would fail or hash
something else. The duplicate-file check, now made once the hash is known, is proved with a
second load of the same file finishing while the first still runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading

import pytest
from django.db import connection

from ingestion.batches.run_stops import BATCH_SKIPPED_NOTE
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline.generate import invoice_file_generate
from warehouse.models import Invoice, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

_watched: dict[str, int] = {}  # resolved path -> opens for reading seen while it is watched
_WRITES = os.O_WRONLY | os.O_RDWR


def _on_audit(event: str, args: tuple) -> None:
    if event != "open" or not _watched or isinstance(args[0], int):
        return
    path, mode, flags = args
    if (mode and any(c in mode for c in "wax+")) or (mode is None and flags & _WRITES):
        return
    opened = os.path.realpath(os.fsdecode(path))
    if opened in _watched:
        _watched[opened] += 1
        if _watched[opened] > 1:  # a second open of a pipe would wait for a writer for ever
            raise PermissionError(f"{opened} opened a second time")


sys.addaudithook(_on_audit)  # hooks cannot be removed: it counts only while a path is watched


def test_a_load_opens_its_file_once_and_reads_each_byte_once(tmp_path, settings):
    settings.INGEST_CHUNK_ROWS = 5_000  # several chunks: the parse goes on where the check stopped
    content = invoice_file_generate(path=tmp_path / "once.csv", rows=30_000, seed=7).read_bytes()
    pipe = tmp_path / "once-pipe.csv"
    os.mkfifo(pipe)
    feeder = threading.Thread(target=pipe.write_bytes, args=(content,), daemon=True)
    _watched[os.path.realpath(pipe)] = 0
    feeder.start()
    try:
        batch = batch_create(path=pipe)
        assert batch.sha256 == ""  # recording the batch reads nothing
        batch = invoice_file_ingest(batch_id=batch.pk)
    finally:
        opens = _watched.pop(os.path.realpath(pipe))
    feeder.join(timeout=60)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert batch.rows_read == 30_000
    assert opens == 1
    assert (batch.sha256, batch.size_bytes) == (hashlib.sha256(content).hexdigest(), len(content))
    rejected = RejectedInvoice.objects.filter(batch=batch).select_related("batch")
    assert {row.file_sha256 for row in rejected} == {batch.sha256}  # the file's, through the batch


def test_the_same_file_loaded_meanwhile_ends_skipped_and_leaves_no_row(tmp_path, settings):
    """The second load of one file learns its hash at its end, after the first succeeded."""
    settings.INGEST_CHUNK_ROWS = 500
    path = invoice_file_generate(path=tmp_path / "twice.csv", rows=3_000, seed=8)
    first, second = batch_create(path=path), batch_create(path=path)
    other: list = []

    def second_load() -> None:
        try:
            invoice_file_ingest(batch_id=second.pk)
        finally:
            connection.close()

    def meanwhile(batch: LoadBatch) -> None:
        if other or not batch.rows_read:
            return
        if connection.vendor == "mysql":  # the first holds the write lock: the second waits for it
            other.append(threading.Thread(target=second_load))
            other[0].start()
        else:  # one writer: the second runs to its end between two chunks of the first
            other.append(invoice_file_ingest(batch_id=second.pk))

    invoice_file_ingest(batch_id=first.pk, on_progress=meanwhile)
    if isinstance(other[0], threading.Thread):
        other[0].join(timeout=300)

    loaded = LoadBatch.objects.get(status=LoadBatch.Status.SUCCEEDED)
    skipped = LoadBatch.objects.get(status=LoadBatch.Status.SKIPPED)
    assert {loaded.pk, skipped.pk} == {first.pk, second.pk}
    assert skipped.note == BATCH_SKIPPED_NOTE.format(batch_id=loaded.pk)
    assert skipped.rows_read == 0 and skipped.rows_rejected == 0
    assert skipped.sha256 == loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert set(Invoice.objects.values_list("batch_id", flat=True)) == {loaded.pk}
    assert set(RejectedInvoice.objects.values_list("batch_id", flat=True)) == {loaded.pk}
    assert Invoice.objects.count() == loaded.rows_loaded


def test_a_file_loaded_before_is_hashed_and_skipped_without_being_parsed(tmp_path):
    """A file the size of a loaded one is hashed first: a repeat is read once, and not parsed."""
    path = invoice_file_generate(path=tmp_path / "again.csv", rows=2_000, seed=9)
    loaded = invoice_file_ingest(batch_id=batch_create(path=path).pk)
    facts = Invoice.objects.count()
    batch = batch_create(path=path)

    _watched[os.path.realpath(path)] = 0
    try:
        again = invoice_file_ingest(batch_id=batch.pk)
    finally:
        opens = _watched.pop(os.path.realpath(path))

    assert again.status == LoadBatch.Status.SKIPPED
    assert again.note == BATCH_SKIPPED_NOTE.format(batch_id=loaded.pk)
    assert opens == 1 and LoadBatch.Stage.LOADING not in again.stage_seconds  # hashed, never parsed
    assert Invoice.objects.count() == facts
