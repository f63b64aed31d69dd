"""Upgrading the warehouse to new code: drained, backed up, migrated, checked.

``warehouse_upgrade`` refuses (``UpgradeStopped``, nothing changed) while a batch is running,
or waits for it up to ``wait_seconds``. Then it holds the warehouse's one writers' lock
(``warehouse.locks``, the lock every load takes before it writes) for the backup and the
migrations: a batch a worker claims meanwhile stages its rows and waits there, and loads again
only after the migrations. The backup is ``scripts/warehouse-backup`` on MariaDB/MySQL (a copy
of the file on SQLite); a migration that fails names the backup to restore.

Its reads of ``load_batch`` are plain SQL over columns of every version of the table: the
database being upgraded may predate the models of this code.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from warehouse.locks import facts_lock_acquire, facts_lock_release

BATCH_RUNNING = (
    "{batches} running: nothing was changed; wait for {it} to end (--wait SECONDS waits),"
    " or stop the workers first (docker compose stop beat worker)"
)
WRITER_BUSY = (
    "another process is writing the warehouse (a load, a re-processing, dashboard_refresh or an"
    " upgrade):"
    " nothing was changed; try again when it ends, or give --wait SECONDS"
)
BACKUP_FAILED = "the backup failed, nothing was migrated: {reason}"
MIGRATION_FAILED = (
    "a migration failed: {reason}; the backup taken before it is {backup} (scripts/warehouse-restore)"
)
UNHEALTHY = "migrated, but unhealthy: {failed}"
BACKUP_SCRIPT = Path(settings.BASE_DIR) / "scripts" / "warehouse-backup"
HEALTH_CHECKS = ("database", "migrations", "storage")  # the workers are stopped during an upgrade
POLL_SECONDS = 1.0


class UpgradeStopped(Exception):
    pass


def migrations_pending() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def _batch_columns() -> set[str]:
    with connection.cursor() as cursor:
        if "load_batch" not in connection.introspection.table_names(cursor):
            return set()
        return {c.name for c in connection.introspection.get_table_description(cursor, "load_batch")}


def batches_in_flight() -> tuple[list[str], list[str], list[int]]:
    """(running batches whose run is alive, running batches whose run was lost, queued ids)."""
    columns = _batch_columns()
    if not columns:
        return [], [], []
    # Before leases existed a running batch was running; with them, while its lease lasts.
    alive = "lease_expires_at > %s" if "lease_expires_at" in columns else "1 = 1"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, file_name, status, {alive} FROM load_batch"
            " WHERE status IN ('running', 'queued') ORDER BY id",
            [now] if "%s" in alive else [],
        )
        rows = cursor.fetchall()
    live: list[str] = []
    lost: list[str] = []
    queued: list[int] = []
    for pk, file_name, status, is_alive in rows:
        if status == "queued":
            queued.append(pk)
        else:
            (live if is_alive else lost).append(f"#{pk} ({file_name})")
    return live, lost, queued


def warehouse_drain(*, wait_seconds: float, say: Callable[[str], None]) -> list[int]:
    """Hold the writers' lock once no batch runs; the queued batch ids. Refuses past the wait."""
    deadline, said = time.monotonic() + wait_seconds, False
    while True:
        locked = facts_lock_acquire(timeout=0)
        live, lost, queued = batches_in_flight()
        if locked and not live:
            if lost:
                say(
                    f"left running by a lost worker: {', '.join(lost)}; the sweeper takes it over once"
                    " the beat runs again"
                )
            return queued
        if locked:
            facts_lock_release()
        if time.monotonic() >= deadline:
            if not live:
                raise UpgradeStopped(WRITER_BUSY)
            batches = (
                f"batch {live[0]} is" if len(live) == 1 else f"{len(live)} batches are ({', '.join(live)})"
            )
            raise UpgradeStopped(BATCH_RUNNING.format(batches=batches, it="it" if len(live) == 1 else "them"))
        if not said:
            say(f"waiting up to {wait_seconds:g} s for {', '.join(live) or 'the writer'} to end")
            said = True
        time.sleep(POLL_SECONDS)


def backup_path_default() -> Path:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    suffix = ".sqlite3" if connection.vendor == "sqlite" else ".sql"
    return Path(settings.BASE_DIR) / "var" / "backups" / f"warehouse-{stamp}{suffix}"


def warehouse_backup(path: Path) -> int:
    """A consistent copy of the database at ``path``; its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
        return path.stat().st_size
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DB_HOST": db.get("HOST") or "127.0.0.1",
        "DB_PORT": str(db.get("PORT") or 3306),
        "MYSQL_DATABASE": db["NAME"],
        "MYSQL_USER": db.get("USER") or "root",
        "MYSQL_PASSWORD": db.get("PASSWORD") or "",
    }
    result = subprocess.run([BACKUP_SCRIPT, path], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise UpgradeStopped(
            BACKUP_FAILED.format(reason=" ".join(result.stderr.split()) or "no reason given")
        )
    return path.stat().st_size


def workers_answering() -> list[str]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    from config.celery import app

    try:
        return sorted(name for reply in app.control.ping(timeout=1.0) for name in reply)
    except Exception:  # the broker is down: no worker can claim anything either
        return []


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _health_failures() -> list[str]:
    from config.health import health_report_sync

    report = health_report_sync(HEALTH_CHECKS)
    return [f"{name}: {c['detail']}" for name, c in report["checks"].items() if c["status"] == "fail"]


def warehouse_upgrade(*, wait_seconds: float, backup: Path | None, say: Callable[[str], None]) -> list[str]:
    """Drain, back up, migrate and check the warehouse; the migrations applied."""
    pending = migrations_pending()
    if not pending:
        say("the database is up to date: no migration to apply")
        return []
    say(f"{_count(len(pending), 'migration')} to apply: {', '.join(pending)}")
    if workers := workers_answering():
        say(
            f"workers still running: {', '.join(workers)}; a batch they claim now waits for the"
            " migrations to end; restart them on the new code afterwards"
        )
    queued = warehouse_drain(wait_seconds=wait_seconds, say=say)
    try:
        waiting = f"; queued, to load once the workers run: {', '.join(f'#{pk}' for pk in queued)}"
        say("no batch running; new loads wait until the migrations end" + (waiting if queued else ""))
        if backup is None:
            say("backup: skipped (--no-backup)")
        else:
            say(f"backup: {backup} ({warehouse_backup(backup):,} bytes)")
        try:
            call_command("migrate", interactive=False, verbosity=1)
        except Exception as exc:
            reason, kept = " ".join(str(exc).split()), backup or "none (--no-backup)"
            raise UpgradeStopped(MIGRATION_FAILED.format(reason=reason, backup=kept)) from exc
    finally:
        facts_lock_release()
    if failed := _health_failures():
        raise UpgradeStopped(UNHEALTHY.format(failed=", ".join(failed)))
    say(f"healthy: {', '.join(HEALTH_CHECKS)}")
    say(f"upgraded: {_count(len(pending), 'migration')} applied; start the workers and the beat again")
    return pending
