"""``/health/`` and ``manage.py health``: is the service able to do its work?

Checks (django-health-check): the database answers, every migration is applied, MEDIA_ROOT is
writable, the broker answers, a worker answers a ping, and the beat ticked recently. Without a
broker (tasks run in-process) the last three are reported as not applicable. Messages name the
problem, never a host, user or password.
"""

import asyncio
import dataclasses
import uuid

from django import db
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.utils import timezone
from health_check import checks as library
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from config.beat import beat_tick_last
from config.celery import app

NOT_APPLICABLE = "not applicable: no broker, tasks run in-process"


@dataclasses.dataclass
class Database(library.Database):
    def run(self):
        try:
            super().run()
        except ServiceUnavailable:
            raise ServiceUnavailable("the database does not answer") from None


@dataclasses.dataclass
class Migrations(HealthCheck):
    def run(self):
        connection = connections["default"]
        try:
            with connection.temporary_connection():
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except db.Error:
            raise ServiceUnavailable("the applied migrations cannot be read") from None
        if plan:
            raise ServiceUnavailable(f"{len(plan)} migrations not applied: run manage.py migrate")


@dataclasses.dataclass
class Storage(library.Storage):
    def get_file_name(self):  # at MEDIA_ROOT's top: no folder left behind
        return f".health-{uuid.uuid4().hex}.txt"

    def run(self):
        try:
            super().run()
        except OSError:
            raise ServiceUnavailable("MEDIA_ROOT is not writable") from None


@dataclasses.dataclass
class Broker(HealthCheck):
    def run(self):
        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
        except Exception:
            raise ServiceUnavailable("the broker does not answer") from None


@dataclasses.dataclass
class Worker(HealthCheck):
    def run(self):
        try:
            answers = app.control.ping(timeout=2.0, limit=1)
        except Exception:
            raise ServiceUnavailable("the broker does not answer") from None
        if not answers:
            raise ServiceUnavailable("no worker answered a ping within 2 s")


@dataclasses.dataclass
class Beat(HealthCheck):
    def run(self):
        try:
            last = beat_tick_last()
        except Exception:
            raise ServiceUnavailable("the beat's last tick cannot be read") from None
        if last is None:
            raise ServiceUnavailable("the beat has not run")
        age = (timezone.now() - last).total_seconds()
        if age > settings.HEALTH_BEAT_STALE_SECONDS:
            raise ServiceUnavailable(f"the beat last ticked {age:.0f} s ago")


CHECKS: dict[str, type[HealthCheck]] = {
    "database": Database,
    "migrations": Migrations,
    "storage": Storage,
    "broker": Broker,
    "worker": Worker,
    "beat": Beat,
}
NEEDS_BROKER = ("broker", "worker", "beat")


async def health_report(names: tuple[str, ...] = tuple(CHECKS)) -> dict:
    """``{"status": "ok" | "fail", "checks": {name: {"status": ..., "detail"?: ...}}}``."""
    eager = app.conf.task_always_eager
    run = [name for name in names if not (eager and name in NEEDS_BROKER)]
    results = dict(
        zip(run, await asyncio.gather(*(CHECKS[name]().get_result() for name in run)), strict=True)
    )
    report: dict[str, dict] = {}
    for name in names:
        if name not in results:
            report[name] = {"status": "not applicable", "detail": NOT_APPLICABLE}
        elif (error := results[name].error) is not None:
            report[name] = {"status": "fail", "detail": error.message}
        else:
            report[name] = {"status": "ok"}
    failed = any(check["status"] == "fail" for check in report.values())
    return {
        "status": "fail" if failed else "ok",
        "checked_at": timezone.now().isoformat(timespec="seconds"),
        "checks": report,
    }


def health_report_sync(names: tuple[str, ...] = tuple(CHECKS)) -> dict:
    return asyncio.run(health_report(names))


def health_status(report: dict) -> int:
    return 503 if report["status"] == "fail" else 200


class HealthView(HealthCheckView):
    """JSON, 200 when every check passes, 503 otherwise; no login."""

    async def get(self, request, *args, **kwargs):
        report = await health_report()
        return JsonResponse(report, status=health_status(report))
