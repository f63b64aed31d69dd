import pytest
from django.contrib.auth.models import Permission

from ingestion.tests.files import ingest
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


@pytest.fixture
def seeded_warehouse(reference_data, seed_file):
    """The reference export loaded through the real pipeline (transactional tests only)."""
    batch = ingest(seed_file)
    assert batch.status == "succeeded", batch.error
    return batch
