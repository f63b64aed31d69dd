"""Not only the status of an answer: what it holds, per role.

Batch details (file name, note, error, the workers that ran it) need
``warehouse.view_loadbatch`` wherever they appear; an answer that only needs
``dashboard.view_sales`` (the sales API, the dashboard page and its chart CSVs) holds a
batch's id, status, counts and rates, never its details, for a Finance analyst or for
anyone when ``DASHBOARD_REQUIRE_LOGIN`` is off.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from openpyxl import load_workbook

from api.permissions import ROLES, VIEW_BATCHES
from dashboard.charts import CHARTS
from warehouse.models import Invoice
from warehouse.tests.factories import batch_make, known_warehouse_create

pytestmark = pytest.mark.django_db

SECRETS = ("secret-payroll.csv", "NOTE-SECRET", "ERROR-SECRET", "worker-host-7:4242")
SALES_URLS = (
    *(f"/api/sells/{name}/" for name in ("customers", "time", "kpis", "pending", "status", "items")),
    "/visualization/dashboard/",
    *(f"/visualization/dashboard/csv/{name}.csv" for name in CHARTS),
    *(f"/visualization/dashboard/invoices{tail}" for tail in ("/", ".csv", ".xlsx")),
)


@pytest.fixture
def batch_with_details():
    known_warehouse_create()
    batch = batch_make(
        file_name=SECRETS[0],
        sha256="9" * 64,
        note=SECRETS[1],
        error=SECRETS[2],
        attempts=[{"owner": SECRETS[3], "started_at": "2024-01-01T00:00:00Z"}],
        rows_read=10,
        rows_loaded=9,
        rows_rejected=1,
        reason_counts={"INVALID_DATE": 1},
    )
    Invoice.objects.filter(invoice_id__in=["I1", "I7"]).update(batch=batch)  # the invoice table names it
    return batch


def _text(response) -> str:
    """What an answer says: its text, a streamed file's text, every cell of a workbook."""
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
        return " ".join(
            str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row
        )
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def _client(role: str, staff_user, logged_in) -> Client:
    if role == "public":
        return Client()
    if role == "superuser":
        return logged_in(staff_user("root", is_superuser=True))
    user = staff_user(role.replace(" ", "-"))
    for perm in ROLES[role]:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return logged_in(user)


def _sees_details(role: str) -> bool:
    return role == "superuser" or (role in ROLES and VIEW_BATCHES in ROLES[role])


@pytest.mark.parametrize("role", ["public", "Finance analyst", "Viewer", "Data steward", "superuser"])
def test_batch_details_appear_in_sales_answers_only_with_view_loadbatch(
    role, batch_with_details, staff_user, logged_in, settings
):
    settings.DASHBOARD_REQUIRE_LOGIN = role != "public"
    client = _client(role, staff_user, logged_in)
    shown = {}
    for url in SALES_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        text = _text(response)
        shown[url] = [secret for secret in SECRETS if secret in text]
    kpis = client.get("/api/sells/kpis/").json()["results"]["latest_batch"]
    assert (kpis["id"], kpis["rows_rejected"], kpis["rejection_rate"]) == (batch_with_details.pk, 1, "10.00")
    if _sees_details(role):
        assert shown["/api/sells/kpis/"] == list(SECRETS)
        assert SECRETS[0] in shown["/visualization/dashboard/csv/quality.csv"]
        assert SECRETS[0] in shown["/visualization/dashboard/"]
        assert all(
            SECRETS[0] in shown[f"/visualization/dashboard/invoices{t}"] for t in ("/", ".csv", ".xlsx")
        )
    else:
        assert {url: found for url, found in shown.items() if found} == {}
        assert not {"file_name", "note", "error", "attempts"} & set(kpis)
