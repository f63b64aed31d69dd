"""A folder holding a file nobody may read: that file's batch fails and says why, the others load.

The permission is refused by the kernel itself. These tests run as root here, and root reads
a mode-000 file through two capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); the
command therefore runs under ``setpriv`` with both dropped from its bounding set, so that
``open()`` fails with EACCES exactly as it does for an unprivileged operator. (A FIFO or a
broken symlink would not do: they are not regular files, so a folder's listing skips them.)
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connection

from config.tests.commands import answer_lines, command_env, database_url, manage
from ingestion.tests.files import write_invoices
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROW = "INV-{n},2024-01-15,C-001,Acme Corp,Widget,1,10.00,10.00,PAID"


def without_root_reads() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's right to read any file")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


@pytest.fixture
def folder(tmp_path):
    """readable.csv and locked.csv (mode 000)."""
    folder = tmp_path / "in"
    write_invoices(folder, ROW.format(n=1), ROW.format(n=2), name="readable.csv")
    locked = write_invoices(folder, ROW.format(n=3), name="locked.csv")
    locked.chmod(0)
    yield folder
    locked.chmod(0o644)


def this_database(**settings: str) -> dict:
    return command_env(DATABASE_URL=database_url(connection.settings_dict), LOG_LEVEL="ERROR", **settings)


def test_load_invoices_fails_the_unreadable_files_batch_and_loads_the_others(folder):
    result = manage("load_invoices", str(folder), env=this_database(), prefix=without_root_reads())

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert answer_lines(result.stderr) == ["CommandError: 1 of 2 batches did not succeed"]
    batches = {b.file_name: b for b in LoadBatch.objects.all()}
    assert batches["readable.csv"].status == "succeeded" and batches["readable.csv"].rows_read == 2
    assert batches["locked.csv"].status == "failed"
    assert batches["locked.csv"].error == f"cannot read {folder / 'locked.csv'}: permission denied"
    assert "cannot read" in result.stdout and "permission denied" in result.stdout
    assert not LoadBatch.objects.filter(status=LoadBatch.Status.QUEUED).exists()


def test_the_scan_records_an_unreadable_file_once_and_loads_the_others(folder):
    scan_twice = "from ingestion.batches.dispatch import input_dir_scan; input_dir_scan(); input_dir_scan()"

    result = manage(
        "shell", "-c", scan_twice, env=this_database(INPUT_DIR=str(folder)), prefix=without_root_reads()
    )

    assert result.returncode == 0, result.stderr
    statuses = sorted(LoadBatch.objects.values_list("file_name", "status", "error"))
    assert statuses == [
        ("locked.csv", "failed", f"cannot read {folder / 'locked.csv'}: permission denied"),
        ("readable.csv", "succeeded", ""),
    ]
