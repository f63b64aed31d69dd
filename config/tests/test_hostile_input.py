"""Every query parameter and form field, fed hostile values, never gets a server error.

Dates outside what the database and Python hold answer 400 with a message (the API and
the chart CSVs; the dashboard page shows the message above the charts).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dashboard.charts import CHARTS
from dashboard.forms import DATE_OUT_OF_RANGE
from warehouse.tests.factories import known_warehouse_create

pytestmark = pytest.mark.django_db

HOSTILE = [
    "9999-12-31",
    "0001-01-01",
    "9999-12-01",
    "10000-01-01",
    "0000-00-00",
    "2024-02-30",
    "",
    " ",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "x" * 5000,
    "2024-01-01" * 500,
    "é中文🙂\u202e",
    "\x00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00%ff",
    "[]",
]
SHORT_HOSTILE = ["9999-12-31", "", "-1", "99999999999999999999999999", "x" * 5000, "é中文🙂", "\x00", "[]"]
SALES_PARAMS = ("start", "end", "status", "customer", "item")
SALES_API = {
    "/api/sells/customers/": ("top",),
    "/api/sells/time/": ("period",),
    "/api/sells/kpis/": (),
    "/api/sells/pending/": ("top",),
    "/api/sells/status/": (),
    "/api/sells/items/": (),
}


@pytest.fixture
def reader(staff_user, logged_in) -> Client:
    user = staff_user("reader")
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client = logged_in(user, raise_request_exception=False)  # a server error is an answer to count
    known_warehouse_create()
    return client


@pytest.fixture
def superuser(admin_user, logged_in) -> Client:
    return logged_in(admin_user, raise_request_exception=False)


def server_errors(client, url: str, params: tuple[str, ...], values=HOSTILE) -> dict:
    """{(param, value): status} for every answer of 500 or more (each value sent twice:
    a repeated parameter)."""
    failed = {}
    for param in params:
        for value in values:
            status = client.get(url, {param: [value, value]}).status_code
            if status >= 500:
                failed[(param, value[:40])] = status
    return failed


def test_the_dashboard_page_and_its_csvs(reader):
    assert server_errors(reader, "/visualization/dashboard/", SALES_PARAMS) == {}
    for name in CHARTS:
        assert (
            server_errors(reader, f"/visualization/dashboard/csv/{name}.csv", SALES_PARAMS, SHORT_HOSTILE)
            == {}
        )


@pytest.mark.parametrize("url", SALES_API)
def test_every_sales_endpoint(reader, url):
    # Every endpoint reads the same filter form: the whole table on one, a short one elsewhere.
    values = HOSTILE if url in ("/api/sells/customers/", "/api/sells/time/") else SHORT_HOSTILE
    assert server_errors(reader, url, SALES_PARAMS + SALES_API[url], values) == {}


def test_the_batch_endpoints(reader):
    assert server_errors(reader, "/api/batches/", ("limit",)) == {}
    for batch_id in ("0", "99999999999999999999999999", "9" * 400):
        assert reader.get(f"/api/batches/{batch_id}/").status_code == 404


@pytest.mark.parametrize("url", ["/api/sells/time/", "/api/sells/customers/", "/api/sells/kpis/"])
@pytest.mark.parametrize(("name", "value"), [("end", "0001-01-01"), ("start", "0999-12-31")])
def test_dates_the_database_cannot_hold_answer_400_with_a_message(reader, url, name, value):
    response = reader.get(url, {name: value})
    assert (response.status_code, response.json()) == (400, {"error": f"{name}: {DATE_OUT_OF_RANGE}"})


def test_the_last_day_the_calendar_holds_is_a_valid_empty_range(reader):
    for url in ("/api/sells/time/", "/api/sells/customers/", "/api/sells/items/"):
        response = reader.get(url, {"start": "9999-12-31", "end": "9999-12-31"})
        assert (response.status_code, response.json()["results"]) == (200, [])
    response = reader.get("/api/sells/time/", {"start": "9999-12-02", "period": "weekly"})
    assert (response.status_code, response.json()["results"]) == (200, [])


def test_dates_the_database_cannot_hold_are_refused_on_the_page_and_the_csv(reader):
    page = reader.get("/visualization/dashboard/", {"end": "0001-01-01"})
    assert page.status_code == 200 and DATE_OUT_OF_RANGE in page.content.decode()
    csv = reader.get("/visualization/dashboard/csv/monthly.csv", {"end": "0001-01-01"})
    assert (csv.status_code, csv.content.decode()) == (400, f"end: {DATE_OUT_OF_RANGE}")


ADMIN_LISTS = {
    "/admin/warehouse/rejectedinvoice/": (
        "q",
        "o",
        "p",
        "reason",
        "resolved",
        "batch__id__exact",
        "file_name",
    ),
    "/admin/warehouse/loadbatch/": ("q", "o", "p", "status", "source", "id__in", "created_at__gte"),
    "/admin/warehouse/customer/": ("q", "o", "p"),
    "/admin/warehouse/invoice/": ("q", "status__status_key__exact"),
}


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_admin_lists_and_their_filters(superuser, url):
    assert server_errors(superuser, url, ADMIN_LISTS[url], SHORT_HOSTILE) == {}


def test_admin_forms(superuser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    failed = {}
    for value in SHORT_HOSTILE:
        posts = {
            "/admin/warehouse/item/add/": {"item_description": value},
            "/admin/warehouse/customer/add/": {"customer_id": value, "customer_name": value},
            "/admin/warehouse/status/add/": {"status_name": value},
            "/admin/warehouse/customer/export/": {"format": value, "export_items": value},
            "/admin/warehouse/item/import/": {
                "format": value,
                "import_file": SimpleUploadedFile("i.csv", f"item_description\n{value}\n".encode()),
            },
            "/admin/warehouse/item/process_import/": {
                "format": value,
                "import_file_name": value,
                "original_file_name": value,
            },
            "/admin/warehouse/loadbatch/upload/": {
                "force": value,
                "dry_run": value,
                "files": SimpleUploadedFile((value or "x")[:300] + ".csv", b"a,b\n1,2\n"),
            },
        }
        for url, data in posts.items():
            status = superuser.post(url, data).status_code
            if status >= 500:
                failed[(url, value[:40])] = status
    assert failed == {}


def test_the_login_form():
    client = Client(raise_request_exception=False)
    for value in SHORT_HOSTILE:
        response = client.post("/admin/login/", {"username": value, "password": value})
        assert response.status_code < 500
