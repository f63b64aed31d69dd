"""Log lines: what each one holds beyond its message, and the logging set-up every process shares.

``log_fields(batch_id=..., file=...)`` names what the lines logged inside it are about (a
batch's run, the sweep of one batch); ``ContextFilter`` copies those fields, and the id
of the web request being served (``X-Request-ID``, see django-log-request-id), onto every
record, so a JSON line carries them as keys and a text line as ``[key=value ...]``.
``logging_config`` builds the ``LOGGING`` setting; the Celery worker and beat use it too
(``config.celery``).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from log_request_id import local as request_local

# The context keys a line may carry, in the order a text line shows them.
CONTEXT_KEYS = ("request_id", "batch_id", "file")
LOG_FILE_NAME = "invoices.log"

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_fields", default={})  # noqa: B039


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged inside the block (this thread or task)."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def in_log_context(step: Callable) -> Callable:
    """``step`` bound to the current log fields, for running on another thread."""
    context = contextvars.copy_context()
    return lambda *args, **kwargs: context.run(step, *args, **kwargs)


class ContextFilter(logging.Filter):
    """Copies the current ``log_fields`` and the request id onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        request_id = getattr(request_local, "request_id", None)
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class ClientErrorFilter(logging.Filter):
    """A request refused for the client's mistake (Django's lines with a 4xx ``status_code``:
    a Host not allowed, a permission missing, a page not found) is one WARNING line without a
    traceback: it is no fault of the server, and a scanner sending bad Host headers made an
    ERROR with a traceback of each request."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info, record.exc_text = None, None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class TextFormatter(logging.Formatter):
    """Readable lines for development: the usual format plus ``[request_id=... batch_id=...]``."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        context = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS if hasattr(record, key))
        return f"{line} [{context}]" if context else line


def logging_config(*, text: bool, level: str, log_dir: str, max_bytes: int, backups: int) -> dict:
    """The ``LOGGING`` dict: JSON lines (or text) on stdout; a rotating file under ``log_dir``."""
    handlers: dict[str, dict] = {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "text" if text else "json",
            "filters": ["context", "client_errors"],
        }
    }
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        handlers["file"] = {
            # Several processes (web workers, Celery) may share the file: it locks while it rotates.
            "class": "concurrent_log_handler.ConcurrentRotatingFileHandler",
            "filename": str(Path(log_dir) / LOG_FILE_NAME),
            "maxBytes": max_bytes,
            "backupCount": backups,
            "formatter": "text" if text else "json",
            "filters": ["context", "client_errors"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}, "client_errors": {"()": ClientErrorFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "{levelname}{name}{message}",
                "style": "{",
                "timestamp": True,
            },
            "text": {
                "()": TextFormatter,
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            },
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        # Django's own handlers (mail to ADMINS, its console) off, its INFO default reset:
        # every logger sends its lines to the root's handlers at the root's level.
        "loggers": {"django": {"handlers": [], "level": "NOTSET", "propagate": True}},
    }
