"""Celery application: configured from Django settings under the ``CELERY_`` namespace."""

import ctypes
import os
import signal

from celery import Celery
from celery.signals import beat_embedded_init, setup_logging

from config.environment import started_by_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


if started_by_celery():
    # A setting that cannot work (no secret key, a DATABASE_URL without a scheme) is one line
    # and exit 1 (as manage.py answers it), before the worker or beat starts anything.
    from config.cli import settings_load_or_exit

    settings_load_or_exit()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def logging_from_settings(loglevel=None, **kwargs) -> None:
    """Worker and beat log like the web and the commands (Django's LOGGING); ``--loglevel``
    can only make them more verbose than LOG_LEVEL."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        root = logging.getLogger()
        asked = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
        root.setLevel(min(root.level, asked))


_PR_SET_PDEATHSIG = 1
_LOADED_IN = os.getpid()  # the worker; ``-B`` forks its beat from it


@beat_embedded_init.connect
def beat_dies_with_its_worker(**kwargs) -> None:
    """``worker -B``: the beat child gets SIGTERM when its worker ends, even by SIGKILL.

    Linux only (prctl); elsewhere, and for a beat run as a thread, nothing changes. Run beat
    as its own process in production (``celery -A config beat``): see docs/faults.md.
    """
    if os.getpid() == _LOADED_IN:  # beat as a thread of the worker itself
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux/glibc
        return
    if os.getppid() != _LOADED_IN:  # the worker died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
