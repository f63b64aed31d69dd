"""A small, hand-checkable warehouse (amounts in the comments are what the tests expect)."""

import datetime as dt
from decimal import Decimal

from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer, Invoice, Item, LoadBatch, RejectedInvoice, Status
from warehouse.versions import data_version_bump

# invoice, day, customer, item, status, qty, unit price
INVOICES = [
    ("I1", "2024-01-10", "C-100", "API Access", "PAID", 2, "100.00"),  # 200.00
    ("I2", "2024-01-15", "C-101", "Cloud Storage", "PENDING", 1, "50.50"),  # 50.50
    ("I3", "2024-02-03", "C-100", "Cloud Storage", "PROCESSING", 3, "10.00"),  # 30.00
    ("I4", "2024-02-20", "C-102", "API Access", "CANCELLED", 1, "999.99"),  # not revenue
    ("I5", "2024-03-01", "C-101", "API Access", "PENDING", 4, "25.25"),  # 101.00
    ("I6", "2024-03-31", "C-103", "Server Setup", "REFUNDED", 1, "500.00"),  # not revenue
    ("I7", "2024-03-31", "C-102", "Server Setup", "PAID", 1, "0.05"),  # 0.05
]


def batch_make(**fields) -> LoadBatch:
    defaults = {
        "file_name": "known.csv",
        "file_path": "/known.csv",
        "sha256": "0" * 64,
        "status": LoadBatch.Status.SUCCEEDED,
    }
    batch = LoadBatch.objects.create(**{**defaults, **fields})
    if batch.status == LoadBatch.Status.SUCCEEDED:
        data_version_bump()  # as the load does when it commits a finished batch
    return batch


def rejected_make(batch: LoadBatch, **fields) -> RejectedInvoice:
    """A rejected row of ``batch``: its file, row 2, created with the batch, unless given."""
    defaults = {
        "reason": "INVALID_DATE",
        "file_name": batch.file_name,
        "source_row": 2,
        "created_at": batch.created_at,
    }
    return RejectedInvoice.objects.create(batch=batch, **{**defaults, **fields})


def invoice_create(batch, invoice_id, day, customer, item, status, qty, price) -> Invoice:
    return Invoice.objects.create(
        invoice_id=invoice_id,
        issue_date=day if isinstance(day, dt.date) else dt.date.fromisoformat(day),
        customer=Customer.objects.get(customer_id=customer),
        item=Item.objects.get(item_description=item),
        status=Status.objects.get(status_name=status),
        qty=qty,
        unit_price=Decimal(price),
        total=Decimal(price) * qty,
        batch=batch,
    )


def known_warehouse_create() -> LoadBatch:
    batch = batch_make(
        rows_read=9,
        rows_loaded=7,
        rows_inserted=7,
        rows_rejected=2,
        reason_counts={"INVALID_DATE": 1, "TOTAL_MISMATCH": 1},
    )
    for row in INVOICES:
        invoice_create(batch, *row)
    daily_sales_refresh()
    return batch
