"""Every API URL, for five accounts, through a personal token and through the session.

The URLs come from the resolver (the ``api`` namespace), so an endpoint added later without
a row in ``EXPECTED`` fails ``test_every_api_url_has_a_rule``. Revoked, expired and unknown
tokens are refused like no credentials at all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from config.tests.accounts import ACCOUNTS
from ingestion.tests.files import invoices_csv, write_invoices
from tokens.services import token_create, token_revoke
from warehouse.models import LoadBatch, RejectedResolution
from warehouse.tests.factories import batch_make, rejected_make

# Who may call what is decided in Python, not in SQL: runs once (the raw-SQL session and permission
# reads are proven on MariaDB by test_request_identity.py and test_auth_backends.py).
pytestmark = [pytest.mark.django_db, pytest.mark.vendor_neutral]

VIEWER = (
    "view_sales",
    "view_loadbatch",
    "view_rejectedinvoice",
    "view_invoice",
    "view_customer",
    "view_item",
    "view_status",
)
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid",
    "INV-2,2024-01-05,C-999,X,Server Setup,1,1,1,Paid",
)

# Answers in ACCOUNTS order.
SALES = (401, 403, 200, 403, 200)  # dashboard.view_sales
BATCH_READ = (401, 403, 200, 200, 200)  # warehouse.view_loadbatch
BATCH_WRITE = (401, 403, 403, 202, 202)  # + warehouse.add_loadbatch
CANCEL = (401, 403, 403, 200, 200)
REJECTED_READ = (401, 403, 200, 403, 200)  # warehouse.view_rejectedinvoice
REPROCESS = (401, 403, 403, 403, 202)  # + warehouse.change_rejectedinvoice (queued)
ANY_USER = (401, 200, 200, 200, 200)
NOTHING = (404,) * 5

# (URL name, method) -> answers.
EXPECTED = {
    **{(f"sells_{n}", "GET"): SALES for n in ("customers", "time", "kpis", "pending", "status", "items")},
    ("batches", "GET"): BATCH_READ,
    ("batch_upload", "POST"): BATCH_WRITE,
    ("batch_detail", "GET"): BATCH_READ,
    ("batch_rerun", "POST"): BATCH_WRITE,
    ("batch_cancel", "POST"): CANCEL,
    ("batch_rejected", "GET"): REJECTED_READ,
    ("rejected_csv", "GET"): REJECTED_READ,
    ("rejected_reprocess", "POST"): REPROCESS,
    ("openapi-json", "GET"): ANY_USER,
    ("openapi-view", "GET"): ANY_USER,
    ("api-root", "GET"): NOTHING,
}


def api_url_names() -> set[str | None]:
    _, resolver = get_resolver().namespace_dict["api"]
    return {p.name for p in resolver.url_patterns if isinstance(p, URLPattern)}


def test_every_api_url_has_a_rule():
    assert api_url_names() == {name for name, _ in EXPECTED}


@pytest.fixture
def accounts(account_user):
    """account -> its user (None for anonymous); the viewer holds the Viewer group's permissions."""
    return {account: account_user(account, viewer=VIEWER) for account in ACCOUNTS}


@pytest.fixture
def world(tmp_path, settings, reference_data):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = write_invoices(tmp_path, *ROWS, name="old.csv")
    finished = batch_make(file_path=str(path), sha256="1" * 64)
    rejected = rejected_make(
        finished,
        reason="UNKNOWN_CUSTOMER",
        detail="UNKNOWN_CUSTOMER: C-999",
        raw_record={"invoice_id": "INV-2", "customer_id": "C-999"},
        file_name="old.csv",
        created_at=timezone.now(),
    )
    return {"finished": finished, "rejected": rejected}


def _request(client: Client, name: str, method: str, world, **headers):
    """One request to the URL ``name`` with arguments and a body that would succeed."""
    finished = world["finished"]
    if name == "batch_cancel":
        args = [batch_make(status=LoadBatch.Status.QUEUED).pk]
    elif name in ("batch_detail", "batch_rerun", "batch_rejected"):
        args = [finished.pk]
    else:
        args = []
    url = reverse(f"api:{name}", args=args)
    if name == "batch_upload":
        upload = SimpleUploadedFile("in.csv", invoices_csv(*ROWS).encode(), content_type="text/csv")
        return client.post(url, {"file": upload, "force": "true"}, headers=headers)
    if name == "rejected_reprocess":
        RejectedResolution.objects.filter(rejected_id=world["rejected"].pk).delete()
        return client.post(
            url, {"ids": [world["rejected"].pk]}, content_type="application/json", headers=headers
        )
    return client.generic(method, url, headers=headers)


@pytest.mark.parametrize(("name", "method"), sorted(EXPECTED))
def test_every_api_url_through_a_token(accounts, world, name, method):
    answers = []
    for account in ACCOUNTS:
        user = accounts[account]
        headers = {}
        if user is not None:
            _, secret = token_create(user=user, name="script")
            headers["Authorization"] = f"Bearer {secret}"
        answers.append(_request(Client(), name, method, world, **headers).status_code)
    assert tuple(answers) == EXPECTED[(name, method)]


@pytest.mark.parametrize(("name", "method"), sorted(EXPECTED))
def test_every_api_url_through_the_session(accounts, world, logged_in, name, method):
    answers = []
    for account in ACCOUNTS:
        user = accounts[account]
        client = Client() if user is None else logged_in(user)
        answers.append(_request(client, name, method, world).status_code)
    assert tuple(answers) == EXPECTED[(name, method)]


def test_session_writes_need_the_csrf_token_and_tokens_do_not(accounts, world, logged_in):
    client = logged_in(accounts["superuser"], enforce_csrf_checks=True)
    url = reverse("api:batch_rerun", args=[world["finished"].pk])
    refused = client.post(url)
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("CSRF check failed")
    client.get(reverse("admin:index"))  # sets the csrftoken cookie, as a page does
    assert client.post(url, headers={"X-CSRFToken": client.cookies["csrftoken"].value}).status_code == 202

    _, secret = token_create(user=accounts["superuser"], name="script")
    script = Client(enforce_csrf_checks=True)
    assert script.post(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 202


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown", "empty", "another scheme"])
def test_refused_tokens_are_401_on_every_url(accounts, world, state):
    token, secret = token_create(user=accounts["superuser"], name="script")
    header = f"Bearer {secret}"
    if state == "revoked":
        token_revoke(token=token)
    elif state == "expired":
        token.expires_at = timezone.now() - dt.timedelta(seconds=1)
        token.save()
    elif state == "unknown":
        header = f"Bearer {secret[:-2]}xx"
    elif state == "empty":
        header = "Bearer "
    else:
        header = f"Token {secret}"
    for name, method in EXPECTED:
        if name == "api-root":
            continue
        response = _request(Client(), name, method, world, Authorization=header)
        assert response.status_code == 401, (name, response.content)
        assert response.json() == {"error": "authentication required"}


def test_a_token_of_an_inactive_user_is_refused(accounts, world):
    user = accounts["superuser"]
    _, secret = token_create(user=user, name="script")
    user.is_active = False
    user.save()
    response = Client().get(reverse("api:batches"), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_sales_are_public_only_when_login_is_not_required(world, settings):
    settings.DASHBOARD_REQUIRE_LOGIN = False
    assert Client().get(reverse("api:sells_kpis")).status_code == 200
    assert Client().get(reverse("api:batches")).status_code == 401
