"""How a batch's run stops early, and what the batch then says (``ingestion.batches.run``)."""

BATCH_SKIPPED_NOTE = "identical to batch #{batch_id}, already loaded (use force to load again)"
BATCH_CANCELLED_ERROR = "cancelled while running"
BATCH_UNEXPECTED_ERROR = "unexpected error while loading: {error}"
BATCH_RETRYING = "queued again after a transient database error: {error}"


class BatchCancelled(Exception):
    """A user cancelled the batch while it ran."""


class LeaseLost(Exception):
    """Another run took the batch over (this run's lease had expired)."""


class BatchRetry(Exception):
    """A transient database error: the batch is queued again for another attempt."""


class AlreadyLoaded(Exception):
    """The file's content was loaded by another batch (found once the file was read)."""

    def __init__(self, batch_id: int):
        super().__init__(batch_id)
        self.batch_id = batch_id
