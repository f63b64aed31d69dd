"""The OpenAPI document is valid OpenAPI 3 and lists every API operation; the docs page
works offline in a real Chromium."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver
from openapi_spec_validator import validate

from config.tests.test_api_access import EXPECTED
from tokens.services import token_create

DOCS_ONLY = {"openapi-json", "openapi-view", "api-root"}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def api_operations() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every API operation: the URL conf's routes of the ``api``
    namespace, with the methods of the access table (which covers every URL name)."""
    prefix, resolver = get_resolver().namespace_dict["api"]
    routes = {p.name: str(p.pattern) for p in resolver.url_patterns if isinstance(p, URLPattern)}
    return {
        ("/" + prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", routes[name]), method.lower())
        for name, method in EXPECTED
        if name not in DOCS_ONLY
    }


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicated keys: {keys}"
    return dict(pairs)


@pytest.fixture
def schema(db, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw-reader-123")
    _, secret = token_create(user=user, name="schema")
    response = Client().get("/api/schema/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    return json.loads(response.content, object_pairs_hook=_no_duplicate_keys)


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_lists_every_api_operation(schema):
    listed = {(path, method) for path, item in schema["paths"].items() for method in item}
    expected = api_operations()
    assert len(expected) >= 14
    assert listed == expected


def test_every_operation_documents_its_errors_and_auth(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            assert {"TokenAuth": []} in operation["security"], (path, method)
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}


def test_the_schema_needs_a_login(db):
    assert Client().get("/api/schema/").status_code == 401
    assert Client().get("/api/docs/").json() == {"error": "authentication required"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_loads_offline_in_chromium(watched_page, live_server):
    context, page, requests, errors = watched_page()

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock")
    operations = page.locator(".opblock").count()
    title = page.inner_text(".information-container .title")
    context.close()

    assert operations == len(api_operations())
    assert "Invoice ETL analytics API" in title
    assert errors == []
    hosts = {urlparse(url).hostname for url in requests if urlparse(url).scheme in ("http", "https")}
    assert hosts <= LOCAL_HOSTS, hosts
    assert any(url.endswith("/api/schema/") for url in requests)
    assert any("swagger-ui-bundle" in url for url in requests)
