"""Exports that are safe to open in a spreadsheet (OWASP "CSV injection").

Every text cell that starts with ``= + - @``, a tab or a carriage return gets a leading
``'`` so Excel/LibreOffice show it as text instead of running it as a formula. Numbers
are left alone (they stay numbers in XLSX). django-import-export's own setting only
strips a leading ``=``, so every Resource of the project derives from ``SafeModelResource``.
Importing a file we exported gives the original text back (the ``'`` is removed again).
"""

from import_export import resources, widgets
from import_export.formats import base_formats

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_FORMATS = [base_formats.CSV, base_formats.XLSX]


def cell_neutralise(value):
    """``'=HYPERLINK(...)`` for ``=HYPERLINK(...)``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell_restore(value):
    """Undo ``cell_neutralise`` (for files the project exported itself)."""
    if (
        isinstance(value, str)
        and len(value) > 1
        and value[0] == "'"
        and value[1:].startswith(FORMULA_PREFIXES)
    ):
        return value[1:]
    return value


class SafeExportMixin:
    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, widgets.NumberWidget) and value not in (None, ""):
            return value
        return cell_neutralise(value)

    def before_import_row(self, row, **kwargs):
        for key in list(row.keys()):
            row[key] = cell_restore(row[key])
        super().before_import_row(row, **kwargs)


class SafeModelResource(SafeExportMixin, resources.ModelResource):
    pass
