"""The signed changes a batch makes to the sales aggregates, collected and applied at the end."""

from __future__ import annotations

import pandas as pd
from django.db import connection

from ingestion.pipeline import bulk, sales, sql


class SalesChanges:
    """Signed per-day changes (``ingestion.pipeline.sales``), folded to stay small."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, part: pd.DataFrame) -> None:
        self.parts.append(part)
        if len(self.parts) >= 8:  # keep memory flat: fold the changes seen so far
            self.parts = [sales.reduce(self.parts)]

    def apply(self, writer: bulk.BulkWriter, vendor: str) -> None:
        """Add the changes to both aggregate tables through a temporary table; start over."""
        if not self.parts:
            return
        total = sales.reduce(self.parts)
        self.parts = []
        with connection.cursor() as cursor:
            for statement in sql.sales_delta_table(vendor):
                cursor.execute(statement)
        writer.frame_write(
            sales.delta_table_rows(total),
            table=sql.SALES_DELTA_TABLE,
            load_sql=sql.sales_delta_load_data(),
            insert_sql=sql.SALES_DELTA_INSERT,
        )
        with connection.cursor() as cursor:
            removals = bool((total["invoice_count"] < 0).any())
            for statement in sql.sales_deltas_merge(vendor, removals=removals):
                cursor.execute(statement)
