import json
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingestion.batches.paths import PATH_NOT_FOUND
from warehouse.models import Invoice, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def run(*args) -> list[dict]:
    out = StringIO()
    call_command("load_invoices", *args, "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_summary_per_batch(seed_file):
    [summary] = run(str(seed_file))

    assert summary["status"] == "succeeded"
    assert {
        k: summary[k]
        for k in (
            "rows_read",
            "rows_loaded",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
        )
    } == {
        "rows_read": 10_000,
        "rows_loaded": 9_011,
        "rows_inserted": 9_011,
        "rows_updated": 0,
        "rows_unchanged": 0,
        "rows_rejected": 989,
    }
    assert summary["reasons"]["INVALID_DATE"] == 500
    assert (summary["error"], summary["dry_run"]) == (None, False)
    assert set(summary) == {
        "batch_id",
        "file",
        "status",
        "dry_run",
        "rows_read",
        "rows_loaded",
        "rows_inserted",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "reasons",
        "error",
    }


def test_folder_and_glob_and_skip(tmp_path, seed_file):
    shutil.copy(seed_file, tmp_path / "a.csv")
    (tmp_path / "notes.md").write_text("not an invoice file")
    first = run(str(tmp_path))
    second = run(str(tmp_path / "*.csv"))

    assert [s["file"] for s in first] == ["a.csv"]
    assert second[0]["status"] == "skipped"


def test_failed_batch_exits_with_status_1(tmp_path, seed_file):
    (tmp_path / "bad.csv").write_text("hello world\n")
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("load_invoices", str(tmp_path / "bad.csv"), str(seed_file), stdout=out)

    assert raised.value.returncode == 1
    assert "1 of 2 batches did not succeed" in str(raised.value)
    assert "missing required columns" in out.getvalue()
    assert Invoice.objects.count() == 9_011  # the good file still loaded


def test_dry_run_and_force(seed_file):
    [dry] = run(str(seed_file), "--dry-run")
    assert (dry["status"], dry["rows_loaded"]) == ("succeeded", 9_011)
    assert Invoice.objects.count() == RejectedInvoice.objects.count() == 0

    run(str(seed_file))
    [forced] = run(str(seed_file), "--force")
    assert (forced["status"], forced["rows_unchanged"]) == ("succeeded", 9_011)


def test_missing_path_is_a_command_error():
    with pytest.raises(CommandError, match=PATH_NOT_FOUND.format(path="/no/such/file.csv")):
        call_command("load_invoices", "/no/such/file.csv")
    assert LoadBatch.objects.count() == 0


def test_human_summary_table(seed_file):
    out = StringIO()
    call_command("load_invoices", str(seed_file), stdout=out)
    text = out.getvalue()
    assert "succeeded" in text and "9,011" in text and "INVALID_DATE 500" in text


def test_generate_invoices_is_reproducible(tmp_path):
    call_command(
        "generate_invoices",
        "--rows",
        "300",
        "--seed",
        "4",
        "--out",
        str(tmp_path / "a.csv"),
        stdout=StringIO(),
    )
    call_command(
        "generate_invoices",
        "--rows",
        "300",
        "--seed",
        "4",
        "--out",
        str(tmp_path / "b.csv"),
        stdout=StringIO(),
    )
    a = (tmp_path / "a.csv").read_text()
    assert a == (tmp_path / "b.csv").read_text()
    assert len(a.splitlines()) == 301


def test_staging_prune_keeps_recent_batches_and_everything_else(seed_file, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from warehouse.models import StagingInvoice, StagingMark

    old = run(str(seed_file))[0]
    other = tmp_path / "other.csv"
    other.write_text(seed_file.read_text().replace("INV-", "ALT-"))
    recent = run(str(other))[0]
    LoadBatch.objects.filter(pk=old["batch_id"]).update(finished_at=timezone.now() - timedelta(days=40))

    out = StringIO()
    call_command("staging_prune", "--days", "30", stdout=out)

    assert "deleted 10,000 staging rows of 1 batches" in out.getvalue()
    assert not StagingInvoice.objects.filter(batch_id=old["batch_id"]).exists()
    assert StagingInvoice.objects.filter(batch_id=recent["batch_id"]).count() == 10_000
    # The marks of the repeated ids' later rows go with their rows.
    assert not StagingMark.objects.filter(batch_id=old["batch_id"]).exists()
    assert (
        StagingMark.objects.filter(batch_id=recent["batch_id"]).count()
        == recent["reasons"]["DUPLICATE_INVOICE_ID"]
    )
    assert Invoice.objects.count() == 2 * 9_011 and RejectedInvoice.objects.count() == 2 * 989
