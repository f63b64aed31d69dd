"""One lock for every writer of ``fact_invoices`` and the sales aggregates.

Loads, re-processing and aggregate rebuilds compute what they write from what they read
(inserted or updated, the old version of a changed invoice for the aggregate deltas). Under
InnoDB's REPEATABLE READ a plain read inside a transaction sees the snapshot of its first
read, so two such writers side by side would each miss the other's changes. They therefore
take this lock before their transaction starts and release it after it ends: on MySQL and
MariaDB a named lock (``GET_LOCK``) held by the connection, so it serialises processes and
machines alike and goes away with a lost connection. SQLite allows one writer at a time
anyway (transactions begin ``IMMEDIATE``), so the lock is a no-op there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

FACTS_LOCK_BUSY = "another load is writing the warehouse; gave up waiting after {seconds:g} s"


class FactsLockTimeout(Exception):
    pass


def facts_lock_name() -> str:
    # Named locks are server-wide: one per database.
    return f"{connection.settings_dict['NAME']}.fact_invoices"[:64]


def facts_lock_acquire(*, timeout: float) -> bool:
    """Take the lock on this thread's connection, waiting up to ``timeout`` seconds."""
    if connection.vendor != "mysql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [facts_lock_name(), timeout])
        return cursor.fetchone()[0] == 1


def facts_lock_release() -> None:
    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT RELEASE_LOCK(%s)", [facts_lock_name()])


def facts_lock_wait(*, stop: Callable[[], bool], poll_seconds: float = 1.0) -> bool:
    """Wait for the lock until it is taken (True) or ``stop()`` says to give up (False)."""
    while not stop():
        if facts_lock_acquire(timeout=poll_seconds):
            return True
    return False


@contextmanager
def facts_lock(*, timeout: float) -> Iterator[None]:
    """Hold the lock around a block (open the block's transaction inside it)."""
    started = time.monotonic()
    if not facts_lock_acquire(timeout=timeout):
        raise FactsLockTimeout(FACTS_LOCK_BUSY.format(seconds=round(time.monotonic() - started)))
    try:
        yield
    finally:
        facts_lock_release()
