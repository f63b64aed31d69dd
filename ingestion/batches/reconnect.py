"""Database calls that outlive a dropped connection: retried on a fresh connection.

A connection that failed is closed (never reused) and the call runs again on a new one,
with a growing pause, until it succeeds or ``BATCH_OUTCOME_RETRY_SECONDS`` have passed.
Inside a transaction nothing is retried: the transaction went with its connection, so the
caller's error handling (queue the batch again) decides.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from ingestion.pipeline.lanes import connection_close

logger = logging.getLogger(__name__)

# MySQL/MariaDB client errors of a connection that went away: cannot connect (local socket,
# TCP), server has gone away, lost connection during a query.
CONNECTION_LOST_CODES = frozenset({2002, 2003, 2006, 2013})
# Two transactions that wanted the same rows: lock wait timeout, deadlock. Running the
# statement (or the batch) again is the cure.
LOCK_CONFLICT_CODES = frozenset({1205, 1213})


def connection_lost(exc: BaseException) -> bool:
    """True if ``exc`` says the database connection is gone (not a fault of the statement)."""
    if isinstance(exc, InterfaceError):  # a closed or broken connection object
        return True
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in CONNECTION_LOST_CODES


def transient(exc: BaseException) -> bool:
    """True if running it again may well succeed: a lost connection or a lock conflict."""
    if connection_lost(exc):
        return True
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in LOCK_CONFLICT_CODES


def error_line(exc: BaseException) -> str:
    """A database error as one line: ``(2013, 'Lost connection…')`` -> ``2013 Lost connection…``."""
    if len(exc.args) == 2 and isinstance(exc.args[0], int):
        return f"{exc.args[0]} {exc.args[1]}".strip()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def db_retry[T](call: Callable[[], T], *, what: str, seconds: float | None = None) -> T:
    """``call()``, run again on a new connection while the connection is lost, up to ``seconds``."""
    deadline = time.monotonic() + (settings.BATCH_OUTCOME_RETRY_SECONDS if seconds is None else seconds)
    pause = 0.5
    while True:
        try:
            return call()
        except DatabaseError as exc:
            if not connection_lost(exc) or connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("%s: database connection lost (%s); trying again", what, error_line(exc))
            connection_close()
            time.sleep(pause)
            pause = min(pause * 2, 5)
