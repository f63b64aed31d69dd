"""Exports that are safe to open in a spreadsheet (OWASP "CSV injection").

``cell_neutralise`` is the one rule, used by every admin export (``SafeModelResource``)
and every CSV download (``csv_cell``): control characters other than tab, line feed and
carriage return are removed (XLSX cannot hold them; the admin says how many it removed);
a text cell whose first character that is neither blank nor invisible (spaces, U+200B,
U+FEFF and the other format characters) is ``= + - @`` (ASCII, full-width U+FF1D, U+FF0B,
U+FF0D, U+FF20, or small U+FE66, U+FE62, U+FE63, U+FE6B), or that starts with a tab,
carriage return or line feed, gets a leading ``'`` so Excel and LibreOffice show it as
text instead of running it. Numbers are left alone (they stay numbers in XLSX).
django-import-export's own setting only strips a leading ``=``, so every Resource of the
project derives from ``SafeModelResource``. Importing a file we exported gives the
original text back (the ``'`` is removed again).
"""

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from import_export import resources, widgets
from import_export.formats import base_formats

if TYPE_CHECKING:  # what the mixins are mixed into
    from import_export.admin import ExportActionModelAdmin as _ExportAdminBase
    from import_export.resources import ModelResource as _ResourceBase
else:
    _ExportAdminBase = _ResourceBase = object

# ASCII, full-width and small forms
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b")
CONTROL_STARTS = ("\t", "\r", "\n")
EXPORT_FORMATS = [base_formats.CSV, base_formats.XLSX]
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = frozenset(("Cf", "Zs", "Zl", "Zp", "Cc"))
CONTROLS_REMOVED = (
    "{count:,} control character(s) removed from the exported cells (spreadsheets cannot hold them)."
)
EXPORT_BAD_FILTERS = "This list cannot be filtered by the parameters given ({params}): nothing was exported."
_removed: ContextVar[list[int] | None] = ContextVar("controls_removed", default=None)


def _first_visible(text: str) -> str:
    return next((ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE), "")


def _runs_as_formula(text: str) -> bool:
    return text.startswith(CONTROL_STARTS) or _first_visible(text) in FORMULA_STARTS


def _controls_removed(text: str) -> str:
    cleaned, count = _CONTROLS.subn("", text)
    if count and (tally := _removed.get()) is not None:
        tally[0] += count
    return cleaned


@contextlib.contextmanager
def controls_counted() -> Iterator[list[int]]:
    """``with controls_counted() as removed:`` ``removed[0]`` is how many control characters
    ``cell_neutralise`` removed inside the block."""
    tally = [0]
    token = _removed.set(tally)
    try:
        yield tally
    finally:
        _removed.reset(token)


def cell_neutralise(value):
    """``'=HYPERLINK(...)`` for ``=HYPERLINK(...)``, control characters removed; anything
    else (numbers too) unchanged."""
    if isinstance(value, str):
        value = _controls_removed(value)
        if _runs_as_formula(value):
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


class SafeExportMixin(_ResourceBase):
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


class ExportAdminMixin(_ExportAdminBase):
    """For every admin that exports: says how many control characters left the cells, and
    answers filters the list does not have with a message (not a server error)."""

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            params = ", ".join(sorted(request.GET))[:200]
            messages.error(request, EXPORT_BAD_FILTERS.format(params=params))
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The change page's Export button exports its row without saving the form first, for
        whoever may export: a viewer too (Django refuses a view-only user's post of the form)."""
        if request.method == "POST" and "_export-item" in request.POST and object_id:
            if not self.has_export_permission(request):
                raise PermissionDenied
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            return self.export_admin_action(request, self.model._default_manager.filter(pk=obj.pk))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        with controls_counted() as removed:
            data = super().get_export_data(file_format, request, queryset, **kwargs)
        if removed[0]:
            messages.warning(request, CONTROLS_REMOVED.format(count=removed[0]))
        return data
