"""Session length, the proxy's HTTPS header and the Content-Security-Policy header."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from django.test import Client

from config.tests.test_deploy import ROOT, production_env
from tokens.services import token_create

SETTINGS = ["SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "SECURE_PROXY_SSL_HEADER"]


def production_settings(**env) -> dict:
    """The named settings as the production settings module computes them from ``env``."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"print(repr({{name: getattr(settings, name) for name in {SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(DJANGO_SECRET_KEY="x" * 60, **env),
        capture_output=True,
        text=True,
        check=True,
    )
    return ast.literal_eval(result.stdout)


def test_a_session_lasts_a_working_day_and_the_proxy_header_is_not_believed_by_default():
    assert production_settings() == {
        "SESSION_COOKIE_AGE": 9 * 3600,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_the_session_length_and_the_proxy_are_settings():
    assert production_settings(
        DJANGO_SESSION_HOURS="2.5", DJANGO_SESSION_AT_BROWSER_CLOSE="true", LOGIN_PROXY_COUNT="1"
    ) == {
        "SESSION_COOKIE_AGE": 9000,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    }


@pytest.mark.django_db
def test_a_login_cookie_expires_after_the_session_length(django_user_model, settings):
    settings.SESSION_COOKIE_AGE = 3600
    django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    response = Client().post("/admin/login/", {"username": "clerk", "password": "pw", "next": "/admin/"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 3600


@pytest.mark.django_db
def test_without_a_proxy_a_forged_forwarded_proto_does_not_pass_for_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/admin/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301 and response["Location"].startswith("https://")


PAGES = (
    "/visualization/dashboard/",
    "/admin/",
    "/admin/login/",
    "/admin/warehouse/loadbatch/",
    "/admin/warehouse/loadbatch/upload/",
    "/admin/tokens/apitoken/add/",
    "/api/docs/",
    "/account/tokens/",
    "/account/login/",
)


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_every_page_carries_a_content_security_policy(url, admin_client, django_user_model):
    client = Client() if url.endswith("/login/") else admin_client
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    first, *nonces = policy["script-src"].split()  # the nonce appears where a page uses it
    assert first == "'self'" and all(value.startswith("'nonce-") for value in nonces)
    assert (policy["object-src"], policy["frame-ancestors"], policy["form-action"]) == (
        "'none'",
        "'none'",
        "'self'",
    )


@pytest.mark.django_db
def test_api_answers_carry_the_policy_too(django_user_model):
    _, secret = token_create(user=django_user_model.objects.create_user("u", password="pw"), name="s")
    response = Client().get("/api/schema/", headers={"Authorization": f"Bearer {secret}"})
    assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_api_docs_never_ask_swaggers_online_validator(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert '"validatorUrl": null' in page
