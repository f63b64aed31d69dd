"""Private database and broker servers that a test may stop and start (never the shared ones).

``RedisServer``: ``redis-server`` on a free port with no persistence (as compose ran it: a
restart loses every message). ``MariaDBServer``: ``mariadbd`` on a free port with its own
data and temporary folders under the test's temporary folder. Both bind 127.0.0.1 and are stopped by the
fixture that started them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up")


class Server:
    """A server process started and stopped (SIGTERM, then SIGKILL) by the test."""

    command: list[str]
    log: Path
    proc: subprocess.Popen | None = None

    def up(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        _wait_until(self.up, what=self.command[0])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class RedisServer(Server):
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port, self.log = free_port(), folder / "redis.log"
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.command = [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
        ]  # fmt: skip

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def up(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False


class MariaDBServer(Server):
    def __init__(self, folder: Path) -> None:
        self.datadir, self.socket = folder / "data", folder / "mysqld.sock"
        self.port, self.log = free_port(), folder / "mariadbd.log"
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        self.command = [
            shutil.which("mariadbd") or "/usr/sbin/mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--pid-file={folder / 'mariadbd.pid'}",
            f"--tmpdir={folder}",  # its temporary tables in its own folder, not the machine's /tmp
            "--bind-address=127.0.0.1",
            f"--port={self.port}",
            "--skip-grant-tables",
            *(["--user=root"] if os.geteuid() == 0 else []),
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ]

    def url(self, database: str) -> str:
        return f"mysql://root:@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str | None = None):
        import MySQLdb

        return MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", database=database or "", connect_timeout=2
        )

    def up(self) -> bool:
        try:
            self.connect().close()
            return True
        except Exception:
            return False

    def execute(self, sql: str, database: str | None = None) -> list[tuple]:
        conn = self.connect(database)
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            rows = list(cursor.fetchall())
            conn.commit()
            return rows
        finally:
            conn.close()
