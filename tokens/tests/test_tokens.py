"""Personal API tokens in the admin: created by their user and shown once, stored hashed,
revoked or expired for good, never in a log line."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tokens.models import ApiToken
from tokens.services import LAST_USED_EVERY, token_create, token_digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(staff_user, logged_in):
    """A staff user with no permission at all: tokens are everyone's own business."""
    user = staff_user("clerk")
    return user, logged_in(user)


def create_in_admin(client, name: str, **fields):
    """The add form, with the user's password (``staff_user``'s "pw") asked again."""
    return client.post(reverse("admin:tokens_apitoken_add"), {"name": name, "password": "pw", **fields})


def test_a_token_is_created_in_the_admin_shown_once_and_stored_hashed(staff):
    user, client = staff
    response = create_in_admin(client, "nightly billing export")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret.startswith("iet_") and len(secret) > 40
    assert secret in response.content.decode()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.digest) == (user, "nightly billing export", token_digest(secret))
    assert secret not in {getattr(token, f.attname) for f in ApiToken._meta.fields}

    listing = client.get(reverse("admin:tokens_apitoken_changelist")).content.decode()
    page = client.get(reverse("admin:tokens_apitoken_change", args=[token.pk])).content.decode()
    assert "nightly billing export" in listing and token.prefix in listing
    assert secret not in listing and secret not in page

    api = Client().get(reverse("api:openapi-json"), headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_an_expiry_in_the_past_is_refused(staff):
    _, client = staff
    response = create_in_admin(client, "x", expires_at_0="2000-01-01", expires_at_1="00:00:00")
    assert response.status_code == 200
    assert "must be in the future" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_users_see_and_revoke_only_their_own_tokens(staff, staff_user):
    user, client = staff
    other = staff_user("other")
    theirs, _ = token_create(user=other, name="theirs")
    mine, secret = token_create(user=user, name="mine")

    listing = client.get(reverse("admin:tokens_apitoken_changelist")).content.decode()
    assert "mine" in listing and "theirs" not in listing
    assert client.get(reverse("admin:tokens_apitoken_change", args=[theirs.pk])).status_code == 302

    response = client.post(
        reverse("admin:tokens_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    refused = Client().get(reverse("api:openapi-json"), headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


def test_a_superuser_sees_every_token(staff, django_user_model, logged_in):
    user, _ = staff
    token_create(user=user, name="clerk's script")
    admin = logged_in(django_user_model.objects.create_superuser("root", "r@example.com", "pw-root-123"))
    assert "clerk&#x27;s script" in admin.get(reverse("admin:tokens_apitoken_changelist")).content.decode()


def test_a_token_has_exactly_its_users_permissions(staff):
    user, _ = staff
    _, secret = token_create(user=user, name="script")
    headers = {"Authorization": f"Bearer {secret}"}
    assert Client().get(reverse("api:batches"), headers=headers).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_loadbatch"))
    assert Client().get(reverse("api:batches"), headers=headers).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(staff):
    user, _ = staff
    token, secret = token_create(user=user, name="script")
    headers = {"Authorization": f"Bearer {secret}"}
    Client().get(reverse("api:openapi-json"), headers=headers)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    Client().get(reverse("api:openapi-json"), headers=headers)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - LAST_USED_EVERY)
    Client().get(reverse("api:openapi-json"), headers=headers)
    token.refresh_from_db()
    assert token.last_used_at > first


def test_expired_tokens_are_refused(staff):
    user, _ = staff
    _, secret = token_create(user=user, name="script", expires_at=timezone.now() + dt.timedelta(hours=1))
    headers = {"Authorization": f"Bearer {secret}"}
    assert Client().get(reverse("api:openapi-json"), headers=headers).status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Client().get(reverse("api:openapi-json"), headers=headers).status_code == 401


def test_tokens_never_reach_the_logs(staff, caplog, settings):
    settings.DEBUG = True  # the most talkative setting
    user, _ = staff
    _, secret = token_create(user=user, name="script")
    caplog.set_level(logging.DEBUG)
    for header in (f"Bearer {secret}", f"Token {secret}", f"Bearer {secret}x", f"{secret}"):
        for url in (reverse("api:batches"), reverse("api:batch_upload"), "/api/nowhere/"):
            Client().get(url, headers={"Authorization": header})
            Client().post(url, headers={"Authorization": header})
    assert caplog.records  # 401, 403, 404 and 405 answers were logged
    assert not [r for r in caplog.records if secret in r.getMessage()]
