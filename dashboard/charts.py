"""The dashboard's charts: for each, its rows (from the selectors), CSV columns and figure
(drawn from the rows and the filter, which bounds what a click drills into).

The CSV download of a chart is exactly the rows its figure is drawn from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from dashboard import comparisons, figures, files
from dashboard.compared_figure import compared_figure
from warehouse.selectors import batches, sales
from warehouse.selectors.sales import DimensionNames, SalesFilter

PENDING_TOP = 15
CUSTOMERS_TOP = 10
QUALITY_BATCHES = 10


@dataclass(frozen=True)
class Chart:
    title: str
    rows: Callable[[SalesFilter, DimensionNames], list[dict]]
    columns: tuple[str, ...]
    figure: Callable[[list[dict], SalesFilter], dict]
    drills: bool = True  # a click on a bar or point filters by it
    # The rows as shown to a reader without warehouse.view_loadbatch (no batch details).
    without_details: Callable[[dict], dict] | None = None
    compared: bool = False  # its rows carry the bars they are compared with (``comparisons``)
    # The dates its files are named after (``dashboard.files``), from its rows and the filters:
    # by default the filters'; the loads chart's the days its loads finished, so that a name
    # changes with the data it names (and so with the cached answer), never with the clock.
    file_dates: Callable[[list[dict], SalesFilter], SalesFilter] = lambda rows, filters: filters

    def file_stem(self, rows: list[dict], filters: SalesFilter) -> str:
        """Its files (the CSV, the PNG) without the extension: its title and ``file_dates``."""
        return files.file_stem(self.title.lower(), self.file_dates(rows, filters))

    def file_name(self, rows: list[dict], filters: SalesFilter, extension: str) -> str:
        """Its file of ``extension``: ``file_stem`` and the extension."""
        return files.file_name(self.title.lower(), self.file_dates(rows, filters), extension)


def chart_rows(
    chart: Chart,
    filters: SalesFilter,
    dims: DimensionNames,
    *,
    details: bool,
    comparison: comparisons.Comparison | None = None,
) -> list[dict]:
    """A chart's rows; ``details`` False: batch file names left out (``batch_details_allowed``);
    a compared chart's rows with the ``comparison`` fields (when there is one)."""
    rows = chart.rows(filters, dims)
    if chart.compared and comparison is not None:
        rows = comparisons.series_compared(rows, comparison, dims)
    return rows if details or chart.without_details is None else [chart.without_details(r) for r in rows]


def chart_columns(chart: Chart, comparison: comparisons.Comparison | None) -> tuple[str, ...]:
    """A chart's CSV columns (a compared chart's with the comparison's, when there is one)."""
    extra = comparisons.SERIES_FIELDS if chart.compared and comparison is not None else ()
    return (*chart.columns, *extra)


def _quality_rows(filters: SalesFilter, dims: DimensionNames) -> list[dict]:
    """Rejected rows per reason per recent load (batch-level: invoice filters do not apply),
    each with the day its load finished (``loaded_on``, not a CSV column)."""
    return [
        {
            "batch_id": b["id"],
            "batch": f"#{b['id']} {b['file_name']}",
            "reason": reason,
            "rejected_rows": n,
            "loaded_on": b["finished_at"] and timezone.localdate(b["finished_at"]),
        }
        for b in batches.rejections_by_batch(limit=QUALITY_BATCHES)
        for reason, n in sorted(b["reason_counts"].items())
        if n
    ]


def _loads_dates(rows: list[dict], filters: SalesFilter) -> SalesFilter:
    """The first and last day the loads of ``rows`` finished (none without rows)."""
    days = [row["loaded_on"] for row in rows if row["loaded_on"]]
    return SalesFilter(start=min(days, default=None), end=max(days, default=None))


CHARTS: dict[str, Chart] = {
    "monthly": Chart(
        "Monthly sales and cumulative revenue",
        lambda f, d: sales.sales_by_period(filters=f, period="monthly", dims=d),
        ("period", "revenue", "cumulative", "invoice_count"),
        lambda rows, f: compared_figure(figures.monthly_sales(rows, start=f.start, end=f.end), rows),
        compared=True,
    ),
    "pending": Chart(
        f"Pending amount per customer (top {PENDING_TOP})",
        lambda f, d: sales.customers_pending(filters=f, top=PENDING_TOP, dims=d),
        ("customer_id", "customer_name", "pending_amount", "invoice_count"),
        lambda rows, f: figures.pending_customers(rows),
    ),
    "customers": Chart(
        f"Top {CUSTOMERS_TOP} customers by revenue",
        lambda f, d: sales.customers_top(filters=f, top=CUSTOMERS_TOP, dims=d),
        ("customer_id", "customer_name", "revenue", "invoice_count"),
        lambda rows, f: figures.top_customers(rows),
    ),
    "status": Chart(
        "Revenue by status",
        lambda f, d: sales.sales_by_status(filters=f, dims=d),
        ("status", "revenue", "invoice_count"),
        lambda rows, f: figures.revenue_by_status(rows),
    ),
    "items": Chart(
        "Revenue by item",
        lambda f, d: sales.sales_by_item(filters=f, dims=d),
        ("item", "revenue", "invoice_count", "qty"),
        lambda rows, f: figures.revenue_by_item(rows),
    ),
    "quality": Chart(
        f"Rejected rows per reason (last {QUALITY_BATCHES} loads)",
        _quality_rows,
        ("batch_id", "batch", "reason", "rejected_rows"),
        lambda rows, f: figures.rejections(rows),
        drills=False,
        without_details=lambda row: {**row, "batch": f"#{row['batch_id']}"},
        file_dates=_loads_dates,
    ),
}
