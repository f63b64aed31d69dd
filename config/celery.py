"""Celery application: configured from Django settings under the ``CELERY_`` namespace."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
