"""Django's model backend, reading a user's permissions in one prepared statement.

Every sales answer checks permissions (``dashboard.access``); Django's ``ModelBackend``
reads them with two ORM queries (the user's own, then their groups'), which cost more than
the rest of a cached answer. This backend reads both in one plain SQL query and caches the
set on the user for the request, as Django does; superusers, inactive and anonymous users
and object permissions behave exactly as in ``ModelBackend``.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


@cache
def _permissions_sql() -> str:
    user = get_user_model()
    quote = connection.ops.quote_name
    user_perms = quote(user._meta.get_field("user_permissions").remote_field.through._meta.db_table)
    user_groups = quote(user._meta.get_field("groups").remote_field.through._meta.db_table)
    group_perms = quote(Group._meta.get_field("permissions").remote_field.through._meta.db_table)
    permission, content_type = quote(Permission._meta.db_table), quote(ContentType._meta.db_table)
    return (
        f"SELECT ct.app_label, p.codename FROM {permission} p"
        f" JOIN {content_type} ct ON ct.id = p.content_type_id"
        f" WHERE p.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = %s"
        f" UNION SELECT gp.permission_id FROM {group_perms} gp"
        f" JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)"
    )


class PermissionsInOneQueryBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                user_obj._perm_cache = super().get_all_permissions(user_obj)
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_permissions_sql(), [user_obj.pk, user_obj.pk])
                    user_obj._perm_cache = {f"{app}.{codename}" for app, codename in cursor.fetchall()}
        return user_obj._perm_cache
