"""Settings, read from the environment (see ``.env.example`` and docs/configuration.md), one
module per topic; ``DJANGO_SETTINGS_MODULE=config.settings`` reads them all. A topic that
depends on another's value imports it from that module (``sales_answers`` reads the broker's URL
from ``workers``).

Database, in this order: ``DATABASE_URL``; else ``DB_HOST`` with the ``MYSQL_*``
variables; else SQLite under ``var/``. Celery: with ``CELERY_BROKER_URL`` (or
``REDIS_URL``) tasks go to that broker; without one they run eagerly in-process.
"""

from config.settings.base import *  # noqa: F403
from config.settings.database import *  # noqa: F403
from config.settings.loading import *  # noqa: F403
from config.settings.operations import *  # noqa: F403
from config.settings.sales_answers import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.workers import *  # noqa: F403
