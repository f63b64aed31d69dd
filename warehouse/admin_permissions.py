"""Who may import and export in the admin: import of a model needs its ``add`` and ``change``
permissions (an import creates and updates rows), export needs ``view`` (an export is the list,
in a file). Every admin with import or export applies ``ImportExportPermissionMixin``; the
settings give django-import-export the same defaults. An admin view taking a file (an import,
the upload) refuses a user without the permission before reading the body
(``permission_before_body``)."""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from django.http import HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt, csrf_protect

IMPORT_ACTIONS = ("add", "change")
EXPORT_ACTIONS = ("view",)
PERMISSION_DENIED = "you do not have the permission to send this"

if TYPE_CHECKING:  # what the mixin is mixed into
    from django.contrib.admin import ModelAdmin as _AdminBase
else:
    _AdminBase = object


def model_permissions(opts, actions: tuple[str, ...]) -> tuple[str, ...]:
    """``("warehouse.add_item", "warehouse.change_item")`` for ``Item._meta`` and add+change."""
    return tuple(f"{opts.app_label}.{action}_{opts.model_name}" for action in actions)


class ImportExportPermissionMixin(_AdminBase):
    """django-import-export's hooks: import needs add + change, export needs view."""

    def has_import_permission(self, request) -> bool:
        return request.user.has_perms(model_permissions(self.opts, IMPORT_ACTIONS))

    def has_export_permission(self, request) -> bool:
        return request.user.has_perms(model_permissions(self.opts, EXPORT_ACTIONS))


def permission_before_body(has_permission):
    """An admin view whose POST is refused (403) before its body is read when
    ``has_permission(request)`` is false; otherwise CSRF is checked as usual."""

    def decorator(view):
        protected = csrf_protect(view)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST" and not has_permission(request):
                # Not PermissionDenied: Django's 403 page reads the body for its CSRF token.
                return HttpResponseForbidden(PERMISSION_DENIED, content_type="text/plain")
            return protected(request, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorator
