"""Upgrading the warehouse with ``manage.py warehouse_upgrade``, run as an operator runs it (a real
process): a database at an earlier migration holding the reference load ends with every migration
applied, a backup taken and the dashboard's numbers unchanged; a running batch makes it refuse and
change nothing, or, with ``--wait``, it waits for the batch to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from django.db import connection

from config.tests.commands import ROOT, command_env, database_url, manage
from config.tests.test_backup import DASHBOARD_NUMBERS
from ingestion.batches.upgrade import WRITER_BUSY, migrations_pending
from ingestion.tests.files import ingest
from warehouse.locks import facts_lock_name
from warehouse.models import LoadBatch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.process,
    pytest.mark.slow,  # migrations back and forth in processes of their own
]

EARLIER = "0007_batch_sheet"  # before the weekly aggregate (rebuilt from the facts) and published_at
RUNNING_WAIT_SECONDS = 120  # bounds on how long a process may take to reach a state
TOKENS_EARLIER = ("tokens", "0001_api_token")


@pytest.fixture
def env():
    return command_env(DATABASE_URL=database_url(connection.settings_dict), PYTHONUNBUFFERED="1")


@pytest.fixture
def migrated_back(env):
    """``migrated_back(app, migration)``: the test database taken back to that migration; every
    migration is applied again afterwards, whatever the test did."""

    def back(app: str, migration: str) -> None:
        result = manage("migrate", app, migration, "-v0", env=env)
        assert result.returncode == 0, result.stderr
        assert migrations_pending()

    yield back
    manage("migrate", "-v0", env=env)


def dashboard_numbers(env: dict) -> dict:
    weekly = DASHBOARD_NUMBERS.replace(
        '"monthly":', '"weekly": sales.sales_by_period(filters=every, period="weekly"), "monthly":'
    )
    result = manage("shell", "--no-imports", "-c", weekly, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_database_at_an_earlier_migration_is_backed_up_migrated_and_shows_the_same_numbers(
    env, migrated_back, seed_file, tmp_path
):
    ingest(seed_file)
    before = dashboard_numbers(env)
    migrated_back("warehouse", EARLIER)
    assert "warehouse.0008_weekly_sales_and_data_version" in migrations_pending()
    backup = tmp_path / "before-upgrade.sql"

    result = manage("warehouse_upgrade", "--backup", str(backup), env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert migrations_pending() == []
    assert dashboard_numbers(env) == before
    assert before["rows"][:3] == [9_011, 1, 989] and before["weekly"] and before["monthly"]
    assert backup.stat().st_size > 0
    if connection.vendor == "mysql":  # the dump of the earlier state: no weekly table yet
        dump = backup.read_text()
        assert "CREATE TABLE `fact_invoices`" in dump and "CREATE TABLE `agg_weekly_sales`" not in dump
    said = result.stdout
    assert "migrations to apply: warehouse.0008_weekly_sales_and_data_version" in said
    assert f"backup: {backup}" in said and "healthy: database, migrations, storage" in said
    last = said.splitlines()[-1]
    assert re.fullmatch(r"upgraded: \d+ migrations applied; start the workers and the beat again", last)


def test_an_up_to_date_database_is_left_as_it_is(env, tmp_path):
    result = manage("warehouse_upgrade", "--backup", str(tmp_path / "b.sql"), env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the database is up to date: no migration to apply"
    assert not (tmp_path / "b.sql").exists()


# --- A batch that is running (MariaDB/MySQL) ---------------------------------------------------


@pytest.fixture
def writers_lock():
    """The warehouse's writers' lock, held by another connection until ``release()``."""
    if connection.vendor != "mysql":
        pytest.skip("the writers' lock is MariaDB/MySQL's GET_LOCK: run with DATABASE_URL=mysql://...")
    import MySQLdb

    db = connection.settings_dict
    holder = MySQLdb.connect(
        host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 3306), user=db["USER"], passwd=db["PASSWORD"]
    )
    cursor = holder.cursor()
    cursor.execute("SELECT GET_LOCK(%s, 0)", [facts_lock_name()])
    assert cursor.fetchone()[0] == 1

    class Lock:
        def release(self) -> None:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [facts_lock_name()])

    yield Lock()
    holder.close()


@pytest.fixture
def running_load(env, seed_file, tmp_path, writers_lock):
    """A real ``load_invoices`` process whose batch runs (live lease, heartbeat), held at the
    writers' lock until ``running_load.release()``."""
    log = (tmp_path / "load.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "load_invoices", str(seed_file), "--in-process"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    class Load:
        release = writers_lock.release

        def batch(self) -> LoadBatch:
            return LoadBatch.objects.get()

        def wait(self) -> int:
            return process.wait(RUNNING_WAIT_SECONDS)

    deadline = time.monotonic() + RUNNING_WAIT_SECONDS
    while not LoadBatch.objects.filter(status="running", rows_done=10_000).exists():
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "load.log").read_text()
        time.sleep(0.2)
    try:
        yield Load()
    finally:
        writers_lock.release()
        if process.poll() is None:
            process.wait(RUNNING_WAIT_SECONDS)
        log.close()


def test_another_writer_of_the_warehouse_makes_the_upgrade_refuse_and_change_nothing(
    env, migrated_back, writers_lock, tmp_path
):
    migrated_back(*TOKENS_EARLIER)
    pending = migrations_pending()

    result = manage("warehouse_upgrade", "--backup", str(tmp_path / "b.sql"), env=env)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"CommandError: {WRITER_BUSY}"]
    assert migrations_pending() == pending and not (tmp_path / "b.sql").exists()


def test_a_running_batch_makes_the_upgrade_refuse_in_one_line_and_change_nothing(
    env, migrated_back, running_load, tmp_path
):
    migrated_back(*TOKENS_EARLIER)
    pending = migrations_pending()
    backup = tmp_path / "b.sql"
    batch = running_load.batch()

    at_once = manage("warehouse_upgrade", "--backup", str(backup), env=env)
    bounded = manage("warehouse_upgrade", "--backup", str(backup), "--wait", "2", env=env)

    for result in at_once, bounded:
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [
            f"CommandError: batch #{batch.pk} (seed_input.csv) is running: nothing was changed; wait for it"
            " to end (--wait SECONDS waits), or stop the workers first (docker compose stop beat worker)"
        ]
    assert f"waiting up to 2 s for #{batch.pk} (seed_input.csv) to end" in bounded.stdout
    assert migrations_pending() == pending and not backup.exists()
    running_load.release()
    assert running_load.wait() == 0
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == ("succeeded", 9_011)


def test_with_wait_the_upgrade_starts_once_the_running_batch_has_ended(
    env, migrated_back, running_load, tmp_path
):
    migrated_back(*TOKENS_EARLIER)
    backup, said = tmp_path / "b.sql", tmp_path / "upgrade.out"
    with said.open("w") as out:
        upgrade = subprocess.Popen(
            [sys.executable, "manage.py", "warehouse_upgrade", "--backup", str(backup), "--wait", "600"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + RUNNING_WAIT_SECONDS
        while "waiting up to 600 s" not in said.read_text():
            assert upgrade.poll() is None and time.monotonic() < deadline, said.read_text()
            time.sleep(0.2)
        running_load.release()
        assert upgrade.wait(RUNNING_WAIT_SECONDS) == 0, said.read_text()

    assert running_load.wait() == 0
    assert running_load.batch().status == "succeeded"
    assert migrations_pending() == []
    # The backup was taken after the load ended: it holds the batch as succeeded.
    dump = backup.read_text()
    assert "'succeeded'" in dump and "seed_input.csv" in dump
    assert os.path.getsize(backup) > 0
