"""The one-query permissions backend grants exactly what Django's ModelBackend grants."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.auth_backends import PermissionsInOneQueryBackend

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)  # no permission cache


@pytest.mark.parametrize(
    "kind", ["own permissions", "group permissions", "both", "none", "inactive", "superuser"]
)
def test_the_permissions_are_django_s_own(kind, django_user_model):
    user = django_user_model.objects.create_user(
        "someone", is_active=kind != "inactive", is_superuser=kind == "superuser"
    )
    if kind in ("own permissions", "both", "inactive"):
        user.user_permissions.add(*Permission.objects.filter(codename__in=("view_sales", "view_invoice")))
    if kind in ("group permissions", "both", "inactive"):
        user.groups.add(Group.objects.get(name="Data steward"))
    expected = ModelBackend().get_all_permissions(_fresh(user))
    assert PermissionsInOneQueryBackend().get_all_permissions(_fresh(user)) == expected
    if kind in ("own permissions", "group permissions", "both", "superuser"):
        assert expected  # something to compare
    if kind == "inactive":
        assert expected == set()


def test_a_user_s_permissions_are_read_in_one_query_once_per_request(django_user_model):
    user = django_user_model.objects.create_user("analyst")
    user.groups.add(Group.objects.get(name="Finance analyst"))
    user.user_permissions.add(Permission.objects.get(codename="view_loadbatch"))
    user = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("dashboard.view_sales") and user.has_perm("warehouse.view_loadbatch")
        assert not user.has_perm("warehouse.add_loadbatch")
    assert len(queries) == 1
