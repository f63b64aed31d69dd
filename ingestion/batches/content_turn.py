"""One running load of a given content (sha256) at a time: a second one waits its turn;
and which load of a content, if any, loaded it already.

Two loads of one file side by side would both load it (the second finding every row
unchanged), where a serial run ends the second ``skipped``. So a run takes the content's
turn before it checks whether that content is already loaded, and keeps it to its end:

- MySQL/MariaDB: a named lock (``GET_LOCK``) on the content hash, held by the run's
  connection, so it serialises processes and machines and goes away with a lost connection;
- SQLite (one writer): inside a write transaction, a run takes the turn by moving its stage
  on from "waiting" when no other live run of the content has moved on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)

CONTENT_WAIT_STAGE = "waiting: same file"
POLL_SECONDS = 1.0


def content_lock_name(sha256: str) -> str:
    # Named locks are server-wide (one per database) and at most 64 characters.
    key = f"{connection.settings_dict['NAME']}:{sha256}".encode()
    return f"content:{hashlib.sha1(key, usedforsecurity=False).hexdigest()}"


def _mysql_take(sha256: str, *, timeout: float) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [content_lock_name(sha256), timeout])
        return cursor.fetchone()[0] == 1


def _mysql_give_back(sha256: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [content_lock_name(sha256)])
    except DatabaseError:  # the connection went away: so did its lock
        logger.debug("content lock already gone with its connection", exc_info=True)


def _sqlite_take(batch: LoadBatch, owner: str) -> bool:
    with transaction.atomic():  # BEGIN IMMEDIATE: one taker at a time
        holder = (
            LoadBatch.objects.filter(
                sha256=batch.sha256, status=LoadBatch.Status.RUNNING, lease_expires_at__gt=timezone.now()
            )
            .exclude(pk=batch.pk)
            .exclude(stage__in=("", CONTENT_WAIT_STAGE))
        )
        if holder.exists():
            return False
        LoadBatch.objects.filter(pk=batch.pk, lease_owner=owner).update(stage="loading")
        return True


@contextmanager
def content_turn(*, batch: LoadBatch, owner: str, wait: Callable[[], None]) -> Iterator[None]:
    """Hold the turn of the batch's content around a block; ``wait()`` runs about every
    second while another run holds it (it renews the lease and may raise to give up)."""
    if connection.vendor == "mysql":
        while not _mysql_take(batch.sha256, timeout=POLL_SECONDS):
            wait()
        try:
            yield
        finally:
            _mysql_give_back(batch.sha256)
        return
    while not _sqlite_take(batch, owner):
        wait()
        time.sleep(POLL_SECONDS)
    yield  # the turn ends with the run: its status, or its lease


def content_loaded(batch: LoadBatch) -> LoadBatch | None:
    """The latest other load that succeeded with the batch's content (a dry run loads nothing).

    Read inside the batch's transaction, under the warehouse's write lock (every load commits
    under it), this is exact: no load of the content can succeed between it and the commit.
    """
    succeeded = LoadBatch.objects.filter(
        sha256=batch.sha256, status=LoadBatch.Status.SUCCEEDED, dry_run=False
    )
    return succeeded.exclude(pk=batch.pk).order_by("-pk").first()


def size_loaded(batch: LoadBatch) -> bool:
    """Whether a load of a file of this size succeeded: only then may the file be a repeat."""
    return LoadBatch.objects.filter(
        size_bytes=batch.size_bytes, status=LoadBatch.Status.SUCCEEDED, dry_run=False
    ).exists()
