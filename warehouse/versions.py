"""The data version: one number that changes whenever what the dashboard shows may change.

Every writer of ``fact_invoices``, the sales aggregates, the dimension names or a finished
load calls ``data_version_bump()`` inside the transaction that commits the change (the
load's merge, re-processing, ``daily_sales_refresh``, a dimension row saved or deleted), so
the new number becomes visible exactly when the new data does. A reader takes the number
*before* it reads the data; an answer cached under a number is therefore never older than
that number, and cached answers (``dashboard.cache``) cannot go stale.

The bump is one statement (an upsert: a flushed table gets its row back). The first
number is random, so a database created again never meets the cached answers of an
earlier one under the same number.
"""

from __future__ import annotations

import secrets

from django.db import connection

from warehouse.models import DataVersion

_TABLE = DataVersion._meta.db_table
_ROW = 1


def version_start() -> int:
    return secrets.randbits(62)


def data_version_bump() -> None:
    """Change the data version (call it inside the transaction of the change)."""
    table = connection.ops.quote_name(_TABLE)
    if connection.vendor == "mysql":
        upsert = "ON DUPLICATE KEY UPDATE version = version + 1"
    else:
        upsert = "ON CONFLICT (id) DO UPDATE SET version = version + 1"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (id, version) VALUES (%s, %s) {upsert}", [_ROW, version_start()])


def data_version() -> int | None:
    """The current data version (None before any: then nothing may be cached).

    Read on every cached request: plain SQL, no query to compile."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {connection.ops.quote_name(_TABLE)} WHERE id = %s", [_ROW])
        row = cursor.fetchone()
    return None if row is None else row[0]


def dimension_changed(sender, **kwargs) -> None:
    """A customer, item or status saved or deleted (admin form, import, a fix from a rejected
    row): names and filter choices change. Runs in the save's transaction."""
    data_version_bump()


def code_deployed(sender, using="default", **kwargs) -> None:
    """After ``migrate`` (the image runs it at every start): a new release may answer
    differently, so answers cached by the one before are not served. (Migrated back to before
    the version's table, there is nothing to bump.)"""
    from django.db import connections

    with connections[using].cursor() as cursor:
        if _TABLE not in connections[using].introspection.table_names(cursor):
            return
        cursor.execute(f"UPDATE {connections[using].ops.quote_name(_TABLE)} SET version = version + 1")
