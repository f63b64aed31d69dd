"""Every query parameter and form field, fed hostile values, never gets a server error;
every admin page, export and list action neither (malformed or missing ids, filters a list
lacks, keys the database collates equal), for a viewer and a superuser, with DEBUG off.

Dates outside what the database and Python hold answer 400 with a message (the API and
the chart CSVs; the dashboard page shows the message above the charts).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from config.middleware import NOT_FOUND, SERVER_ERROR
from dashboard.charts import CHARTS
from dashboard.forms import DATE_OUT_OF_RANGE
from warehouse.exports import EXPORT_BAD_FILTERS
from warehouse.models import Item
from warehouse.tests.factories import batch_make, known_warehouse_create, rejected_make

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
    assert server_errors(reader, "/visualization/dashboard/", (*SALES_PARAMS, "grain")) == {}
    for name in CHARTS:
        assert (
            server_errors(
                reader,
                f"/visualization/dashboard/csv/{name}.csv",
                (*SALES_PARAMS, "grain", "bom"),
                SHORT_HOSTILE,
            )
            == {}
        )


def test_the_invoice_table_and_its_files(reader):
    params = (*SALES_PARAMS, "sort", "after", "before")
    assert server_errors(reader, "/visualization/dashboard/invoices/", params) == {}
    for url in ("/visualization/dashboard/invoices.csv", "/visualization/dashboard/invoices.xlsx"):
        assert server_errors(reader, url, (*params, "bom"), SHORT_HOSTILE) == {}


@pytest.mark.parametrize("url", SALES_API)
def test_every_sales_endpoint(reader, url):
    # Every endpoint reads the same filter form: the whole table on one, a short one elsewhere.
    values = HOSTILE if url in ("/api/sells/customers/", "/api/sells/time/") else SHORT_HOSTILE
    assert server_errors(reader, url, SALES_PARAMS + SALES_API[url], values) == {}


def test_the_batch_endpoints(reader):
    assert server_errors(reader, "/api/batches/", ("limit",)) == {}
    for batch_id in ("0", "99999999999999999999999999", "9" * 400):
        assert reader.get(f"/api/batches/{batch_id}/").status_code == 404


def test_an_address_the_api_lacks_answers_404_in_json_a_page_it_lacks_in_html(reader):
    for url in ("/api/no-such-thing/", "/api/sells/kpis/extra/", "/api/%00/"):
        response = reader.get(url)
        assert (response.status_code, response.json()) == (404, {"error": NOT_FOUND}), url
    page = reader.get("/visualization/no-such-page/")
    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")


@pytest.mark.urls("config.tests.urls_failing")
def test_a_fault_of_the_program_under_the_api_answers_500_in_json_with_the_request_id(reader):
    response = reader.get("/api/failing/")
    request_id = response["X-Request-ID"]
    assert (response.status_code, response.json()) == (
        500,
        {"error": SERVER_ERROR.format(request_id=request_id)},
    )
    page = reader.get("/failing/")
    assert (page.status_code, page["Content-Type"]) == (500, "text/html; charset=utf-8")


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


# --- the admin, walked: every registered model, as a viewer and as a superuser ----------

ADMIN_PARAMS = [
    {"format": "0"},
    {"format": "x"},
    {"id__in": "x"},
    {"id__gte": "1.5"},
    {"pk": "x"},
    {"o": "99"},
    {"p": "x"},
    {"e": "1"},
    {"q": "\x00"},
    {"no_such_field": "1"},
    {"_changelist_filters": "x=1"},
]
ADMIN_IDS = ["1.5", "x", "-1", "0", "9" * 30, "999999", "%2F", "1%00"]
TWIN = "\u200bAPI Access"  # equal to "API Access" under MariaDB's collation, not under LIKE


@pytest.fixture(params=["viewer", "superuser"])
def admin_walker(request, reader, superuser, settings):
    settings.DEBUG = False
    return reader if request.param == "viewer" else superuser


def _admin_bases() -> list[str]:
    from django.contrib import admin

    return [f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry]


def test_admin_lists_and_exports_with_unknown_or_malformed_parameters(admin_walker):
    failed = {}
    for base in _admin_bases():
        for params in ADMIN_PARAMS:
            for method, url in (("GET", base), ("GET", base + "export/"), ("POST", base + "export/")):
                data = params if method == "GET" else {**params, "export_items": ["x", "1.5"]}
                response = admin_walker.get(url, data) if method == "GET" else admin_walker.post(url, data)
                if response.status_code >= 500:
                    failed[(method, url, str(params))] = response.status_code
    assert failed == {}


def test_an_export_with_a_filter_the_list_lacks_says_so(admin_walker):
    response = admin_walker.get("/admin/warehouse/customer/export/", {"format": "0"}, follow=True)
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert EXPORT_BAD_FILTERS.format(params="format") in texts


def test_admin_pages_of_malformed_and_missing_ids(admin_walker):
    failed = {}
    for base in _admin_bases():
        for object_id in ADMIN_IDS:
            for suffix in ("", "change/", "history/", "delete/"):
                response = admin_walker.get(f"{base}{object_id}/{suffix}")
                if response.status_code >= 500:
                    failed[f"{base}{object_id}/{suffix}"] = response.status_code
    assert failed == {}


def test_every_list_action_on_malformed_ids_and_collation_twins(admin_walker, rf, admin_user):
    from django.contrib import admin

    batch = batch_make()
    twin = rejected_make(
        batch,
        reason="UNKNOWN_ITEM",
        detail="UNKNOWN_ITEM: item not in reference data",
        raw_record={"invoice_id": "T-1", "customer_id": "C-100", "item_description": TWIN, "status": "PAID"},
    )
    request = rf.get("/admin/")
    request.user = admin_user
    failed = {}
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for action in model_admin.get_actions(request):
            for selected in (["x"], ["1.5"], ["999999"], [str(twin.pk)]):
                response = admin_walker.post(
                    url, {"action": action, "_selected_action": selected, "index": 0}
                )
                if response.status_code >= 500:
                    failed[(url, action, selected[0])] = response.status_code
    assert failed == {}


def test_adding_the_unknown_item_that_collates_equal_to_a_known_one_is_no_server_error(superuser):
    batch = batch_make()
    row = rejected_make(
        batch,
        reason="UNKNOWN_ITEM",
        detail="UNKNOWN_ITEM: item not in reference data",
        raw_record={"invoice_id": "T-1", "customer_id": "C-100", "item_description": TWIN, "status": "PAID"},
    )
    response = superuser.post(
        "/admin/warehouse/rejectedinvoice/", {"action": "add_unknowns", "_selected_action": [row.pk]}
    )
    assert response.status_code == 200
    # As the database compares: one item on MariaDB (the twin is the known item), two on SQLite.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM dim_item WHERE item_description = %s", [TWIN])
        twins_in_database = cursor.fetchone()[0]
    assert Item.objects.filter(item_description__in=["API Access", TWIN]).count() == 1 + (
        twins_in_database == 1 and connection.vendor == "sqlite"
    )
    add = superuser.post("/admin/warehouse/item/add/", {"item_description": "\u200bapi ACCESS"})
    assert add.status_code in (200, 302)
