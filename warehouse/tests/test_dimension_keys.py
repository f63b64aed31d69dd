"""Customers, items and statuses are one row per key, ignoring letter case, however written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from warehouse.models import Customer, Item, Status

pytestmark = pytest.mark.django_db


def admin_import(client, model: str, content: str):
    """Preview then confirm, as a user does; returns the confirmation's response."""
    url = reverse(f"admin:warehouse_{model}_import")
    form = client.get(url).context["form"]
    fmt = next(v for v, label in form.fields["format"].choices if str(label).lower() == "csv")
    preview = client.post(url, {"format": fmt, "import_file": SimpleUploadedFile("d.csv", content.encode())})
    assert preview.status_code == 200 and "confirm_form" in preview.context, preview.content[:800]
    return client.post(
        reverse(f"admin:warehouse_{model}_process_import"), preview.context["confirm_form"].initial
    )


def test_an_item_imported_in_another_letter_case_is_the_existing_item(admin_client):
    before = Item.objects.count()

    response = admin_import(
        admin_client, "item", "item_description\napi access\n  API   ACCESS \nNew Thing\nnew thing\n"
    )

    assert response.status_code == 302
    assert Item.objects.count() == before + 1  # only "New Thing"
    assert list(
        Item.objects.filter(item_description__iexact="api access").values_list("item_description", flat=True)
    ) == ["API Access"]
    assert list(
        Item.objects.filter(item_description__iexact="new thing").values_list("item_description", flat=True)
    ) == ["New Thing"]


def test_customers_and_statuses_imported_in_lower_case_match_the_existing_rows(admin_client):
    customers, statuses = Customer.objects.count(), Status.objects.count()

    admin_import(admin_client, "customer", "customer_id,customer_name\nc-100,Acme Corporation\n")
    admin_import(admin_client, "status", "status_name\npaid\n")

    assert (Customer.objects.count(), Status.objects.count()) == (customers, statuses)
    assert Customer.objects.get(customer_id="C-100").customer_name == "Acme Corporation"


@pytest.mark.parametrize(
    ("model", "field", "existing", "twin"),
    [
        (Item, "item_description", "API Access", "api access"),
        (Customer, "customer_id", "C-100", "c-100"),
        (Status, "status_name", "PAID", "Paid"),
    ],
)
def test_the_database_refuses_a_key_that_differs_only_in_letter_case(model, field, existing, twin):
    assert model.objects.filter(**{field: existing}).exists()
    extra = {"customer_name": "Twin"} if model is Customer else {}
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**{field: twin}, **extra)


def test_the_admin_form_names_the_existing_key(admin_client):
    response = admin_client.post(reverse("admin:warehouse_item_add"), {"item_description": "cloud STORAGE"})
    assert response.status_code == 200
    assert "already exists as &#x27;Cloud Storage&#x27;" in response.content.decode()
