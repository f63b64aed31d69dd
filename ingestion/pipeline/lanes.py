"""Lanes: steps run in order on one database connection each.

On MySQL/MariaDB a lane is a worker thread with its own connection, so two lanes talk to
the database at the same time while Python works on; on SQLite (one connection, one
writer) a lane runs its steps inline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection

from config.logs import in_log_context

logger = logging.getLogger(__name__)


class Lane:
    """Steps run in order on one connection: a worker thread on MySQL, inline otherwise."""

    def __init__(self, name: str, *, threaded: bool) -> None:
        self.executor = ThreadPoolExecutor(1, name) if threaded else None

    def submit(self, step: Callable, *args) -> Future:
        if self.executor is not None:
            return self.executor.submit(in_log_context(step), *args)
        future: Future = Future()
        try:
            future.set_result(step(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self.executor is not None:
            self.executor.submit(connection_close).result()
            self.executor.shutdown()
            self.executor = None


def connection_close() -> None:
    """Close this thread's connection, dead or alive; the next query opens a new one."""
    try:
        connection.close()
    except Exception:  # an already broken connection
        logger.debug("closing a broken connection", exc_info=True)
