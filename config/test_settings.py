"""Settings for the test suite: the real settings without a ``.env``, with a fixed secret key,
a fast password hasher, small chunks and a SQLite file per run. Celery runs eagerly, as
everywhere, unless the environment names a broker; under pytest-xdist each worker of a run
keeps its broker keys apart."""

import os

os.environ["ENV_FILE"] = ""  # a developer's .env never reaches the tests (nor their subprocesses)
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# 4,000 rows a chunk; the processes the worker tests start take the smaller chunks they are
# given (TEST_INGEST_CHUNK_ROWS, ingestion/tests/workers.py), so a short file still has many.
INGEST_CHUNK_ROWS = int(os.environ.get("TEST_INGEST_CHUNK_ROWS") or 4_000)
# Each test process keeps its cache in memory (the root conftest empties it before each
# test); a test that needs Redis names its own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file per test process (pytest-django adds the xdist worker's name), so two runs in one
    # checkout never share (or delete) one.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

if os.environ.get("PYTEST_XDIST_WORKER"):
    # The xdist workers of a run share the tests' Redis database: each prefixes its broker keys
    # (queues, unacknowledged messages, broadcasts) with its name, and so do the Celery workers
    # and commands its tests start, which inherit the variable.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{os.environ['PYTEST_XDIST_WORKER']}:"  # noqa: F405
