from pathlib import Path

import pytest
from django.db import connection

from ingestion.tests.workers import BROKER_URL, QUEUE_KEYS, Fleet

UPLOADER = ("add_loadbatch", "view_loadbatch", "view_rejectedinvoice")


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploaded files are kept under the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def uploader(staff_user):
    """A staff user who uploads files and reads batches and rejected rows."""
    return staff_user("uploader", *UPLOADER)


@pytest.fixture
def uploader_client(uploader, media, logged_in):
    return logged_in(uploader)


@pytest.fixture
def broker(settings):
    """This process's Celery app on the tests' Redis database (not eager), and back afterwards;
    a Redis client on its keys. Skips unless the database is MySQL/MariaDB (a worker process must see
    the test's database) and Redis answers."""
    import redis
    from kombu.transport.redis import PrefixedStrictRedis

    from config.celery import app

    if connection.vendor != "mysql":
        pytest.skip("the worker process needs a shared database: run with DATABASE_URL=mysql://...")
    client = PrefixedStrictRedis(  # the keys of this xdist worker (config.test_settings)
        connection_pool=redis.ConnectionPool.from_url(BROKER_URL, socket_connect_timeout=1),
        global_keyprefix=app.conf.broker_transport_options.get("global_keyprefix", ""),
    )
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    client.delete(*QUEUE_KEYS)
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False, result_backend=BROKER_URL)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield client
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None
    client.delete(*QUEUE_KEYS)
    results = redis.Redis(connection_pool=client.connection_pool)  # result keys carry no prefix
    for key in results.scan_iter("celery-task-meta-*"):
        results.delete(key)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The module's Celery workers, shared by its tests (see ``ingestion.tests.workers``)."""
    workers = Fleet(tmp_path_factory.mktemp("workers"))
    yield workers
    workers.stop()


@pytest.fixture
def workers(fleet, broker):
    """``workers(count=2, beat=False, **settings)``: the module's fleet with those settings;
    settled (every message acknowledged) after the test."""
    yield fleet
    fleet.settle(broker)
