"""The beat's scheduler: Celery's own (schedule kept in ``CELERY_BEAT_SCHEDULE_FILENAME``),
recording the time of every tick where ``/health/`` and ``manage.py health`` read it."""

import datetime as dt
import logging

from celery.beat import PersistentScheduler
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)
BEAT_TICK_KEY = "health:beat-tick"


def beat_tick_record(now: dt.datetime | None = None) -> None:
    cache.set(BEAT_TICK_KEY, (now or timezone.now()).isoformat(), timeout=None)


def beat_tick_last() -> dt.datetime | None:
    value = cache.get(BEAT_TICK_KEY)
    return dt.datetime.fromisoformat(value) if value else None


class RecordingScheduler(PersistentScheduler):
    def tick(self, *args, **kwargs):
        try:
            beat_tick_record()
        except Exception:  # a cache outage must not stop the schedule
            logger.warning("could not record the beat's tick", exc_info=True)
        return super().tick(*args, **kwargs)
