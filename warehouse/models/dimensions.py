"""The dimensions: customers, items and statuses, each with a natural key unique ignoring case."""

from django.db import models
from django.db.models.functions import Lower


def _folded(field: str, max_length: int) -> models.GeneratedField:
    """The natural key in lower case, unique: the database itself refuses a second key that
    differs only in letter case (``api access`` next to ``API Access``), on SQLite and MySQL."""
    return models.GeneratedField(
        expression=Lower(field),
        output_field=models.CharField(max_length=max_length),
        db_persist=True,
        unique=True,
    )


def key_twins(model, field: str, value: str) -> models.QuerySet:
    """Rows whose ``field`` the database holds equal to ``value``: equal ignoring case, or
    equal under the column's collation (MariaDB's also ignores characters such as U+200B,
    which ``iexact``'s LIKE does not), so a unique index never meets a twin we missed."""
    return model.objects.filter(models.Q(**{f"{field}__iexact": value}) | models.Q(**{field: value}))


class Customer(models.Model):
    customer_key = models.AutoField(primary_key=True)
    customer_id = models.CharField(max_length=32, unique=True)
    customer_name = models.CharField(max_length=200)
    customer_id_ci = _folded("customer_id", 32)

    class Meta:
        db_table = "dim_customer"
        ordering = ["customer_id"]

    def __str__(self):
        return f"{self.customer_id} {self.customer_name}"


class Item(models.Model):
    item_key = models.AutoField(primary_key=True)
    item_description = models.CharField(max_length=200, unique=True)
    item_description_ci = _folded("item_description", 200)

    class Meta:
        db_table = "dim_item"
        ordering = ["item_description"]

    def __str__(self):
        return self.item_description


class Status(models.Model):
    status_key = models.AutoField(primary_key=True)
    status_name = models.CharField(max_length=32, unique=True)
    status_name_ci = _folded("status_name", 32)

    class Meta:
        db_table = "dim_status"
        ordering = ["status_name"]
        verbose_name_plural = "statuses"

    def __str__(self):
        return self.status_name
