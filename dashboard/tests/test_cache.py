"""Cached sales answers: never stale after a commit, never shared across what permissions
shape, revalidated by ETag, and the page's user-specific header never cached."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ingestion.rejected.reprocess import reprocess_batches_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

PAGE = "/visualization/dashboard/"
URLS = [
    PAGE,
    PAGE + "?customer=C-101",
    "/api/sells/kpis/",
    "/api/sells/customers/",
    "/api/sells/time/?period=weekly",
    "/api/sells/time/?period=monthly&start=2024-01-03",
    "/visualization/dashboard/csv/customers.csv",
    "/visualization/dashboard/invoices/?sort=total",
]
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100,200,Paid",
    "INV-2,2024-01-20,C-101,Globex,API Access,1,50,50,Pending",
)


@pytest.fixture
def analyst(staff_user, logged_in):
    return logged_in(staff_user("analyst", "view_sales"))


@pytest.fixture
def warehouse(reference_data, tmp_path):
    batch = ingest(write_invoices(tmp_path, *ROWS, name="first.csv"))
    assert batch.status == "succeeded", batch.error


def _answers(client) -> dict[str, bytes]:
    answers = {}
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        answers[url] = response.content
    return answers


def _reads_sales(client, url: str, **headers) -> bool:
    """Whether answering ``url`` read the sales aggregates (a cache miss)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, headers=headers).status_code == 200
    return any("agg_" in q["sql"] for q in queries.captured_queries)


def _load(tmp_path, admin_client):
    row = "INV-3,2024-01-25,C-100,Acme,Server Setup,1,1000,1000,Paid"
    return lambda: ingest(write_invoices(tmp_path, row, name="second.csv"))


def _reprocess(tmp_path, admin_client):
    ingest(write_invoices(tmp_path, "INV-4,2024-01-26,C-999,Newco,API Access,3,10,30,Paid", name="u.csv"))
    Customer.objects.create(customer_id="C-999", customer_name="Newco")
    return lambda: reprocess_batches_create(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))


def _refresh(tmp_path, admin_client):
    # A correction made in the database by hand: the dashboard shows it once rebuilt.
    Invoice.objects.filter(invoice_id="INV-1").update(qty=3, total=300)
    return lambda: call_command("dashboard_refresh")


def _rename(tmp_path, admin_client):
    pk = Customer.objects.get(customer_id="C-101").pk
    url = reverse("admin:warehouse_customer_change", args=[pk])
    return lambda: admin_client.post(url, {"customer_id": "C-101", "customer_name": "Globex Renamed"})


def _import(tmp_path, admin_client):
    url = reverse("admin:warehouse_customer_import")
    form = admin_client.get(url).context["form"]
    fmt = next(v for v, label in form.fields["format"].choices if str(label).lower() == "csv")
    upload = SimpleUploadedFile("c.csv", b"customer_id,customer_name\nC-101,Globex Imported\n")
    confirm = admin_client.post(url, {"format": fmt, "import_file": upload}).context["confirm_form"].initial
    return lambda: admin_client.post(reverse("admin:warehouse_customer_process_import"), confirm)


# Each kind of commit, and the answers it certainly changes.
COMMITS = {
    "a load": (
        _load,
        [
            "/api/sells/kpis/",
            "/api/sells/time/?period=weekly",
            PAGE,
            "/visualization/dashboard/invoices/?sort=total",
        ],
    ),
    "a re-processing": (_reprocess, ["/api/sells/customers/", "/api/sells/kpis/", PAGE]),
    "an aggregate refresh": (_refresh, ["/api/sells/kpis/", "/visualization/dashboard/csv/customers.csv"]),
    "a customer renamed in the admin": (_rename, ["/api/sells/customers/", PAGE + "?customer=C-101"]),
    "a dimension import": (_import, ["/api/sells/customers/", "/visualization/dashboard/csv/customers.csv"]),
}


@pytest.mark.parametrize("kind", list(COMMITS))
@pytest.mark.usefixtures("warehouse")
def test_after_each_kind_of_commit_the_next_answer_is_never_the_old_one(
    kind, tmp_path, admin_client, analyst
):
    prepare, changed = COMMITS[kind]
    commit = prepare(tmp_path, admin_client)
    before = _answers(analyst)
    assert not _reads_sales(analyst, "/api/sells/kpis/")  # served from the cache

    commit()
    after = _answers(analyst)
    cache.clear()
    fresh = _answers(analyst)

    assert after == fresh  # every answer is the one the warehouse gives now
    for url in changed:
        assert after[url] != before[url], url


@pytest.mark.usefixtures("warehouse")
@pytest.mark.parametrize("first", ["with view_loadbatch", "without view_loadbatch"])
def test_an_answer_built_for_one_permission_set_is_never_served_to_another(first, staff_user, logged_in):
    holder = logged_in(staff_user("steward", "view_sales", "view_loadbatch"))
    plain = logged_in(staff_user("viewer", "view_sales"))
    one, other = (holder, plain) if first == "with view_loadbatch" else (plain, holder)
    for url in ("/api/sells/kpis/", PAGE, "/visualization/dashboard/csv/customers.csv"):
        assert _reads_sales(one, url)
        assert not _reads_sales(one, url)  # cached for its permission set
        assert _reads_sales(other, url)  # not the other's answer
        assert not _reads_sales(other, url)
        assert one.get(url)["ETag"] != other.get(url)["ETag"]


@pytest.mark.usefixtures("warehouse")
def test_users_with_the_same_permissions_share_answers_but_the_page_names_each_user(staff_user, logged_in):
    ann = logged_in(staff_user("ann", "view_sales"))
    bob = logged_in(staff_user("bob", "view_sales"))
    assert _reads_sales(ann, "/api/sells/kpis/") and not _reads_sales(bob, "/api/sells/kpis/")
    ann_page, bob_page = ann.get(PAGE).content.decode(), bob.get(PAGE).content.decode()
    assert ">ann \u00b7" in ann_page and ">bob \u00b7" in bob_page and "ann" not in bob_page
    assert ann.get(PAGE)["ETag"] != bob.get(PAGE)["ETag"]


@pytest.mark.usefixtures("warehouse")
@pytest.mark.parametrize("url", ["/api/sells/kpis/", PAGE, "/visualization/dashboard/csv/customers.csv"])
def test_a_matching_etag_gets_304_until_the_data_changes(url, analyst):
    first = analyst.get(url)
    etag = first["ETag"]
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]

    again = analyst.get(url, headers={"if-none-match": etag})
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)

    call_command("dashboard_refresh")
    changed = analyst.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag and changed.content


@pytest.mark.usefixtures("warehouse")
def test_bad_parameters_are_answered_each_time_and_never_cached(analyst):
    for _ in range(2):
        response = analyst.get("/api/sells/customers/?top=0")
        assert response.status_code == 400 and "ETag" not in response
    assert not [key for key in cache._cache if "answer" in key]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("warehouse")
def test_parameters_in_another_order_are_the_same_answer(analyst):
    assert _reads_sales(analyst, "/api/sells/items/?start=2024-01-01&customer=C-100")
    assert not _reads_sales(analyst, "/api/sells/items/?customer=C-100&start=2024-01-01")
    # A parameter's values keep their order: it is the order the answer lists the statuses in.
    one = analyst.get("/api/sells/kpis/?status=PAID&status=PENDING").json()["statuses"]
    two = analyst.get("/api/sells/kpis/?status=PENDING&status=PAID").json()["statuses"]
    assert (one, two) == (["PAID", "PENDING"], ["PENDING", "PAID"])


@pytest.fixture
def redis_cache(settings):
    """The answers cache in Redis, under a prefix of this test's own (its keys removed after)."""
    import redis

    url = "redis://127.0.0.1:6379/7"
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.mark.usefixtures("warehouse", "redis_cache")
def test_answers_are_shared_through_redis_and_end_with_the_data_version(analyst, tmp_path):
    import redis

    assert _reads_sales(analyst, "/api/sells/kpis/")
    assert not _reads_sales(analyst, "/api/sells/kpis/")
    prefix = cache.key_prefix
    assert list(redis.Redis.from_url("redis://127.0.0.1:6379/7").scan_iter(f"{prefix}:*"))
    revenue = analyst.get("/api/sells/kpis/").json()["results"]["revenue"]

    ingest(write_invoices(tmp_path, "INV-9,2024-02-01,C-100,Acme,Server Setup,1,5,5,Paid", name="b.csv"))
    assert _reads_sales(analyst, "/api/sells/kpis/")
    assert analyst.get("/api/sells/kpis/").json()["results"]["revenue"] != revenue


@pytest.mark.usefixtures("warehouse")
def test_an_unreachable_cache_slows_answers_but_never_fails_them(settings, analyst):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    for url in URLS:
        assert analyst.get(url).status_code == 200, url
    assert _reads_sales(analyst, "/api/sells/kpis/")
