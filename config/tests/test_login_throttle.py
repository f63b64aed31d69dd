"""Failed logins are throttled per (username, client address) and per address (django-axes);
never per username alone, so an attacker cannot lock a user out from elsewhere."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.vendor_neutral]  # django-axes' counting: runs once

LOGIN = "/admin/login/"
LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="right-password-1", is_staff=True)


def login(username: str, password: str, *, ip: str = "10.0.0.1", **headers):
    client = Client(REMOTE_ADDR=ip, **headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, client


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_the_right_password_logs_in(alice):
    assert logged_in(login("alice", "right-password-1")[0])


def test_after_the_limit_even_the_right_password_is_refused_with_a_message(alice):
    answers = [login("alice", "wrong")[0].status_code for _ in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]  # the form with its error, then the lockout

    response, client = login("alice", "right-password-1")

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins for alice" in text and "Access attempts" in text
    assert client.get("/admin/").status_code == 302  # not logged in


def test_failures_from_one_address_never_lock_the_user_out_from_another(alice):
    for _ in range(5):
        login("alice", "wrong", ip="10.0.1.1")
    assert login("alice", "right-password-1", ip="10.0.1.1")[0].status_code == 429
    assert logged_in(login("alice", "right-password-1", ip="10.0.2.1")[0])


def test_failures_spread_over_addresses_lock_no_address_of_the_user(alice):
    for n in range(LIMIT):
        login("alice", "wrong", ip=f"10.0.1.{n}")
    assert logged_in(login("alice", "right-password-1", ip="10.0.2.1")[0])


def test_a_correct_password_from_a_locked_address_is_refused_without_counting_as_a_failure(alice):
    for _ in range(LIMIT):
        login("alice", "wrong", ip="10.0.5.5")
    failures = AccessAttempt.objects.get(username="alice", ip_address="10.0.5.5").failures_since_start

    for _ in range(4):
        assert login("alice", "right-password-1", ip="10.0.5.5")[0].status_code == 429

    assert AccessAttempt.objects.get(username="alice", ip_address="10.0.5.5").failures_since_start == failures
    assert not AccessAttempt.objects.filter(username="alice").exclude(ip_address="10.0.5.5").exists()
    assert logged_in(login("alice", "right-password-1", ip="10.0.6.6")[0])


def test_one_address_is_locked_whatever_username_it_tries(alice, django_user_model):
    django_user_model.objects.create_user("bob", password="bob-password-1", is_staff=True)
    for n in range(LIMIT):
        login(f"guess{n}", "wrong", ip="10.0.3.3")
    assert login("bob", "bob-password-1", ip="10.0.3.3")[0].status_code == 429
    assert logged_in(login("bob", "bob-password-1", ip="10.0.3.4")[0])


def test_a_success_before_the_limit_starts_the_count_again(alice):
    for _ in range(LIMIT - 1):
        login("alice", "wrong")
    assert logged_in(login("alice", "right-password-1")[0])
    for _ in range(LIMIT - 1):
        login("alice", "wrong")
    assert logged_in(login("alice", "right-password-1")[0])


def test_behind_a_proxy_the_forwarded_client_address_counts(alice, settings):
    settings.LOGIN_PROXY_COUNT = 1
    for n in range(LIMIT):  # a client cannot escape by forging the left part of the header
        login(f"guess{n}", "wrong", ip="127.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 10.0.4.4")
    assert (
        login("alice", "right-password-1", ip="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.4.4")[0].status_code
        == 429
    )
    assert logged_in(login("alice", "right-password-1", ip="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.4.5")[0])


def test_an_admin_sees_the_lockout_and_lifts_it(alice, admin_client):
    for _ in range(LIMIT):
        login("alice", "wrong")

    page = admin_client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert page.status_code == 200 and "alice" in page.content.decode()

    ids = [str(pk) for pk in AccessAttempt.objects.filter(username="alice").values_list("pk", flat=True)]
    admin_client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert logged_in(login("alice", "right-password-1")[0])
