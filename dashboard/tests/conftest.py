import datetime as dt
import random
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ingestion.tests.files import ingest
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer, Invoice, Item, Status
from warehouse.tests.factories import batch_make, known_warehouse_create


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


@pytest.fixture
def facts(reference_data):
    """430 invoices over 2024-01..2024-04 (every customer, item and status; repeated totals and
    dates, ids that differ only in case), and the aggregates built from them."""
    rng = random.Random(20)
    batch = batch_make(file_name="facts-source.csv")
    customers, items, statuses = (
        list(Customer.objects.all()),
        list(Item.objects.all()),
        list(Status.objects.all()),
    )
    rows = []
    for n in range(430):
        qty, price = rng.randint(1, 4), Decimal(rng.choice(["10.00", "99.99", "250.50", "1200.00"]))
        invoice_id = f"{'inv' if n % 7 == 0 else 'INV'}-{n // 2 if n % 7 == 0 else n:04d}"
        rows.append(
            Invoice(
                invoice_id=invoice_id,
                issue_date=dt.date(2024, 1, 1) + dt.timedelta(rng.randint(0, 120)),
                customer=rng.choice(customers),
                item=rng.choice(items),
                status=rng.choice(statuses),
                qty=qty,
                unit_price=price,
                total=price * qty,
                batch=batch,
            )
        )
    Invoice.objects.bulk_create(rows)
    daily_sales_refresh()
    return batch
