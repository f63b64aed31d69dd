"""The benchmarks' own databases: recreated empty for every run."""

from pathlib import Path
from urllib.parse import urlparse


def database_recreate(url: str) -> None:
    """Drop and create the database of ``url`` (MySQL/MariaDB), or delete the SQLite file."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("mysql"):
        import MySQLdb

        name = parsed.path.lstrip("/")
        conn = MySQLdb.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 3306,
            user=parsed.username or "root",
            passwd=parsed.password or "",
        )
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
    elif parsed.scheme == "sqlite":
        Path(parsed.path).unlink(missing_ok=True)
