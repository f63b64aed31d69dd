"""A token follows its user: a password change (by any path), an administrator's "revoke
all" and a login lockout stop it; making one asks for the password again; every user who can
sign in sees and revokes their own tokens on /account/tokens/."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tokens.models import ApiToken
from tokens.services import token_create, token_state

pytestmark = pytest.mark.django_db

API = "/api/schema/"  # any authenticated user may read it


def api_status(secret: str, ip: str = "10.9.0.1") -> int:
    return Client(REMOTE_ADDR=ip).get(API, headers={"Authorization": f"Bearer {secret}"}).status_code


@pytest.fixture
def clerk(staff_user):
    return staff_user("clerk")


@pytest.fixture
def clerk_token(clerk):
    token, secret = token_create(user=clerk, name="nightly <b>export</b>")
    assert api_status(secret) == 200
    return token, secret


def test_set_password_and_save_revokes_the_users_tokens(clerk, clerk_token):
    token, secret = clerk_token
    clerk.set_password("a-new-password-77")
    clerk.save()
    assert api_status(secret) == 401
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_reason == "the password changed"


def test_the_admins_password_form_revokes_the_users_tokens(clerk, clerk_token, admin_client):
    _, secret = clerk_token
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[clerk.pk]),
        {"password1": "Another-pass-481", "password2": "Another-pass-481", "usable_password": "true"},
    )
    assert response.status_code == 302
    assert api_status(secret) == 401


def test_the_changepassword_command_revokes_the_users_tokens(clerk, clerk_token, monkeypatch):
    _, secret = clerk_token
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "Command-pass-913")
    call_command("changepassword", "clerk", stdout=io.StringIO())
    assert api_status(secret) == 401


def test_a_password_changed_behind_djangos_back_stops_the_token_too(clerk, clerk_token):
    token, secret = clerk_token
    type(clerk).objects.filter(pk=clerk.pk).update(password=make_password("raw-sql-pass-1"))
    assert api_status(secret) == 401
    token.refresh_from_db()
    assert token.revoked_at is None  # no signal saw it: the fingerprint alone refuses it
    assert token_state(token=token) == "revoked: the password changed"


def test_a_rehash_of_the_same_password_at_login_keeps_the_tokens(clerk, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
    type(clerk).objects.filter(pk=clerk.pk).update(password=make_password("pw", hasher="pbkdf2_sha1"))
    clerk.refresh_from_db()
    _, secret = token_create(user=clerk, name="script")
    old_hash = clerk.password

    response = Client(REMOTE_ADDR="10.9.0.2").post(
        "/admin/login/", {"username": "clerk", "password": "pw", "next": "/admin/"}
    )

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.password != old_hash and clerk.password.startswith("md5$")  # upgraded
    assert api_status(secret) == 200


def test_an_administrator_revokes_every_token_of_a_user_at_once(clerk, staff_user, admin_client):
    _, first = token_create(user=clerk, name="one")
    _, second = token_create(user=clerk, name="two")
    _, others = token_create(user=staff_user("other"), name="theirs")

    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "revoke_api_tokens", "_selected_action": [clerk.pk]},
        follow=True,
    )

    assert "Revoked 2 token(s)." in response.content.decode()
    assert (api_status(first), api_status(second), api_status(others)) == (401, 401, 200)
    assert set(ApiToken.objects.filter(user=clerk).values_list("revoked_reason", flat=True)) == {
        "revoked by an administrator"
    }


def test_a_token_is_refused_from_an_address_where_its_user_is_locked_out(clerk, clerk_token, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _, secret = clerk_token
    for _ in range(3):
        Client(REMOTE_ADDR="10.9.9.9").post("/admin/login/", {"username": "clerk", "password": "wrong"})

    refused = Client(REMOTE_ADDR="10.9.9.9").get(API, headers={"Authorization": f"Bearer {secret}"})

    assert refused.status_code == 429
    assert "locked" in refused.json()["error"]
    assert api_status(secret, ip="10.9.9.10") == 200  # elsewhere it still works


# --- creating a token asks for the password again --------------------------------------


def create_in_admin(client, **fields):
    return client.post(reverse("admin:tokens_apitoken_add"), {"name": "script", **fields})


def test_creating_a_token_without_the_password_is_refused(clerk, logged_in):
    client = logged_in(clerk)
    assert "This field is required" in create_in_admin(client).content.decode()
    assert "your password is not correct" in create_in_admin(client, password="guess").content.decode()
    assert not ApiToken.objects.exists()
    assert create_in_admin(client, password="pw").context["secret"].startswith("iet_")
    assert ApiToken.objects.count() == 1


# --- /account/tokens/: everyone's own tokens, staff or not -------------------------------


def sign_in(username: str, password: str = "pw") -> Client:
    client = Client(REMOTE_ADDR="10.9.1.1", enforce_csrf_checks=False)
    response = client.post(reverse("account:login"), {"username": username, "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("account:tokens")
    return client


def test_a_user_who_cannot_reach_the_admin_lists_and_revokes_their_own_tokens(django_user_model, clerk):
    analyst = django_user_model.objects.create_user("analyst", password="pw")  # not staff
    mine, secret = token_create(user=analyst, name="<script>alert(1)</script>")
    _, theirs = token_create(user=clerk, name="clerk's job")
    client = sign_in("analyst")
    assert client.get("/admin/").status_code == 302  # no admin for them

    page = client.get(reverse("account:tokens")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert mine.prefix in page and "clerk" not in page

    response = client.post(reverse("account:tokens"), {"token": str(mine.pk)})
    assert response.status_code == 302
    assert (api_status(secret), api_status(theirs)) == (401, 200)
    assert "revoked: revoked by its user" in client.get(reverse("account:tokens")).content.decode()


def test_nobody_revokes_someone_elses_token_from_their_page(django_user_model, clerk):
    django_user_model.objects.create_user("analyst", password="pw")
    token, secret = token_create(user=clerk, name="clerk's job")
    response = sign_in("analyst").post(reverse("account:tokens"), {"token": str(token.pk)})
    assert response.status_code == 400 and "no active token of yours" in response.content.decode()
    assert api_status(secret) == 200


def test_the_token_page_needs_a_login_and_the_csrf_token(django_user_model):
    analyst = django_user_model.objects.create_user("analyst", password="pw")
    _, secret = token_create(user=analyst, name="script")
    anonymous = Client().get(reverse("account:tokens"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("account:login"))

    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.post(reverse("account:tokens"), {"token": "all"}).status_code == 403
    assert api_status(secret) == 200


def test_a_staff_user_who_loses_admin_access_keeps_the_page_and_revokes_all(clerk):
    _, first = token_create(user=clerk, name="one")
    _, second = token_create(user=clerk, name="two")
    clerk.is_staff = False
    clerk.save()

    client = sign_in("clerk")
    assert "one" in client.get(reverse("account:tokens")).content.decode()
    client.post(reverse("account:tokens"), {"token": "all"})

    assert (api_status(first), api_status(second)) == (401, 401)
