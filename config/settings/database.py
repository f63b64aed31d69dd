"""The database: ``DATABASE_URL``; else ``DB_HOST`` with the ``MYSQL_*`` variables; else
SQLite under ``var/``."""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.environment import DATABASE_URL_FORM
from config.settings.base import BASE_DIR, env

DATABASE_URL_NO_SCHEME = "DATABASE_URL {url!r} has no scheme: write " + DATABASE_URL_FORM
DATABASE_URL_ENGINE = (
    "DATABASE_URL names {engine}: this product runs on MariaDB/MySQL or SQLite; write " + DATABASE_URL_FORM
)


def _database_from_env() -> dict:
    if url := env("DATABASE_URL", default=""):
        if not re.match(r"[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
            without_password = re.sub(r"(?<=:)[^:@/]*(?=@)", "***", url)
            raise ImproperlyConfigured(DATABASE_URL_NO_SCHEME.format(url=without_password))
        database = env.db("DATABASE_URL")
        if not database["ENGINE"].endswith(("mysql", "sqlite3")):
            raise ImproperlyConfigured(
                DATABASE_URL_ENGINE.format(engine=database["ENGINE"].rsplit(".", 1)[-1])
            )
        return database
    if env("DB_HOST", default=""):
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": env("MYSQL_DATABASE", default="invoices"),
            "USER": env("MYSQL_USER", default="root"),
            "PASSWORD": env("MYSQL_PASSWORD", default=""),
            "HOST": env("DB_HOST"),
            "PORT": env("DB_PORT", default="3306"),
        }
    (BASE_DIR / "var").mkdir(exist_ok=True)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "dev.sqlite3"}


DATABASES = {"default": _database_from_env()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 everywhere; LOAD DATA LOCAL INFILE for staging when the server allows it.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"charset": "utf8mb4", "local_infile": 1})
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default as a real database: WAL lets readers (progress bar, dashboard)
    # read beside a load's write transaction; a writer takes its lock at BEGIN (IMMEDIATE)
    # and waits up to SQLITE_BUSY_TIMEOUT seconds for another one instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        }
    )
    if str(DATABASES["default"]["NAME"]) != ":memory:":
        # Tests run on a file too (not SQLite's in-memory database), so WAL and concurrent
        # readers behave as they do in production.
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(DATABASES["default"]["NAME"]).with_suffix(".test.sqlite3"))
        }
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
