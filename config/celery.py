"""Celery application: configured from Django settings under the ``CELERY_`` namespace."""

import ctypes
import os
import signal

from celery import Celery
from celery.signals import beat_embedded_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
