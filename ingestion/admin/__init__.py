"""Admin for loads: the batch history (``batches``) and the rejected-rows workbench
(``rejected``); ``display`` and ``wording`` hold how both present things."""

from ingestion.admin.batches import LoadBatchAdmin
from ingestion.admin.rejected import RejectedInvoiceAdmin

__all__ = ["LoadBatchAdmin", "RejectedInvoiceAdmin"]
