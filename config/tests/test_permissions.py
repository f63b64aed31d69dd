"""The permission model: the admin manual's table, the groups, and the guards in use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from api.permissions import CAPABILITIES, ROLES, permission_table
from warehouse.models import Customer
from warehouse.tests.factories import batch_make, known_warehouse_create, rejected_make

ROOT = Path(__file__).resolve().parents[2]
ADMIN_MANUAL = ROOT / "docs" / "admin.md"


def test_the_admin_manual_holds_the_declared_permission_table():
    assert permission_table() in ADMIN_MANUAL.read_text(encoding="utf-8")


def test_every_declared_permission_exists(db):
    declared = {p for perms in [*CAPABILITIES.values(), *ROLES.values()] for p in perms if "." in p}
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert sorted(declared - existing) == []


@pytest.mark.django_db
def test_the_migrations_create_the_groups_with_the_declared_permissions():
    """A role changed in ``ROLES`` and not in a new migration fails here (docs/development.md)."""
    migrated = {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    declared = {name: set(perms) for name, perms in ROLES.items()}
    assert migrated == declared, "api.permissions.ROLES and the groups the migrations create differ"


def test_the_roles_migrations_hold_their_data_and_import_nothing_of_the_project():
    for migration in sorted((ROOT / "dashboard" / "migrations").glob("0*.py")):
        imported = {
            node.module.split(".")[0]
            for node in ast.walk(ast.parse(migration.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module
        } | {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(migration.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert imported <= {"django", "__future__"}, migration.name


@pytest.fixture
def member(staff_user, logged_in):
    """``member(group)``: a client of a staff user in that group (and with no other permission)."""

    def make(group: str) -> Client:
        user = staff_user(group.lower().replace(" ", "-"))
        user.groups.add(Group.objects.get(name=group))
        return logged_in(user)

    return make


@pytest.mark.django_db
def test_a_finance_analyst_reads_sales_but_not_batches_or_rejected_rows(member):
    batch = known_warehouse_create()
    analyst = member("Finance analyst")

    assert analyst.get("/visualization/dashboard/").status_code == 200
    assert analyst.get("/api/sells/kpis/").status_code == 200
    assert analyst.get("/api/batches/").status_code == 403
    assert analyst.get(f"/api/batches/{batch.pk}/").json() == {
        "error": "permission required: warehouse.view_loadbatch"
    }
    assert analyst.get("/admin/warehouse/rejectedinvoice/").status_code == 403
    assert analyst.get(reverse("admin:warehouse_customer_import")).status_code == 403


@pytest.mark.django_db
def test_a_data_steward_uploads_and_imports_but_does_not_delete(member):
    steward = member("Data steward")

    assert steward.get(reverse("admin:warehouse_loadbatch_upload")).status_code == 200
    assert steward.get(reverse("admin:warehouse_item_import")).status_code == 200
    assert steward.get(reverse("admin:warehouse_rejectedinvoice_export")).status_code == 200
    item = Customer.objects.first()
    assert item is not None
    assert steward.get(reverse("admin:warehouse_customer_delete", args=[item.pk])).status_code == 403


@pytest.mark.django_db
def test_staff_without_permissions_can_neither_import_nor_export(staff_user, logged_in):
    client = logged_in(staff_user("staff"))
    batch = batch_make()
    rejected_make(batch, raw_record={"invoice_id": "SECRET-1"}, file_name="f.csv")
    upload = SimpleUploadedFile("c.csv", b"customer_id,customer_name\nC-100,Renamed\nC-900,New\n")

    response = client.post(reverse("admin:warehouse_customer_import"), {"format": "0", "import_file": upload})
    assert response.status_code == 403
    assert Customer.objects.get(customer_id="C-100").customer_name == "Acme Corp"
    assert not Customer.objects.filter(customer_id="C-900").exists()
    for model in ("rejectedinvoice", "loadbatch", "customer", "item", "status"):
        response = client.post(reverse(f"admin:warehouse_{model}_export"), {"format": "0"})
        assert response.status_code == 403, model
        assert b"SECRET-1" not in response.content


@pytest.mark.django_db
def test_import_needs_add_and_change_and_export_needs_view(django_user_model, staff_user, logged_in):
    user = staff_user("partial")
    client = logged_in(user)
    url = reverse("admin:warehouse_item_import")

    user.user_permissions.set(Permission.objects.filter(codename__in=("view_item", "add_item")))
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:warehouse_item_export")).status_code == 200

    user.user_permissions.add(Permission.objects.get(codename="change_item"))
    user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per user object
    client.force_login(user)
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_with_login_not_required_sales_are_public_and_batches_are_not(client, settings):
    settings.DASHBOARD_REQUIRE_LOGIN = False
    batch = known_warehouse_create()

    assert client.get("/visualization/dashboard/").status_code == 200
    assert client.get("/visualization/dashboard/csv/monthly.csv").status_code == 200
    assert client.get("/api/sells/customers/").status_code == 200
    assert client.get("/api/batches/").status_code == 401
    assert client.get(f"/api/batches/{batch.pk}/").status_code == 401
