"""The dashboard's aggregate tables (kept current by loads; rebuilt by ``warehouse.aggregates``)
and the data version that keys cached answers."""

from django.db import models

from warehouse.models.dimensions import Customer, Item, Status


def _dimension_key(model, column: str):
    # Keyed like the facts, without constraints or extra indexes: the primary key covers reads.
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_column=column, db_constraint=False, db_index=False
    )


class SalesAggregate(models.Model):
    """fact_invoices summed per period x customer x item x status."""

    customer = _dimension_key(Customer, "customer_key")
    item = _dimension_key(Item, "item_key")
    status = _dimension_key(Status, "status_key")
    invoice_count = models.BigIntegerField()
    qty = models.BigIntegerField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        abstract = True


class DailySales(SalesAggregate):
    """Per day; the dashboard reads it for partial months and weekly series.

    A load adds its changes in its own transaction (``ingestion.pipeline.aggregate_changes``);
    ``warehouse.aggregates.daily_sales_refresh`` rebuilds days from the facts.
    """

    pk = models.CompositePrimaryKey("day", "customer", "item", "status")
    day = models.DateField()

    class Meta:
        db_table = "agg_daily_sales"

    def __str__(self):
        return f"{self.day}: {self.invoice_count} invoices, {self.revenue}"


class MonthlySales(SalesAggregate):
    """agg_daily_sales rolled up per month (``month`` is its first day): few rows to scan."""

    pk = models.CompositePrimaryKey("month", "customer", "item", "status")
    month = models.DateField()

    class Meta:
        db_table = "agg_monthly_sales"

    def __str__(self):
        return f"{self.month:%Y-%m}: {self.invoice_count} invoices, {self.revenue}"


class WeeklySales(SalesAggregate):
    """agg_daily_sales rolled up per ISO week (``week`` is its Monday): the weekly series."""

    pk = models.CompositePrimaryKey("week", "customer", "item", "status")
    week = models.DateField()

    class Meta:
        db_table = "agg_weekly_sales"

    def __str__(self):
        return f"{self.week:%G-W%V}: {self.invoice_count} invoices, {self.revenue}"


class DataVersion(models.Model):
    """One row: a number that changes in the transaction of every commit that changes what
    the dashboard shows (``warehouse.versions``). Cached answers are keyed by it."""

    version = models.BigIntegerField()

    class Meta:
        db_table = "warehouse_data_version"

    def __str__(self):
        return f"data version {self.version}"
