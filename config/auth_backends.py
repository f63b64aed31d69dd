"""Django's model backend, reading a logged-in user and their permissions in one query.

Every request of a logged-in user loads the user (``get_user``, for the session) and every
sales answer checks permissions (``dashboard.access``). Django's ``ModelBackend`` does that
with three ORM queries (the user, their own permissions, their groups'); compiling them
costs more than the rest of a cached answer. This backend reads the user's row and the
permissions of a non-superuser together in one plain SQL statement, per request, as
Django does: a changed password, a deactivated account or a changed role takes effect on
the next request. Superusers, inactive and anonymous users and object permissions behave
exactly as in ``ModelBackend``; values go through the same database converters as the ORM's.
Once a process has seen a session, ``config.sessions`` reads these rows in the session's own
statement (``session_with_user_sql``) and keeps them for this request's ``get_user``.
"""

from __future__ import annotations

import threading
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.models import Field


def _tables(connection) -> dict[str, str]:
    user = get_user_model()
    quote = connection.ops.quote_name
    return {
        "user": quote(user._meta.db_table),
        "user_perms": quote(user.user_permissions.through._meta.db_table),
        "user_groups": quote(user.groups.through._meta.db_table),
        "group_perms": quote(Group.permissions.through._meta.db_table),
        "permission": quote(Permission._meta.db_table),
        "content_type": quote(ContentType._meta.db_table),
    }


def _permission_ids(t: dict[str, str]) -> str:
    """The ids of a user's own and group permissions; two ``%s``: the user's id.

    A derived table driven by the user's rows (a few index lookups): written as
    ``permission.id IN (...)`` instead, MariaDB runs the subquery once per permission of
    the whole table (93 of them), which made this the costliest statement of a cached answer.
    """
    return (
        f"SELECT permission_id FROM {t['user_perms']} WHERE user_id = %s"
        f" UNION SELECT gp.permission_id FROM {t['group_perms']} gp"
        f" JOIN {t['user_groups']} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s"
    )


def _permission_names(t: dict[str, str]) -> str:
    """Joined after ``ids``: each id's ``(ct.app_label, p.codename)``."""
    return (
        f" JOIN {t['permission']} p ON p.id = ids.permission_id"
        f" JOIN {t['content_type']} ct ON ct.id = p.content_type_id"
    )


@cache
def _permissions_sql(alias: str) -> str:
    tables = _tables(connections[alias])
    return f"SELECT ct.app_label, p.codename FROM ({_permission_ids(tables)}) ids{_permission_names(tables)}"


def _user_parts(connection) -> tuple[str, str]:
    """The user's columns with their permission's (``ct.app_label, p.codename``), and the
    joins after ``{user} u`` that add one row per permission (none: one row with NULLs);
    the joins have two ``%s``: the user's id."""
    tables = _tables(connection)
    fields = get_user_model()._meta.concrete_fields
    columns = ", ".join(f"u.{connection.ops.quote_name(_column(field))}" for field in fields)
    names = _permission_names(tables).replace(" JOIN ", " LEFT JOIN ")
    return (
        f"{columns}, ct.app_label, p.codename",
        f" LEFT JOIN ({_permission_ids(tables)}) ids ON 1 = 1{names}",
    )


def _column(field: Field) -> str:
    """A concrete field's column (only a field stored nowhere has none)."""
    if field.column is None:
        raise ImproperlyConfigured(f"{field} has no column")
    return field.column


@cache
def _user_sql(alias: str) -> tuple[str, list[str], list[tuple]]:
    """The statement reading a user's row and, one row each, their permissions (three ``%s``:
    the user's id); the user's attribute names; each column's expression and converters."""
    connection = connections[alias]
    user = get_user_model()
    fields = user._meta.concrete_fields
    columns, joins = _user_parts(connection)
    pk = connection.ops.quote_name(_column(user._meta.pk))
    sql = f"SELECT {columns} FROM {_tables(connection)['user']} u{joins} WHERE u.{pk} = %s"
    converters = []
    for field in fields:
        column = field.get_col(user._meta.db_table)
        converters.append(
            (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        )
    return sql, [field.attname for field in fields], converters


@cache
def session_with_user_sql(alias: str, session_table: str) -> str:
    """A live session's data (first column) and, in the same statement, the rows ``_user_sql``
    reads for a user: one round trip for both. Five ``%s``: the user's id three times, then
    the session's key and the present time (``config.sessions``)."""
    connection = connections[alias]
    columns, joins = _user_parts(connection)
    quote = connection.ops.quote_name
    pk = quote(_column(get_user_model()._meta.pk))
    return (
        f"SELECT s.{quote('session_data')}, {columns} FROM {quote(session_table)} s"
        f" LEFT JOIN {_tables(connection)['user']} u ON u.{pk} = %s{joins}"
        f" WHERE s.{quote('session_key')} = %s AND s.{quote('expire_date')} > %s"
    )


# The user rows read with this request's session, kept for the ``get_user`` that follows it
# in the same request (and thread); forgotten when a request starts or ends, and used once.
_kept = threading.local()


def user_rows_keep(alias: str, user_id, rows: list[tuple]) -> None:
    """Keep ``rows`` (laid out as ``_user_sql``'s) for the next ``get_user(user_id)`` on ``alias``."""
    _kept.rows = (alias, user_id, rows)


def _user_rows_forget(**kwargs) -> None:
    _kept.rows = None


def _user_rows_take(alias: str, user_id) -> list[tuple] | None:
    kept, _kept.rows = getattr(_kept, "rows", None), None
    return kept[2] if kept is not None and kept[:2] == (alias, user_id) else None


request_started.connect(_user_rows_forget, dispatch_uid="config.auth_backends.forget_started")
request_finished.connect(_user_rows_forget, dispatch_uid="config.auth_backends.forget_finished")


class PermissionsInOneQueryBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        connection = connections[user_model._default_manager.db]
        sql, attnames, converters = _user_sql(connection.alias)
        rows = _user_rows_take(connection.alias, user_id)
        if rows is None:
            with connection.cursor() as cursor:
                cursor.execute(sql, [user_id, user_id, user_id])
                rows = cursor.fetchall()
        if not rows or rows[0][0] is None:  # no such user
            return None
        values = list(rows[0][: len(attnames)])
        for index, (column, functions) in enumerate(converters):
            for function in functions:
                values[index] = function(values[index], column, connection)
        user = user_model.from_db(connection.alias, attnames, values)
        if not user.is_superuser:  # a superuser's are every permission: read when asked
            # ModelBackend's own cache attribute, which django-stubs does not declare
            user._perm_cache = {f"{app}.{codename}" for *_, app, codename in rows if codename is not None}  # type: ignore[attr-defined]
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                user_obj._perm_cache = super().get_all_permissions(user_obj)
            else:
                connection = connections[type(user_obj)._default_manager.db]
                with connection.cursor() as cursor:
                    cursor.execute(_permissions_sql(connection.alias), [user_obj.pk, user_obj.pk])
                    user_obj._perm_cache = {f"{app}.{codename}" for app, codename in cursor.fetchall()}
        return user_obj._perm_cache
