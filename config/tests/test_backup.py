"""Backup and restore of the warehouse with scripts/warehouse-backup and scripts/warehouse-restore
(mariadb-dump --single-transaction), on MariaDB: the dashboard's numbers are equal afterwards."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from config.tests.mysql import mysql_url
from ingestion.tests.files import ingest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

# What the dashboard shows, read through its selectors, printed as JSON by a process of its own.
DASHBOARD_NUMBERS = """
import json
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice
from warehouse.selectors import sales
every = sales.SalesFilter()
print(json.dumps({
    "kpis": sales.sales_kpis(filters=every),
    "monthly": sales.sales_by_period(filters=every, period="monthly"),
    "top": sales.customers_top(filters=every, top=15),
    "pending": sales.customers_pending(filters=every),
    "rows": [m.objects.count() for m in (Invoice, LoadBatch, RejectedInvoice, StagingInvoice)],
}, default=str))
"""


def _server_env(**extra) -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DB_HOST": db["HOST"] or "127.0.0.1",
        "DB_PORT": str(db["PORT"] or 3306),
        "MYSQL_USER": db["USER"],
        "MYSQL_PASSWORD": db["PASSWORD"],
        **extra,
    }


def _dashboard_numbers(database: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": mysql_url(database),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", DASHBOARD_NUMBERS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def restored_database():
    if connection.vendor != "mysql":
        pytest.skip("the backup is a MariaDB/MySQL dump: run with DATABASE_URL=mysql://...")
    if not shutil.which("mariadb-dump") and not shutil.which("mysqldump"):
        pytest.skip("no mariadb-dump or mysqldump on this machine")
    name = f"{connection.settings_dict['NAME']}_restored"[:64]
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def test_a_backup_restored_into_another_database_shows_the_same_dashboard_numbers(
    restored_database, seed_file, tmp_path
):
    ingest(seed_file)
    source = connection.settings_dict["NAME"]
    before = _dashboard_numbers(source)
    dump = tmp_path / "warehouse.sql"

    backup = subprocess.run(
        [ROOT / "scripts" / "warehouse-backup", dump],
        env=_server_env(MYSQL_DATABASE=source),
        capture_output=True,
        text=True,
    )
    assert backup.returncode == 0, backup.stderr
    restore = subprocess.run(
        [ROOT / "scripts" / "warehouse-restore", dump, restored_database],
        env=_server_env(MYSQL_DATABASE=source),
        capture_output=True,
        text=True,
    )
    assert restore.returncode == 0, restore.stderr

    after = _dashboard_numbers(restored_database)
    assert after == before
    assert before["rows"][:3] == [9_011, 1, 989]
    assert before["kpis"]["invoice_count"] > 0
