"""Django's model backend, reading a logged-in user and their permissions in one query.

Every request of a logged-in user loads the user (``get_user``, for the session) and every
sales answer checks permissions (``dashboard.access``). Django's ``ModelBackend`` does that
with three ORM queries (the user, their own permissions, their groups'); compiling them
costs more than the rest of a cached answer. This backend reads the user's row and the
permissions of a non-superuser together in one plain SQL statement, per request, as
Django does: a changed password, a deactivated account or a changed role takes effect on
the next request. Superusers, inactive and anonymous users and object permissions behave
exactly as in ``ModelBackend``; values go through the same database converters as the ORM's.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
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


def _permissions_subquery(t: dict[str, str]) -> str:
    """(app_label, codename) of a user's own and group permissions; two ``%s``: the user's id."""
    return (
        f"SELECT ct.app_label, p.codename FROM {t['permission']} p"
        f" JOIN {t['content_type']} ct ON ct.id = p.content_type_id"
        f" WHERE p.id IN (SELECT permission_id FROM {t['user_perms']} WHERE user_id = %s"
        f" UNION SELECT gp.permission_id FROM {t['group_perms']} gp"
        f" JOIN {t['user_groups']} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)"
    )


@cache
def _permissions_sql(alias: str) -> str:
    return _permissions_subquery(_tables(connections[alias]))


def _column(field: Field) -> str:
    """A concrete field's column (only a field stored nowhere has none)."""
    if field.column is None:
        raise ImproperlyConfigured(f"{field} has no column")
    return field.column


@cache
def _user_sql(alias: str) -> tuple[str, list[str], list[tuple]]:
    """The statement reading a user's row and, one row each, their permissions (none: one row
    with NULLs); the user's attribute names; each column's expression and converters."""
    connection = connections[alias]
    user = get_user_model()
    fields = user._meta.concrete_fields
    tables = _tables(connection)
    columns = ", ".join(f"u.{connection.ops.quote_name(_column(field))}" for field in fields)
    pk = connection.ops.quote_name(_column(user._meta.pk))
    sql = (
        f"SELECT {columns}, perm.app_label, perm.codename FROM {tables['user']} u"
        f" LEFT JOIN ({_permissions_subquery(tables)}) perm ON 1 = 1 WHERE u.{pk} = %s"
    )
    converters = []
    for field in fields:
        column = field.get_col(user._meta.db_table)
        converters.append(
            (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        )
    return sql, [field.attname for field in fields], converters


class PermissionsInOneQueryBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        connection = connections[user_model._default_manager.db]
        sql, attnames, converters = _user_sql(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id, user_id, user_id])
            rows = cursor.fetchall()
        if not rows:
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
