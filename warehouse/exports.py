"""Exports that are safe to open in a spreadsheet (OWASP "CSV injection").

``cell_neutralise`` is the one rule, used by every admin export (``SafeModelResource``)
and every CSV download (``csv_cell``): a text cell whose first non-blank character is
``= + - @`` (ASCII, or their full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20), or that
starts with a tab, carriage return or line feed, gets a leading ``'`` so Excel and
LibreOffice show it as text instead of running it. Numbers are left alone (they stay
numbers in XLSX). django-import-export's own setting only strips a leading ``=``, so
every Resource of the project derives from ``SafeModelResource``. Importing a file we
exported gives the original text back (the ``'`` is removed again).
"""

import datetime as dt
from decimal import Decimal

from import_export import resources, widgets
from import_export.formats import base_formats

FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")  # ASCII and full-width
CONTROL_STARTS = ("\t", "\r", "\n")
EXPORT_FORMATS = [base_formats.CSV, base_formats.XLSX]


def _runs_as_formula(text: str) -> bool:
    stripped = text.lstrip()
    return text.startswith(CONTROL_STARTS) or (bool(stripped) and stripped[0] in FORMULA_STARTS)


def cell_neutralise(value):
    """``'=HYPERLINK(...)`` for ``=HYPERLINK(...)``; anything else (numbers too) unchanged."""
    if isinstance(value, str) and _runs_as_formula(value):
        return "'" + value
    return value


def cell_restore(value):
    """Undo ``cell_neutralise`` (for files the project exported itself)."""
    if isinstance(value, str) and value.startswith("'") and _runs_as_formula(value[1:]):
        return value[1:]
    return value


def csv_cell(value) -> str:
    """A CSV download's cell: money with two decimals, numbers and dates as such, text made safe."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (int, float, dt.date)):
        return str(value)
    return cell_neutralise(str(value))


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
