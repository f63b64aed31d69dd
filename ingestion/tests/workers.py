"""Real Celery workers for the tests: ``celery -A config worker --pool=solo`` processes on the
test's database and the tests' Redis database (``TEST_CELERY_BROKER_URL``).

A test module shares one ``Fleet``: its workers are started by the first test that asks for
them and kept for the next tests that ask for the same count and settings; a test that wants
other settings gets new ones, and a killed worker is replaced. Between two tests the fleet
settles: every message delivered is acknowledged (or the fleet is stopped), so no task of one
test ever runs during the next one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
QUEUE_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")
ROOT = Path(__file__).resolve().parents[2]
SETTLE_SECONDS = 120
# Rows a chunk in the processes the tests start: a file of 15 chunks is 15,000 rows, so a load
# can be watched, killed or cancelled mid-way without writing 60,000 rows each time.
CHUNK = 1_000
DEFAULTS = {
    "CELERY_VISIBILITY_TIMEOUT": "5",  # a killed worker's message comes back quickly
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "BATCH_LEASE_SECONDS": "3",  # a killed run's lease expires before its message is back
    "INPUT_SCAN_MINUTES": "0",
    "LOG_LEVEL": "INFO",
    "TEST_INGEST_CHUNK_ROWS": str(CHUNK),
}


def process_env(**settings: str) -> dict:
    """The environment of a process (worker, command) on this test's database and broker."""
    db = connection.settings_dict
    url = (
        f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
        if connection.vendor == "mysql"
        else f"sqlite:///{db['NAME']}"  # the test run's SQLite file (never in memory)
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER_URL,
        "TEST_INGEST_CHUNK_ROWS": str(CHUNK),
        **settings,
    }


class Worker:
    """One worker process (``--pool=solo`` unless ``pool``, ``-c concurrency``) with ``settings``
    over ``DEFAULTS``; stopped or killed by its own pid. ``env`` replaces the test database's
    environment (a worker on another database or broker). ``image``: started as the Docker
    image starts it (``docker/entrypoint.sh worker``: prefork, ``-c concurrency``, its options)."""

    def __init__(
        self,
        log: Path,
        *,
        beat: Path | None = None,
        pool: str = "solo",
        concurrency: int = 1,
        env: dict | None = None,
        image: bool = False,
        **settings: str,
    ):
        celery = Path(sys.executable).with_name("celery")
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 (open for the worker's lifetime, closed in stop())
        beat_args = ["-B", "--schedule", str(beat)] if beat else []
        command = [
            str(celery),
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *beat_args,
        ]
        environment = {**(env or process_env()), **DEFAULTS, **settings}
        if image:
            command = ["sh", str(ROOT / "docker" / "entrypoint.sh"), "worker"]
            path = f"{celery.parent}{os.pathsep}{environment.get('PATH', '')}"
            environment.update(WORKER_CONCURRENCY=str(concurrency), PATH=path)
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Fleet:
    """The workers of one test module. ``fleet(count, beat=False, **settings)`` returns
    ``count`` live workers with those settings, starting only what is missing."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.workers: list[Worker] = []
        self.wanted: tuple = ()
        self.started = 0

    def __call__(self, count: int = 2, *, beat: bool = False, **settings: str) -> list[Worker]:
        wanted = (beat, sorted(settings.items()))
        if wanted != self.wanted:
            self.stop()
            self.wanted = wanted
        for extra in [w for w in self.workers if not w.alive] + self.workers[count:]:
            extra.stop()
            self.workers.remove(extra)
        while len(self.workers) < count:
            self.started += 1
            schedule = self.folder / f"beat-{self.started}" if beat else None
            self.workers.append(
                Worker(  # each option named: none of the settings is taken for one
                    self.folder / f"worker-{self.started}.log",
                    beat=schedule,
                    pool="solo",
                    concurrency=1,
                    env=None,
                    image=False,
                    **settings,
                )
            )
        return self.workers

    def settle(self, redis) -> None:
        """Wait until no message is queued or held by a worker for half a second in a row (a
        message moves from the queue to the unacked ones in two steps); else, or when a beat
        runs (it never outlives its test) or no worker is left, stop every worker."""
        beat = bool(self.wanted and self.wanted[0])
        idle_since, deadline = None, time.monotonic() + SETTLE_SECONDS
        while not beat and any(w.alive for w in self.workers) and time.monotonic() < deadline:
            if redis.llen("celery") or redis.hlen("unacked"):
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= 0.5:
                return
            time.sleep(0.05)
        self.stop()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers, self.wanted = [], ()
