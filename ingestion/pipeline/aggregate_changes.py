"""The signed changes a batch makes to the sales aggregates, collected and applied at the end."""

from __future__ import annotations

import pandas as pd
from django.db import connection

from ingestion.pipeline import aggregates, bulk, sql


class SalesChanges:
    """Signed per-day changes (``ingestion.pipeline.aggregates``), summed as they come."""

    def __init__(self) -> None:
        self.totals = aggregates.SalesTotals()

    def add(self, part: pd.DataFrame) -> None:
        self.totals.add(part)

    def add_totals(self, summed: aggregates.SalesTotals) -> None:
        """Changes already summed apart (``FactsMerge.chunk_made``)."""
        self.totals.add_totals(summed)

    def apply(self, writer: bulk.BulkWriter, vendor: str, *, empty: bool = False) -> None:
        """Add the changes to the aggregate tables through a temporary table; start over.

        ``empty``: the aggregate tables hold nothing yet (a first load, under the warehouse's
        write lock), so the rows are loaded into them as they are, with no merge.
        """
        total = self.totals.frame()
        self.totals = aggregates.SalesTotals()
        if total.empty:
            return
        if empty and writer.local_infile and self._load_into_empty(writer, total):
            return
        with connection.cursor() as cursor:
            for statement in sql.sales_delta_table(vendor):
                cursor.execute(statement)
        writer.frame_write(
            aggregates.delta_table_rows(total),
            table=sql.SALES_DELTA_TABLE,
            load_sql=sql.sales_delta_load_data(),
            insert_sql=sql.SALES_DELTA_INSERT,
        )
        with connection.cursor() as cursor:
            removals = bool((total["invoice_count"] < 0).any())
            for statement in sql.sales_deltas_merge(vendor, removals=removals):
                cursor.execute(statement)

    @staticmethod
    def _load_into_empty(writer: bulk.BulkWriter, total: pd.DataFrame) -> bool:
        for table, period in sql.SALES_TABLES:
            rows = total if period == "day" else aggregates.rolled_up(total, period)
            load_sql = sql.sales_load_data(table, period)
            loaded = writer.frame_write(
                aggregates.delta_table_rows(rows), table=table, load_sql=load_sql, insert_sql=None
            )
            if not loaded:  # LOAD DATA refused before anything was written: merge as usual
                return False
        return True
