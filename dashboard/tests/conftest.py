from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from warehouse.tests.factories import known_warehouse_create


@pytest.fixture
def known(db):
    return known_warehouse_create()


@pytest.fixture
def user_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="analyst", password="pw-analyst-123")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=("view_sales", "view_loadbatch"))
    )  # reads sales figures and batches
    client.force_login(user)
    return client


SEED = Path(__file__).resolve().parents[2].parent / "shared/data/seed_input.csv"


@pytest.fixture
def seeded_warehouse(reference_data):
    """The reference export loaded through the real pipeline (transactional tests only)."""
    from ingestion.services import batch_create, invoice_file_ingest

    if not SEED.exists():
        pytest.skip(f"reference export missing: {SEED}")
    batch = invoice_file_ingest(batch_id=batch_create(path=SEED).pk)
    assert batch.status == "succeeded", batch.error
    return batch


@pytest.fixture
def browser_login(django_user_model, live_server):
    """A superuser's session cookie for the live server (logged in the Django way)."""
    from django.test import Client

    client = Client()
    client.force_login(django_user_model.objects.create_superuser("analyst", "a@example.com", "pw-a-123"))
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
