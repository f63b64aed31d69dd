"""The rows a re-processing batch re-processes, and the rows it resolved.

A re-processing is a batch like a load (queued, run by a worker under a lease, merged
under the warehouse's write lock), whose input is rejected rows of one earlier load
instead of a file: the ids are recorded when the batch is created, and the rows still
unresolved when it runs are the ones it re-processes. Ids of several loads are split by
the worker into one batch per load.
"""

from django.db import models


class ReprocessSelection(models.Model):
    batch = models.OneToOneField(
        "warehouse.LoadBatch", on_delete=models.CASCADE, primary_key=True, related_name="reprocess"
    )
    # The load whose rejected rows these are: the merge settles them as rows of its file.
    # Null until the worker has split the selection by load (the request does not read rows).
    source_batch = models.ForeignKey(
        "warehouse.LoadBatch",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    rejected_ids = models.JSONField(help_text="The rejected rows selected, by id.")

    class Meta:
        db_table = "reprocess_selection"

    def __str__(self):
        return f"batch {self.batch_id}: {len(self.rejected_ids)} rows of batch {self.source_batch_id}"


class RejectedResolution(models.Model):
    """A rejected row that a re-processing loaded: which batch, and when.

    Kept beside the row, not on it: resolving many rows appends as many narrow rows here
    instead of growing each wide rejected row in place. A rejected row without one is
    unresolved. No database constraints, as for the rejected rows themselves (written in the
    merge's transaction while the batch row is updated from another connection).
    """

    rejected = models.OneToOneField(
        "warehouse.RejectedInvoice",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="resolution",
        db_constraint=False,
    )
    batch = models.ForeignKey(
        "warehouse.LoadBatch",
        null=True,  # the re-processing batch is gone
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
        related_name="resolved_rows",
    )
    resolved_at = models.DateTimeField()

    class Meta:
        db_table = "rejected_resolutions"

    def __str__(self):
        return f"rejected row {self.rejected_id}: resolved by batch {self.batch_id}"
