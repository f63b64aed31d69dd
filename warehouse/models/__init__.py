"""All tables (names are part of the contract): star schema, batches, staging, rejected rows,
aggregates; one module per kind, every model importable from ``warehouse.models``."""

from warehouse.models.batches import LoadBatch
from warehouse.models.dimensions import Customer, Item, Status, key_twins
from warehouse.models.facts import (
    INVOICE_ID_MAX_LENGTH,
    Invoice,
    RejectedInvoice,
    RejectedInvoiceQuerySet,
    StagingInvoice,
    StagingMark,
)
from warehouse.models.reprocessing import RejectedResolution, ReprocessSelection
from warehouse.models.sales_aggregates import (
    DailySales,
    DataVersion,
    MonthlySales,
    SalesAggregate,
    WeeklySales,
)

__all__ = [
    "INVOICE_ID_MAX_LENGTH",
    "Customer",
    "DailySales",
    "DataVersion",
    "Invoice",
    "Item",
    "LoadBatch",
    "MonthlySales",
    "RejectedInvoice",
    "RejectedInvoiceQuerySet",
    "RejectedResolution",
    "ReprocessSelection",
    "SalesAggregate",
    "StagingInvoice",
    "StagingMark",
    "Status",
    "WeeklySales",
    "key_twins",
]
