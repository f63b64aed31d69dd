"""The test run's MariaDB/MySQL server, for processes the tests start."""

from django.db import connection


def mysql_url(database: str | None = None) -> str:
    """A DATABASE_URL for ``database`` (default: the test database) on the test run's server."""
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 3306
    return f"mysql://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{database or db['NAME']}"
