"""The temporary tables of keys a re-processing works through, on the calling thread's
connection: the selected rows' ids (filled from the batch's stored selection inside the
database), and any list of ids or invoice ids it joins to. SQL only: the request that
creates a re-processing batch uses it too, in a process that never builds a frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db import connection

from ingestion.pipeline.sql import unresolved

SELECTED_TABLE = "tmp_reprocess_rows"
SELECTED_IDS = f"SELECT k FROM {SELECTED_TABLE}"  # the selected ids, once ``selection_keys_fill`` ran
_KEYS_PER_STATEMENT = 100_000  # one JSON array well under the 16 MiB packet
_TEXT_KEY = "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"  # as invoice ids compare


def _keys_table_create(cursor, name: str, *, text: bool) -> None:
    """(Re)create the connection's temporary table ``name`` of keys (column ``k``)."""
    if connection.vendor == "mysql":
        column = _TEXT_KEY if text else "BIGINT"
        cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} (k {column} PRIMARY KEY)")
    else:
        cursor.execute(f"DROP TABLE IF EXISTS temp.{name}")
        cursor.execute(f"CREATE TEMP TABLE {name} (k {'TEXT' if text else 'BIGINT'} PRIMARY KEY)")


def _json_keys(array: str, *, text: bool = False) -> tuple[str, str]:
    """The rows of a JSON array of keys (``array`` an SQL expression, which may name a table
    before it): the table to put in ``FROM`` (``j``) and its column of keys."""
    if connection.vendor == "mysql":
        kind = _TEXT_KEY if text else "BIGINT"
        return f"JSON_TABLE({array}, '$[*]' COLUMNS (k {kind} PATH '$')) j", "j.k"
    return f"json_each({array}) j", "j.value"


def json_arrays(values: list, *, per_statement: int = _KEYS_PER_STATEMENT) -> Iterator[str]:
    """``values`` as JSON arrays of at most ``per_statement`` each, one a statement (no
    per-value quoting in Python; each array well under the 16 MiB packet)."""
    for start in range(0, len(values), per_statement):
        yield json.dumps(values[start : start + per_statement], ensure_ascii=False)


def keys_rows(statement: str, keys: list, params: list, *, text: bool) -> list[tuple]:
    """Run ``statement`` once per JSON array of ``keys``, and return the rows it gives (if any):
    ``{keys}`` in it stands for the rows of the array (``FROM {keys}``, column ``{key}``);
    ``params`` go before the array's. No temporary table is filled."""
    table, key = _json_keys("%s", text=text)
    rows: list[tuple] = []
    for array in json_arrays(keys if text else [int(k) for k in keys]):
        rows += rows_fetch(statement.format(keys=table, key=key), [*params, array])
    return rows


def keys_insert(statement: str, keys: list, params: list, *, text: bool) -> None:
    """``keys_rows`` for a statement that writes."""
    keys_rows(statement, keys, params, text=text)


def keys_table(name: str, keys: list, *, text: bool) -> None:
    """(Re)create the connection's temporary table ``name`` holding ``keys``."""
    ignore = "IGNORE" if connection.vendor == "mysql" else "OR IGNORE"
    with connection.cursor() as cursor:
        _keys_table_create(cursor, name, text=text)
    keys_insert(f"INSERT {ignore} INTO {name} (k) SELECT {{key}} FROM {{keys}}", keys, [], text=text)


def selection_keys_fill(batch_id: int) -> None:
    """(Re)create the connection's table of the ids a re-processing batch selected
    (``SELECTED_IDS``), from its stored selection, inside the database (none read here)."""
    name = SELECTED_TABLE
    ignore = "IGNORE" if connection.vendor == "mysql" else "OR IGNORE"
    with connection.cursor() as cursor:
        _keys_table_create(cursor, name, text=False)
        table, key = _json_keys("r.rejected_ids")
        cursor.execute(
            f"INSERT {ignore} INTO {name} (k) SELECT {key} FROM reprocess_selection r"
            f" CROSS JOIN {table} WHERE r.batch_id = %s",
            [batch_id],
        )


def rows_fetch(statement: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def unresolved_by_load() -> list[tuple[int, int]]:
    """(batch, rows) of the unresolved rows among the selected ids (``selection_keys_fill``)."""
    return rows_fetch(
        f"SELECT j.batch_id, COUNT(*) FROM {SELECTED_TABLE} t JOIN rejected_invoices j ON j.id = t.k"
        f" WHERE {unresolved('j')} GROUP BY j.batch_id",
        [],
    )
