"""Every URL of the URL conf and every admin action, for five accounts, against one table.

The URLs come from the resolver, so a URL added later without a row in ``EXPECTED`` fails
``test_every_url_has_a_rule``. Path parameters are filled with real objects. Each request
is sent as GET and as POST (an empty form: nothing is saved or deleted) and the answer is
compared with the table. Admin actions are checked twice: offered in the list's action
menu (GET), and what a POST of the action does. The "Who can do what" section of docs/admin.md
describes the same rules (``api.permissions``).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from config.tests.accounts import ACCOUNTS
from tokens.services import token_create
from warehouse.models import Customer, Item, LoadBatch, Status
from warehouse.tests.factories import batch_make, invoice_create, rejected_make

# Who may do what is decided in Python, not in SQL: the matrix runs once (every page on MariaDB is
# still requested by test_hostile_input.py).
pytestmark = [pytest.mark.django_db, pytest.mark.vendor_neutral]

# Answers, in ACCOUNTS order: an HTTP status, or "login" (a redirect to the login page).
L = "login"
PUBLIC_200 = (200,) * 5
ADMIN_ANY_STAFF = (L, 200, 200, 200, 200)
SUPERUSER = (L, 403, 403, 403, 200)
VIEW = (L, 403, 200, 403, 200)  # the model's view permission
VIEW_BATCH = (L, 403, 200, 200, 200)  # warehouse.view_loadbatch (the uploader has it)
UPLOAD = (L, 403, 403, 200, 200)
REFUSED = (L, 403, 403, 403, 403)  # nobody: read-only rows, nobody adds or edits them
NOT_ALLOWED = (L, 405, 405, 405, 405)
SALES_PAGE = (L, 403, 200, 403, 200)  # dashboard.view_sales
SALES_API = (401, 403, 200, 403, 200)
BATCH_API = (401, 403, 200, 200, 200)
API_UPLOAD_EMPTY = (401, 403, 403, 400, 400)
API_UPLOAD_REFUSED = (401, 403, 403, 409, 409)
REJECTED_API = (401, 403, 200, 403, 200)  # warehouse.view_rejectedinvoice
API_ANY_USER = (401, 200, 200, 200, 200)
API_405 = (405,) * 5
SUPERUSER_302 = (L, 403, 403, 403, 302)


def _import_export(app: str, model: str, *, importing, exporting):
    prefix = f"admin:{app}_{model}"
    urls = {f"{prefix}_export": (exporting, exporting)}
    if importing:
        urls[f"{prefix}_import"] = (importing, importing)
        urls[f"{prefix}_process_import"] = (NOT_ALLOWED, importing)
    return urls


_REDIRECT = (L, 302, 302, 302, 302)
_DIMENSION = {
    "view": (VIEW, VIEW),
    "add": (SUPERUSER, SUPERUSER),
    "change": (VIEW, SUPERUSER),  # view-only users see the page; saving needs change
    "delete": (SUPERUSER, SUPERUSER),
    "redirect": (_REDIRECT, _REDIRECT),
}
_READ_ONLY = {
    "view": (VIEW, VIEW),
    "add": (REFUSED, REFUSED),
    "change": (VIEW, REFUSED),
    "delete": (REFUSED, REFUSED),
    "redirect": (_REDIRECT, _REDIRECT),
}
_BATCH = {  # "add" is the upload page (which then needs add_loadbatch)
    **_READ_ONLY,
    "view": (VIEW_BATCH, VIEW_BATCH),
    "add": (_REDIRECT, _REDIRECT),
    "change": (VIEW_BATCH, REFUSED),
}
_LOCKOUTS = {  # django-axes' records: nobody adds them; saving a page changes nothing
    **_DIMENSION,
    "add": (REFUSED, REFUSED),
    "change": (VIEW, SUPERUSER_302),
}


_TOKENS = {
    "view": (ADMIN_ANY_STAFF, ADMIN_ANY_STAFF),
    "add": (ADMIN_ANY_STAFF, ADMIN_ANY_STAFF),  # an empty form: shown again with its errors
    "change": ((L, 302, 302, 302, 200), (L, 302, 302, 302, 403)),  # others': "not found"
    "delete": ((L, 302, 302, 302, 200), (L, 302, 302, 302, 200)),
    "history": ((L, 302, 302, 302, 200), (L, 302, 302, 302, 200)),
    "redirect": (_REDIRECT, _REDIRECT),
}


def _model(app: str, model: str, rules: dict) -> dict:
    """The pages Django's admin gives every model, with their (GET, POST) answers."""
    prefix = f"admin:{app}_{model}"
    return {
        f"{prefix}_changelist": rules["view"],
        f"{prefix}_add": rules["add"],
        f"{prefix}_change": rules["change"],
        f"{prefix}_delete": rules["delete"],
        f"{prefix}_history": rules.get("history", rules["view"]),
        f"admin/{app}/{model}/<path:object_id>/": rules["redirect"],
    }


# URL (its name, or its route when it has none) -> (GET answers, POST answers).
EXPECTED: dict[str, tuple[tuple, tuple]] = {
    "": ((302,) * 5, (302,) * 5),
    "favicon.ico": ((301,) * 5, (301,) * 5),
    "health": (PUBLIC_200, (405,) * 5),
    "dashboard:dashboard": (SALES_PAGE, SALES_PAGE),
    "dashboard:chart_csv": (SALES_PAGE, SALES_PAGE),
    "dashboard:invoices": (SALES_PAGE, SALES_PAGE),
    "dashboard:invoices_csv": (SALES_PAGE, SALES_PAGE),
    "dashboard:invoices_xlsx": (SALES_PAGE, SALES_PAGE),
    **{
        f"api:sells_{name}": (SALES_API, API_405)
        for name in ("customers", "time", "kpis", "pending", "status", "items")
    },
    # The batch API: POST /api/batches/ is the upload (an empty form: 400 once allowed).
    "api:batches": (BATCH_API, API_UPLOAD_EMPTY),
    "api:batch_upload": (BATCH_API, API_UPLOAD_EMPTY),
    "api:batch_detail": (BATCH_API, API_405),
    "api:batch_rerun": (API_405, API_UPLOAD_REFUSED),  # the file is gone: 409
    "api:batch_cancel": (API_405, API_UPLOAD_REFUSED),  # a finished batch: 409
    "api:batch_rejected": (REJECTED_API, API_405),
    "api:rejected_csv": (REJECTED_API, API_405),
    "api:rejected_reprocess": (API_405, (401, 403, 403, 403, 400)),  # an empty body: 400
    "api:openapi-json": (API_ANY_USER, API_ANY_USER),
    "api:openapi-view": (API_ANY_USER, API_ANY_USER),
    "api:api-root": ((404,) * 5, (404,) * 5),
    # The admin site's own pages.
    "admin:index": (ADMIN_ANY_STAFF, ADMIN_ANY_STAFF),
    "admin:login": ((200, 302, 302, 302, 302), PUBLIC_200),
    "admin:logout": ((302, 405, 405, 405, 405), (302, 200, 200, 200, 200)),
    "admin:password_change": (ADMIN_ANY_STAFF, ADMIN_ANY_STAFF),
    "admin:password_change_done": (ADMIN_ANY_STAFF, NOT_ALLOWED),
    "admin:autocomplete": ((L, 403, 403, 403, 403), (L, 405, 405, 405, 405)),
    "admin:jsi18n": (ADMIN_ANY_STAFF, NOT_ALLOWED),
    "admin:view_on_site": ((L, 404, 404, 404, 404), (L, 404, 404, 404, 404)),
    "admin:app_list": ((L, 404, 200, 200, 200), (L, 404, 200, 200, 200)),
    "admin/(?P<url>.*)$": ((L, 404, 404, 404, 404), (L, 404, 404, 404, 404)),
    # Dimensions: import needs add + change, export needs view.
    **_model("warehouse", "customer", _DIMENSION),
    **_import_export("warehouse", "customer", importing=SUPERUSER, exporting=VIEW),
    **_model("warehouse", "item", _DIMENSION),
    **_import_export("warehouse", "item", importing=SUPERUSER, exporting=VIEW),
    **_model("warehouse", "status", _DIMENSION),
    **_import_export("warehouse", "status", importing=SUPERUSER, exporting=VIEW),
    # Facts: read-only.
    **_model("warehouse", "invoice", _READ_ONLY),
    # Batches: view (the uploader too); upload, cancel, re-run need add.
    **_model("warehouse", "loadbatch", _BATCH),
    **_import_export("warehouse", "loadbatch", importing=None, exporting=VIEW_BATCH),
    "admin:warehouse_loadbatch_upload": (UPLOAD, UPLOAD),
    "admin:warehouse_loadbatch_progress": (VIEW_BATCH, VIEW_BATCH),
    "admin:warehouse_loadbatch_cancel": (NOT_ALLOWED, (L, 403, 403, 302, 302)),
    "admin:warehouse_loadbatch_rerun": (NOT_ALLOWED, (L, 403, 403, 302, 302)),
    "admin:warehouse_loadbatch_load": (NOT_ALLOWED, (L, 403, 403, 302, 302)),  # not a dry run: a message
    # Rejected rows: read-only, exported with view.
    **_model("warehouse", "rejectedinvoice", _READ_ONLY),
    **_import_export("warehouse", "rejectedinvoice", importing=None, exporting=VIEW),
    "admin:warehouse_rejectedinvoice_reprocess": (NOT_ALLOWED, SUPERUSER_302),
    # Users, groups and login lockouts: Django's model permissions (no group holds them).
    **_model("auth", "user", _DIMENSION),
    "admin:auth_user_password_change": (SUPERUSER, SUPERUSER),
    **_model("auth", "group", _DIMENSION),
    **_model("axes", "accessattempt", _LOCKOUTS),
    **_model("axes", "accesslog", _LOCKOUTS),
    **_model("axes", "accessfailurelog", _LOCKOUTS),
    # API tokens: every staff user keeps their own (the token in the table is someone else's).
    **_model("tokens", "apitoken", _TOKENS),
    # Every signed-in user's own tokens, staff or not (its login page is /account/login/).
    "account:login": ((200, 302, 302, 302, 302), (200, 302, 302, 302, 302)),
    "account:logout": ((405,) * 5, (302,) * 5),
    "account:tokens": ((302, 200, 200, 200, 200), (302, 400, 400, 400, 400)),  # an empty form: 400
}

# Admin actions: (model, action) -> (offered in the action menu, what a POST does), per account.
# A POST answers "done" when the action ran, "refused" when the admin turned it down.
R, D, H, S = "refused", "done", "hidden", "shown"
ACTION_EXPECTED = {
    **{
        (f"warehouse.{model}", action): rule
        for model in ("customer", "item", "status")
        for action, rule in (
            ("delete_selected", ((L, 403, H, 403, S), (L, 403, R, 403, D))),
            ("export_admin_action", ((L, 403, S, 403, S), (L, 403, D, 403, D))),
        )
    },
    ("warehouse.invoice", "delete_selected"): ((L, 403, H, 403, H), (L, 403, R, 403, R)),
    ("warehouse.loadbatch", "delete_selected"): ((L, 403, H, H, H), (L, 403, R, R, R)),
    ("warehouse.loadbatch", "export_admin_action"): ((L, 403, S, S, S), (L, 403, D, D, D)),
    ("warehouse.loadbatch", "rerun_batches"): ((L, 403, H, S, S), (L, 403, R, D, D)),
    ("warehouse.loadbatch", "cancel_batches"): ((L, 403, H, S, S), (L, 403, R, D, D)),
    ("warehouse.rejectedinvoice", "delete_selected"): ((L, 403, H, 403, H), (L, 403, R, 403, R)),
    ("warehouse.rejectedinvoice", "export_admin_action"): ((L, 403, S, 403, S), (L, 403, D, 403, D)),
    ("warehouse.rejectedinvoice", "reprocess_rows"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("warehouse.rejectedinvoice", "add_unknowns"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("auth.user", "delete_selected"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("auth.user", "revoke_api_tokens"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("auth.group", "delete_selected"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("axes.accessattempt", "delete_selected"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("axes.accessattempt", "cleanup_expired_attempts"): ((L, 403, S, 403, S), (L, 403, D, 403, D)),
    ("axes.accesslog", "delete_selected"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    ("axes.accessfailurelog", "delete_selected"): ((L, 403, H, 403, S), (L, 403, R, 403, D)),
    # Offered to every staff user; they act on the user's own tokens only, so someone else's
    # is left alone (tokens/tests/test_tokens.py checks that).
    ("tokens.apitoken", "delete_selected"): ((L, S, S, S, S), (L, D, D, D, D)),
    ("tokens.apitoken", "revoke_tokens"): ((L, S, S, S, S), (L, D, D, D, D)),
}


# --- the URL conf, walked --------------------------------------------------------------


def url_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """(key, route) for every endpoint: key is ``namespace:name``, or the route if unnamed."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else route), route


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


@pytest.fixture
def objects(django_user_model, tmp_path):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    batch = batch_make(status=LoadBatch.Status.SUCCEEDED, file_path=str(tmp_path / "gone.csv"))
    invoice = invoice_create(batch, "M-1", "2024-01-10", "C-100", "API Access", "PAID", 1, "10.00")
    rejected = rejected_make(
        batch,
        invoice_id="M-2",
        detail="INVALID_DATE: x",
        raw_record={"invoice_id": "M-2", "issue_date": "x"},
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    someone = django_user_model.objects.create_user("someone", password="pw")
    token, _ = token_create(user=someone, name="someone's script")
    return {
        "warehouse.customer": Customer.objects.get(customer_id="C-100"),
        "warehouse.item": Item.objects.get(item_description="API Access"),
        "warehouse.status": Status.objects.get(status_name="PAID"),
        "warehouse.invoice": invoice,
        "warehouse.loadbatch": batch,
        "warehouse.rejectedinvoice": rejected,
        "auth.user": someone,
        "tokens.apitoken": token,
        "auth.group": Group.objects.create(name="Matrix"),
        "axes.accessattempt": AccessAttempt.objects.create(
            username="x", ip_address="10.0.0.1", user_agent="t", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t"),
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="x", ip_address="10.0.0.1", user_agent="t"
        ),
    }


def _model_of(route: str) -> str | None:
    parts = route.split("/")
    if len(parts) > 3 and parts[0] == "admin":
        try:
            return apps.get_model(parts[1], parts[2])._meta.label_lower
        except LookupError:
            return None
    return None


def url_for(route: str, objects: dict) -> str:
    model = _model_of(route)
    batch = objects["warehouse.loadbatch"]

    def value(match) -> str:
        name = match.group(1) or match.group(2)
        if name in ("object_id", "pk", "id"):
            return str(objects[model or "warehouse.customer"].pk)
        fill = {
            "batch_id": batch.pk,
            "name": "monthly",
            "app_label": "warehouse",
            "content_type_id": ContentType.objects.get_for_model(Customer).pk,
            "url": "no-such-page/",
        }
        if name not in fill:
            raise AssertionError(f"{route}: no value for the path parameter {name!r}")
        return str(fill[name])

    return "/" + _PARAM.sub(value, route).rstrip("$")


# --- the five accounts -------------------------------------------------------------------


@pytest.fixture
def account_client(account_user, logged_in):
    """``account_client(account)``: a client of that account; the viewer holds every view permission."""

    def make(account: str) -> Client:
        every_view = Permission.objects.filter(codename__startswith="view_").values_list(
            "codename", flat=True
        )
        user = account_user(account, viewer=tuple(every_view))
        if user is None:
            return Client()
        client = logged_in(user)
        client.user = user
        return client

    return make


def answer(response) -> int | str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/admin/login/" in location and "next=" in location:
        return L
    return response.status_code


def test_every_url_has_a_rule():
    keys = {key for key, _ in url_patterns()}
    assert sorted(keys - set(EXPECTED)) == [], "URLs without a rule in EXPECTED"
    assert sorted(set(EXPECTED) - keys) == [], "rules for URLs that no longer exist"


def test_every_admin_action_has_a_rule(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    found = set()
    for model, model_admin in admin.site._registry.items():
        # A private ModelAdmin method (the actions before permissions), not in django-stubs.
        names = {action.name for action in model_admin._get_base_actions()}  # type: ignore[attr-defined]
        names |= set(model_admin.get_actions(request))
        found |= {(model._meta.label_lower, name) for name in names}
    assert sorted(found ^ set(ACTION_EXPECTED)) == []


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_url_answers_each_account_as_the_table_says(account, account_client, objects, settings):
    settings.DASHBOARD_REQUIRE_LOGIN = True
    client = account_client(account)
    got, want = {}, {}
    index = ACCOUNTS.index(account)
    for key, route in url_patterns():
        url = url_for(route, objects)
        for method, expected in zip(("GET", "POST"), EXPECTED[key], strict=True):
            response = client.get(url) if method == "GET" else client.post(url, {})
            got[f"{method} {key}"] = answer(response)
            want[f"{method} {key}"] = expected[index]
            if account != "anonymous" and "logout" in key:
                client.force_login(client.user)
    assert {k: (got[k], want[k]) for k in got if got[k] != want[k]} == {}, "(answer, expected)"


def _action_outcome(response) -> int | str:
    """``done``: the action's own page, or the list again with the action's message."""
    code = answer(response)
    if code in (L, 403):
        return code
    if response.status_code == 200:
        templates = {t.name for t in response.templates}
        return R if "admin/change_list.html" in templates else D
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    return D if any("No action selected" not in t for t in texts) else R


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_admin_action_is_offered_and_runs_as_the_table_says(account, account_client, objects):
    client = account_client(account)
    index = ACCOUNTS.index(account)
    got, want = {}, {}
    for (label, action), (offered, posted) in ACTION_EXPECTED.items():
        app, model = label.split(".")
        url = f"/admin/{app}/{model}/"
        response = client.get(url)
        shown = answer(response)
        if shown == 200:
            form = response.context["action_form"]
            choices = form.fields["action"].choices if form else ()
            shown = S if action in {name for name, _ in choices} else H
        got[f"GET {label} {action}"], want[f"GET {label} {action}"] = shown, offered[index]
        response = client.post(url, {"action": action, "_selected_action": [objects[label].pk], "index": 0})
        got[f"POST {label} {action}"] = _action_outcome(response)
        want[f"POST {label} {action}"] = posted[index]
    assert {k: (got[k], want[k]) for k in got if got[k] != want[k]} == {}, "(answer, expected)"
