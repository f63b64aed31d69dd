"""The Export button of a customer's, item's or status's page: it exports that row for whoever
may export (a viewer too), and never saves the form it sits in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from warehouse.models import Customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_data")]


def test_a_viewer_exports_the_row_from_its_page(staff_user, logged_in):
    viewer = logged_in(staff_user("viewer", "view_customer"))
    customer = Customer.objects.get(customer_id="C-100")

    response = viewer.post(
        reverse("admin:warehouse_customer_change", args=[customer.pk]), {"_export-item": "Export"}
    )

    assert response.status_code == 200
    assert f'value="{customer.pk}"' in response.content.decode()  # the export form, this row ticked


def test_the_export_button_does_not_save_what_was_typed(staff_user, logged_in):
    editor = logged_in(staff_user("editor", "view_customer", "change_customer"))
    customer = Customer.objects.get(customer_id="C-100")

    editor.post(
        reverse("admin:warehouse_customer_change", args=[customer.pk]),
        {"_export-item": "Export", "customer_id": "C-100", "customer_name": "Renamed by accident"},
    )

    customer.refresh_from_db()
    assert customer.customer_name != "Renamed by accident"


def test_exporting_needs_the_view_permission(staff_user, logged_in):
    nobody = logged_in(staff_user("nobody"))
    customer = Customer.objects.get(customer_id="C-100")

    response = nobody.post(
        reverse("admin:warehouse_customer_change", args=[customer.pk]), {"_export-item": "Export"}
    )

    assert response.status_code == 403
