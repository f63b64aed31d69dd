"""Who is asking is read afresh on every request, cached answer or not.

The session is read in plain SQL (``config.sessions``), with the user and their permissions
in the same statement once the process has seen the session (``config.auth_backends``): a
changed password, a deactivated account, a changed role, a session ended elsewhere or
expired all take effect on the very next request, also when the answer itself comes from
the cache; and the user loaded is the ORM's own.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.permissions import ROLES
from config import sessions
from config.auth_backends import PermissionsInOneQueryBackend
from ingestion.tests.files import ingest, write_invoices

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data", "roles")]

KPIS = "/api/sells/kpis/"
PAGE = "/visualization/dashboard/"
ROW = "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100,200,Paid"


@pytest.fixture
def roles(django_db_blocker):
    """The groups the data migration creates (transactional tests flush them)."""
    with django_db_blocker.unblock():
        for name, perms in ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.set(
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in (p.split(".", 1) for p in perms)
            )


@pytest.fixture
def warehouse(reference_data, tmp_path):
    batch = ingest(write_invoices(tmp_path, ROW, name="first.csv"))
    assert batch.status == "succeeded", batch.error


@pytest.fixture
def analyst(django_user_model):
    user = django_user_model.objects.create_user("analyst", password="pw-analyst-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance analyst"))
    return user


@pytest.fixture
def browser(analyst, logged_in, warehouse):
    """The analyst's logged-in client, both answers already cached."""
    client = logged_in(analyst)
    for url in (KPIS, PAGE):
        assert client.get(url).status_code == 200
    return client


def _status(client, url=KPIS) -> int:
    return client.get(url).status_code


def test_a_cached_answer_is_one_query_for_the_session_with_its_user_and_one_for_the_version(browser):
    with CaptureQueriesContext(connection) as queries:
        assert _status(browser) == 200
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_a_session_s_first_read_in_a_process_reads_its_user_apart(browser):
    sessions._user_hints.clear()  # as in a process that has not seen this session yet
    for expected in (3, 2):
        with CaptureQueriesContext(connection) as queries:
            assert _status(browser) == 200
        assert len(queries) == expected, [q["sql"] for q in queries.captured_queries]


def test_the_user_is_the_one_the_session_names_not_the_one_remembered_for_it(
    browser, analyst, django_user_model
):
    """A remembered user id only chooses what is read with the session: here it names a
    superuser (who may see file names), and the answer is still the analyst's."""
    boss = django_user_model.objects.create_superuser("boss", password="pw-boss-123456")
    key = browser.cookies["sessionid"].value
    sessions._user_hints[key] = boss.pk
    assert "first.csv" not in browser.get(KPIS).content.decode()
    page = browser.get(PAGE).content.decode()
    assert f'class="who">{analyst.username} ' in page and "boss" not in page
    assert sessions._user_hints[key] == analyst.pk


def _set_password(user):
    user.set_password("a-new-password-456")
    user.save()


def _password_behind_django(user):
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(type(user)._meta.db_table)
        cursor.execute(f"UPDATE {table} SET password = %s WHERE id = %s", ["!unusable", user.pk])


def _deactivate(user):
    type(user).objects.filter(pk=user.pk).update(is_active=False)


def _end_session(user):
    Session.objects.all().delete()  # logged out elsewhere, or removed by an administrator


def _expire_session(user):
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))


@pytest.mark.parametrize(
    "change", [_set_password, _password_behind_django, _deactivate, _end_session, _expire_session]
)
def test_the_next_request_after_the_login_ends_is_refused(change, browser, analyst):
    change(analyst)
    assert _status(browser) == 401
    assert _status(browser, PAGE) == 302  # to the login page


def test_a_changed_role_takes_effect_on_the_next_request(browser, analyst):
    analyst.groups.clear()
    assert _status(browser) == 403
    assert _status(browser, PAGE) == 403
    analyst.groups.add(Group.objects.get(name="Finance analyst"))
    assert _status(browser) == 200
    # A permission that shapes the answer: the next one carries the batch's file name.
    assert "first.csv" not in browser.get(KPIS).content.decode()
    analyst.user_permissions.add(Permission.objects.get(codename="view_loadbatch"))
    assert "first.csv" in browser.get(KPIS).content.decode()
    Group.objects.get(name="Finance analyst").permissions.remove(
        Permission.objects.get(codename="view_sales")
    )
    assert _status(browser) == 403


@pytest.mark.parametrize("kind", ["none", "own", "group", "both", "superuser", "inactive", "missing"])
def test_the_user_loaded_is_the_orms_own_with_django_s_permissions(kind, django_user_model):
    user = django_user_model.objects.create_user(
        "someone", is_active=kind != "inactive", is_superuser=kind == "superuser", email="a@example.com"
    )
    django_user_model.objects.filter(pk=user.pk).update(last_login=timezone.now())
    if kind in ("own", "both", "inactive"):
        user.user_permissions.add(*Permission.objects.filter(codename__in=("view_sales", "view_invoice")))
    if kind in ("group", "both", "inactive"):
        user.groups.add(Group.objects.get(name="Data steward"))
    pk = user.pk + 1000 if kind == "missing" else user.pk

    expected = ModelBackend().get_user(pk)
    loaded = PermissionsInOneQueryBackend().get_user(pk)
    if expected is None:
        assert loaded is None
        return
    fields = [f.attname for f in django_user_model._meta.concrete_fields]
    assert [getattr(loaded, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert isinstance(loaded.last_login, dt.datetime) and timezone.is_aware(loaded.last_login)
    assert not loaded._state.adding and loaded._state.db == "default"
    assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(expected)
    loaded.first_name = "Saved"
    loaded.save()  # the values are the ORM's own types: saving them back changes nothing else
    again = django_user_model.objects.get(pk=pk)
    assert [getattr(again, f) for f in fields if f != "first_name"] == [
        getattr(expected, f) for f in fields if f != "first_name"
    ]
