import pytest

from api.refusals import AUTHENTICATION_REQUIRED
from dashboard.forms import START_AFTER_END
from ingestion.batches.api import BATCH_NOT_FOUND

pytestmark = pytest.mark.django_db


def get(client, url, **params):
    response = client.get(url, params)
    return response.status_code, response.json()


def test_top_customers(user_client, known):
    status, body = get(user_client, "/api/sells/customers/", top=2)
    assert status == 200
    assert body["statuses"] == ["PAID", "PENDING", "PROCESSING"]
    assert body["results"] == [
        {"customer_id": "C-100", "customer_name": "Acme Corp", "revenue": "230.00", "invoice_count": 2},
        {"customer_id": "C-101", "customer_name": "Globex Inc", "revenue": "151.50", "invoice_count": 2},
    ]


def test_time_monthly_and_weekly(user_client, known):
    _, body = get(user_client, "/api/sells/time/", period="monthly")
    assert [(r["period"], r["revenue"], r["cumulative"]) for r in body["results"]] == [
        ("2024-01", "250.50", "250.50"),
        ("2024-02", "30.00", "280.50"),
        ("2024-03", "101.05", "381.55"),
    ]
    _, body = get(user_client, "/api/sells/time/", period="weekly", start="2024-01-01", end="2024-01-31")
    assert [(r["period"], r["revenue"]) for r in body["results"]] == [
        ("2024-W01", "0.00"),
        ("2024-W02", "200.00"),
        ("2024-W03", "50.50"),
        ("2024-W04", "0.00"),
        ("2024-W05", "0.00"),
    ]


def test_kpis_pending_status_items(user_client, known):
    _, body = get(user_client, "/api/sells/kpis/")
    kpis = body["results"]
    assert (kpis["revenue"], kpis["invoice_count"], kpis["average_invoice"]) == ("381.55", 5, "76.31")
    assert (kpis["pending_amount"], kpis["pending_count"]) == ("151.50", 2)
    assert kpis["latest_batch"]["rejection_rate"] == "22.22"
    _, body = get(user_client, "/api/sells/pending/")
    assert [(r["customer_id"], r["pending_amount"]) for r in body["results"]] == [("C-101", "151.50")]
    _, body = get(user_client, "/api/sells/status/")
    assert [(r["status"], r["revenue"]) for r in body["results"]] == [
        ("PAID", "200.05"),
        ("PENDING", "151.50"),
        ("PROCESSING", "30.00"),
    ]
    _, body = get(user_client, "/api/sells/items/")
    assert body["results"][0] == {"item": "API Access", "revenue": "301.00", "invoice_count": 2, "qty": 6}


def test_filters_apply(user_client, known):
    _, body = get(user_client, "/api/sells/kpis/", customer="C-100", start="2024-02-01")
    assert body["results"]["revenue"] == "30.00"
    _, body = get(user_client, "/api/sells/status/", status=["CANCELLED", "REFUNDED"])
    assert body["statuses"] == ["CANCELLED", "REFUNDED"]
    assert [(r["status"], r["revenue"]) for r in body["results"]] == [
        ("CANCELLED", "999.99"),
        ("REFUNDED", "500.00"),
    ]
    _, body = get(user_client, "/api/sells/customers/", item="Server Setup")
    assert [(r["customer_id"], r["revenue"]) for r in body["results"]] == [("C-102", "0.05")]


@pytest.mark.parametrize(
    ("url", "params", "parameter"),
    [
        ("/api/sells/time/", {"period": "daily"}, "period"),
        ("/api/sells/customers/", {"top": "-1"}, "top"),
        ("/api/sells/customers/", {"top": "abc"}, "top"),
        ("/api/sells/customers/", {"top": "0"}, "top"),
        ("/api/sells/time/", {"start": "2023-13-45"}, "start"),
        ("/api/sells/time/", {"end": "yesterday"}, "end"),
        ("/api/sells/kpis/", {"status": "LOST"}, "status"),
        ("/api/sells/items/", {"customer": "C-999"}, "customer"),
        ("/api/sells/status/", {"item": "Nope"}, "item"),
        ("/api/batches/", {"limit": "x"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(user_client, known, url, params, parameter):
    status, body = get(user_client, url, **params)
    assert status == 400
    assert body["error"].startswith(f"{parameter}: ")


def test_start_after_end(user_client, known):
    status, body = get(user_client, "/api/sells/time/", start="2024-03-01", end="2024-01-01")
    assert (status, body["error"]) == (400, f"start: {START_AFTER_END}")


def test_batches(user_client, known):
    _, body = get(user_client, "/api/batches/")
    assert [(b["id"], b["status"], b["rows_rejected"]) for b in body["results"]] == [
        (known.pk, "succeeded", 2)
    ]
    status, body = get(user_client, f"/api/batches/{known.pk}/")
    assert (status, body["reason_counts"], body["rows_read"]) == (
        200,
        {"INVALID_DATE": 1, "TOTAL_MISMATCH": 1},
        9,
    )
    assert get(user_client, "/api/batches/999999/") == (404, {"error": BATCH_NOT_FOUND})


def test_empty_warehouse_gives_empty_results(user_client):
    _, body = get(user_client, "/api/sells/time/")
    assert body["results"] == []
    _, body = get(user_client, "/api/sells/kpis/")
    assert body["results"]["revenue"] == "0.00"


@pytest.mark.parametrize(
    "url",
    ["/api/sells/customers/", "/api/sells/time/", "/api/sells/kpis/", "/api/batches/", "/api/batches/1/"],
)
def test_login_required_gives_401_json(client, known, url):
    assert get(client, url) == (401, {"error": AUTHENTICATION_REQUIRED})


def test_public_when_login_not_required(client, known, settings):
    settings.DASHBOARD_REQUIRE_LOGIN = False
    assert client.get("/api/sells/customers/").status_code == 200
