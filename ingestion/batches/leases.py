"""At most one run of a batch at a time: a lease on the batch row, renewed while it runs.

A run claims its batch with one conditional UPDATE (queued, failed, or running with an
expired lease) that writes an owner token and an expiry. While it runs it renews the
lease (a heartbeat thread on MySQL, every progress update everywhere) and every write of
the batch row names the owner, so a second delivery of the same task finds the live
lease and leaves without touching anything, and a run whose lease was taken over stops
without writing. ``batch_sweep`` finds running batches whose lease expired (worker
killed, machine lost, connection dropped) and queues them again, or fails them after
``BATCH_MAX_ATTEMPTS`` lost workers. Without a broker there is no sweeper: an in-process
``load_invoices`` fails, as it starts, the batches a stopped process left running.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from config.logs import in_log_context
from ingestion.pipeline.lanes import connection_close
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)

WORKER_LOST = "worker lost: no heartbeat since {seen} ({attempts} attempts)"
WORKER_LOST_ATTEMPT = "worker lost: no heartbeat since {seen}"
BATCH_ABANDONED = (
    "interrupted: the process loading it stopped (no heartbeat since {seen});"
    " nothing of it was kept, load the file again"
)


def lease_seconds() -> int:
    return settings.BATCH_LEASE_SECONDS


def lease_owner_new() -> str:
    """A token naming this run: host, process and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def batch_claim(*, batch_id: int, owner: str) -> bool:
    """Take the batch for this run; False if it ended or another run holds a live lease."""
    now = timezone.now()
    claimable = Q(status__in=(LoadBatch.Status.QUEUED, LoadBatch.Status.FAILED)) | Q(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now), status=LoadBatch.Status.RUNNING
    )
    return bool(
        LoadBatch.objects.filter(claimable, pk=batch_id).update(
            status=LoadBatch.Status.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds()),
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
            error="",
            stage="",
            rows_done=0,
        )
    )


def lease_renew(*, batch_id: int, owner: str, **fields) -> bool:
    """Renew the lease (and write ``fields``); False if the batch is no longer this run's."""
    now = timezone.now()
    return bool(
        LoadBatch.objects.filter(pk=batch_id, lease_owner=owner, status=LoadBatch.Status.RUNNING).update(
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds()), heartbeat_at=now, **fields
        )
    )


def attempt_record(batch: LoadBatch, *, status: str, error: str = "", now=None) -> list[dict]:
    """The batch's attempts with this one appended (who ran it, when, how it ended)."""
    now = now or timezone.now()
    started = batch.started_at
    return [
        *(batch.attempts or []),
        {
            "owner": batch.lease_owner,
            "started_at": started.isoformat() if started else None,
            "finished_at": now.isoformat(),
            "seconds": round((now - started).total_seconds(), 3) if started else None,
            "status": status,
            "rows_done": batch.rows_done,
            "error": error,
        },
    ]


class BatchHeartbeat:
    """Renews a batch's lease from its own thread and connection until stopped.

    ``on_lost`` is called (once, from the heartbeat thread) when the batch is no longer
    this run's: cancelled by a user, or taken over after the lease expired.
    """

    def __init__(self, *, batch_id: int, owner: str, on_lost: Callable[[], None]) -> None:
        self.batch_id, self.owner, self.on_lost = batch_id, owner, on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=in_log_context(self._beat), name=f"heartbeat-{batch_id}", daemon=True
        )

    def start(self) -> BatchHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        interval = max(lease_seconds() / 4, 0.5)
        try:
            while not self._stop.wait(interval):
                try:
                    renewed = lease_renew(batch_id=self.batch_id, owner=self.owner)
                except DatabaseError as exc:  # a dropped connection: a new one next time
                    logger.warning("batch %s: heartbeat failed: %s", self.batch_id, exc)
                    connection_close()
                    continue
                if not renewed and not self._stop.is_set():
                    self.on_lost()
                    return
        finally:
            connection_close()


def owner_alive(owner: str) -> bool:
    """True if a lease owner (``host:pid:token``) is a process still running on this machine."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:32] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def batch_sweep(*, requeue: Callable[[LoadBatch], object] | None) -> list[int]:
    """Queue again (or fail) running batches whose lease expired; return their ids.

    ``requeue=None`` (no broker, no worker to send them to): fail them right away, except
    those whose process still runs here (a long step between two lease renewals).
    """
    now = timezone.now()
    stale = LoadBatch.objects.filter(
        Q(lease_expires_at__lt=now)
        | Q(lease_expires_at__isnull=True, started_at__lt=now - dt.timedelta(seconds=lease_seconds())),
        status=LoadBatch.Status.RUNNING,
    )
    swept = []
    for batch in stale:
        if requeue is None and owner_alive(batch.lease_owner):
            continue
        seen = (batch.heartbeat_at or batch.started_at or now).isoformat(timespec="seconds")
        attempts = attempt_record(batch, status="worker lost", error=WORKER_LOST_ATTEMPT.format(seen=seen))
        lost = sum(1 for a in attempts if a["status"] == "worker lost")
        same_run = LoadBatch.objects.filter(
            pk=batch.pk, status=LoadBatch.Status.RUNNING, lease_owner=batch.lease_owner
        )
        released = {"lease_owner": "", "lease_expires_at": None, "attempts": attempts}
        if lost >= settings.BATCH_MAX_ATTEMPTS or requeue is None:
            zero = dict.fromkeys(LoadBatch.COUNT_FIELDS, 0)
            error = (
                BATCH_ABANDONED.format(seen=seen)
                if requeue is None
                else WORKER_LOST.format(seen=seen, attempts=lost)
            )
            if same_run.update(
                status=LoadBatch.Status.FAILED, error=error, finished_at=now, **zero, **released
            ):
                logger.warning("batch %s: %s", batch.pk, error)
                swept.append(batch.pk)
            continue
        if same_run.update(status=LoadBatch.Status.QUEUED, stage="", **released):
            logger.warning("batch %s: worker lost (no heartbeat since %s); queued again", batch.pk, seen)
            batch.refresh_from_db()
            requeue(batch)
            swept.append(batch.pk)
    return swept
