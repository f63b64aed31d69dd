"""Loads and rejected rows over the API, with a token, as a script would use them."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from config.celery import app
from ingestion.admin.exports import RejectedInvoiceResource
from ingestion.rejected.streams import rejected_csv_lines
from ingestion.tests.files import invoices_csv, write_invoices
from tokens.services import token_create
from warehouse.models import Customer, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

STEWARD = (
    "view_loadbatch",
    "add_loadbatch",
    "view_rejectedinvoice",
    "change_rejectedinvoice",
)


@pytest.fixture
def script(django_user_model, settings, tmp_path) -> Client:
    """A client that authenticates like a script: a data steward's token, no session."""
    settings.MEDIA_ROOT = tmp_path / "media"
    user = django_user_model.objects.create_user("steward", password="pw-steward-123")
    user.user_permissions.add(*Permission.objects.filter(codename__in=STEWARD))
    _, secret = token_create(user=user, name="nightly export")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def upload(script: Client, path: Path, **fields):
    with path.open("rb") as handle:
        return script.post(reverse("api:batch_upload"), {"file": handle, **fields})


def all_rejected(script: Client, batch_id: int, **params) -> list[dict]:
    """Every page, following ``next``."""
    rows, url = [], reverse("api:batch_rejected", args=[batch_id])
    response = script.get(url, {"limit": 100, **params})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if body["next"] is None:
            return rows
        response = script.get(body["next"])


def streamed(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_reference_export_uploaded_through_the_api_loads_like_load_invoices(script, seed_file):
    response = upload(script, seed_file)

    assert response.status_code == 202, response.content
    batch = response.json()
    assert response["Location"] == f"/api/batches/{batch['id']}/"
    progress = script.get(response["Location"]).json()  # eager Celery: the load is done
    assert (progress["status"], progress["finished"], progress["percent"]) == ("succeeded", True, 100)
    assert (progress["rows_read"], progress["rows_loaded"], progress["rows_rejected"]) == (10_000, 9_011, 989)

    rows = all_rejected(script, batch["id"])
    assert len(rows) == len({r["id"] for r in rows}) == 989
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for reason, count in progress["reason_counts"].items():
        assert len(all_rejected(script, batch["id"], reason=reason)) == count
    assert all_rejected(script, batch["id"], resolved="true") == []

    # The same file through load_invoices (forced: its content was just loaded).
    call_command("load_invoices", str(seed_file), "--force", stdout=io.StringIO())
    cli = LoadBatch.objects.filter(source=LoadBatch.Source.CLI).get()
    assert (cli.rows_read, cli.rows_loaded, cli.rows_rejected) == (10_000, 9_011, 989)
    assert progress["reason_counts"] == cli.reason_counts
    assert sum(cli.reason_counts.values()) == 989


def test_a_bad_file_is_a_400_naming_the_file_and_nothing_is_kept(script, settings):
    png = SimpleUploadedFile("invoices.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    response = script.post(reverse("api:batch_upload"), {"file": png})
    assert response.status_code == 400
    assert response.json()["error"].startswith("file: invoices.csv: ")
    assert not LoadBatch.objects.exists()
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.csv"))

    settings.ADMIN_UPLOAD_MAX_BYTES = 10
    big = SimpleUploadedFile("big.csv", (invoices_csv() * 2).encode())
    response = script.post(reverse("api:batch_upload"), {"file": big})
    assert (response.status_code, response.json()["error"][:13]) == (400, "file: big.csv")

    response = script.post(reverse("api:batch_upload"), {"force": "true"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("file: ")


def test_the_same_content_twice_is_skipped_unless_forced_and_dry_run_loads_nothing(script, tmp_path):
    path = write_invoices(
        tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid", name="one.csv"
    )
    assert upload(script, path).json()["status"] == "succeeded"
    assert upload(script, path).json()["status"] == "skipped"
    assert upload(script, path, force="true").json()["status"] == "succeeded"
    dry = upload(script, path, force="true", dry_run="true").json()
    assert (dry["status"], LoadBatch.objects.get(pk=dry["id"]).dry_run) == ("succeeded", True)


def test_a_broker_that_is_down_answers_503_with_the_failed_batch(script, tmp_path, settings):
    path = write_invoices(
        tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid", name="one.csv"
    )
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "broker_connection_max_retries")}
    app.conf.update(broker_url="redis://127.0.0.1:9/0", task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        started = time.monotonic()
        response = upload(script, path)
        print(f"answered in {time.monotonic() - started:.1f} s")
    finally:
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = None, None
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["error"][:13]) == ("failed", "could not que")
    assert response["Location"] == f"/api/batches/{body['id']}/"


def test_rerun_and_cancel(script, tmp_path):
    path = write_invoices(
        tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid", name="one.csv"
    )
    first = upload(script, path).json()

    rerun = script.post(reverse("api:batch_rerun", args=[first["id"]]))
    assert rerun.status_code == 202
    assert (rerun.json()["note"], rerun.json()["status"]) == (f"re-run of batch #{first['id']}", "succeeded")

    refused = script.post(reverse("api:batch_cancel", args=[first["id"]]))
    assert refused.status_code == 409
    assert "only queued or running batches can be cancelled" in refused.json()["error"]
    queued = LoadBatch.objects.create(file_name="q.csv", file_path="/q.csv", sha256="2" * 64)
    cancelled = script.post(reverse("api:batch_cancel", args=[queued.pk]))
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert cancelled.json()["error"] == "cancelled by steward"

    assert script.post(reverse("api:batch_rerun", args=[999_999])).json() == {"error": "batch not found"}


def test_reprocess_by_filter_and_by_ids(script, tmp_path):
    path = write_invoices(
        tmp_path,
        "INV-1,2024-01-05,C-900,New Co,Server Setup,1,10.00,10.00,Paid",
        "INV-2,2024-01-05,C-901,Other,Server Setup,1,10.00,10.00,Paid",
        "INV-3,2024-13-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid",
        name="two.csv",
    )
    batch = upload(script, path).json()
    assert batch["reason_counts"] == {"INVALID_DATE": 1, "UNKNOWN_CUSTOMER": 2}
    url = reverse("api:rejected_reprocess")

    Customer.objects.create(customer_id="C-900", customer_name="New Co")
    answer = script.post(
        url, {"batch": batch["id"], "reason": "UNKNOWN_CUSTOMER"}, content_type="application/json"
    )
    assert answer.status_code == 202, answer.content
    [queued] = answer.json()["batches"]
    assert answer.json()["urls"] == [answer.headers["Location"]]
    followed = script.get(answer.headers["Location"]).json()  # no broker here: it ran already
    assert (followed["id"], followed["status"], followed["source"]) == (queued["id"], "succeeded", "api")
    assert (followed["rows_read"], followed["rows_loaded"]) == (2, 1)
    [resolved] = all_rejected(script, batch["id"], resolved="true")
    assert (resolved["invoice_id"], resolved["resolved_by_batch_id"]) == ("INV-1", queued["id"])
    assert resolved["resolved_at"] is not None

    date_row = RejectedInvoice.objects.get(reason="INVALID_DATE")
    answer = script.post(url, {"ids": [date_row.pk], "dry_run": True}, content_type="application/json")
    [dry] = answer.json()["batches"]
    assert (answer.status_code, dry["dry_run"], dry["rows_rejected"]) == (202, True, 1)
    answer = script.post(url, {"ids": [date_row.pk]}, content_type="application/json")
    assert (answer.status_code, answer.json()["batches"][0]["rows_rejected"]) == (202, 1)

    both = script.post(url, {"ids": [date_row.pk], "batch": 1}, content_type="application/json")
    assert (both.status_code, both.json()["error"][:5]) == (400, "ids: ")
    none = script.post(url, {"ids": [999_999]}, content_type="application/json")
    assert none.json() == {"error": "ids: no unresolved rejected rows selected"}
    bad = script.post(url, {"reason": "LOST"}, content_type="application/json")
    assert (bad.status_code, bad.json()["error"][:8]) == (400, "reason: ")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"reason": "LOST"}, "reason"),
        ({"resolved": "maybe"}, "resolved"),
        ({"cursor": "!!"}, "cursor"),
        ({"cursor": "cjEyYQ"}, "cursor"),
    ],
)
def test_bad_rejected_parameters_are_400_naming_the_parameter(script, params, parameter):
    batch = LoadBatch.objects.create(file_name="q.csv", file_path="/q.csv", sha256="2" * 64)
    response = script.get(reverse("api:batch_rejected", args=[batch.pk]), params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{parameter}: ")


def test_the_streamed_csv_is_the_admin_export_cell_for_cell_and_formula_safe(script, tmp_path):
    path = write_invoices(
        tmp_path,
        'INV-1,2024-01-05,C-999,"=HYPERLINK(""x"")",Server Setup,1,1,1,Paid',
        '@INV-2,2024-13-05,C-100,Ünïcode; "quoted",Server Setup,1,1,1,Paid',
        "INV-3,2024-01-05,C-100,Acme,Server Setup,-1,1,1,Paid",
        name="evil.csv",
    )
    batch = upload(script, path).json()

    rows = streamed(script.get(reverse("api:rejected_csv"), {"batch": batch["id"]}))

    resource = RejectedInvoiceResource()
    dataset = resource.export(queryset=RejectedInvoice.objects.order_by("id"))
    expected = list(csv.reader(io.StringIO(dataset.csv)))
    assert rows == expected
    assert len(rows) == 4
    by_header = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert by_header[0]["customer_name"] == '\'=HYPERLINK("x")'
    assert by_header[1]["invoice_id"] == "'@INV-2"
    assert by_header[2]["qty"] == "'-1"

    only = streamed(script.get(reverse("api:rejected_csv"), {"reason": "INVALID_DATE"}))
    assert [r[rows[0].index("reason")] for r in only[1:]] == ["INVALID_DATE"]


def test_the_stream_reads_in_chunks_and_yields_as_it_reads(script, tmp_path):
    rows = [f"INV-{i},2024-13-05,C-100,A,Server Setup,1,1,1,Paid" for i in range(25)]
    path = write_invoices(tmp_path, *rows, name="many.csv")
    upload(script, path)
    blocks = list(rejected_csv_lines(queryset=RejectedInvoice.objects.all(), chunk_size=10))
    assert [b.count(b"\r\n") for b in blocks] == [11, 10, 5]  # header + 10, 10, 5
