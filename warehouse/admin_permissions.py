"""Who may import and export in the admin: import of a model needs its ``add`` and ``change``
permissions (an import creates and updates rows), export needs ``view`` (an export is the list,
in a file). Every admin with import or export applies ``ImportExportPermissionMixin``; the
settings give django-import-export the same defaults."""

from __future__ import annotations

IMPORT_ACTIONS = ("add", "change")
EXPORT_ACTIONS = ("view",)


def model_permissions(opts, actions: tuple[str, ...]) -> tuple[str, ...]:
    """``("warehouse.add_item", "warehouse.change_item")`` for ``Item._meta`` and add+change."""
    return tuple(f"{opts.app_label}.{action}_{opts.model_name}" for action in actions)


class ImportExportPermissionMixin:
    """django-import-export's hooks: import needs add + change, export needs view."""

    def has_import_permission(self, request) -> bool:
        return request.user.has_perms(model_permissions(self.opts, IMPORT_ACTIONS))

    def has_export_permission(self, request) -> bool:
        return request.user.has_perms(model_permissions(self.opts, EXPORT_ACTIONS))
