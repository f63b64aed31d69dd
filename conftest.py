from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SEED_FILE = ROOT.parent / "shared" / "data" / "seed_input.csv"


@pytest.fixture
def seed_file() -> Path:
    if not SEED_FILE.exists():
        pytest.fail(f"reference export missing: {SEED_FILE}")
    return SEED_FILE


@pytest.fixture
def reference_data(django_db_blocker):
    """The dimension rows the data migration creates (transactional tests flush them)."""
    from warehouse.models import Customer, Item, Status
    from warehouse.reference import reference_data_create

    with django_db_blocker.unblock():
        reference_data_create(customer_model=Customer, item_model=Item, status_model=Status)
