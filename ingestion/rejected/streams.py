"""Rejected rows as a CSV that streams: read in primary-key chunks, written as they are read.

Used by ``GET /api/rejected.csv`` and by the admin's CSV export of rejected rows
(``StreamedExportMixin``), so a million rows leave in bounded memory and the first bytes
leave at once. The columns and their text are those of ``RejectedInvoiceResource`` (the
admin's XLSX export; a test holds both to the same cells), made formula-safe by the one
export rule in ``warehouse.exports``. XLSX cannot stream: above ``EXPORT_XLSX_MAX_ROWS``
rows it is refused with a message pointing to CSV.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from import_export.formats import base_formats

if TYPE_CHECKING:  # what the mixin is mixed into
    from import_export.admin import ExportActionModelAdmin as _ExportAdminBase
else:
    _ExportAdminBase = object

from ingestion.admin.exports import REJECTED_EXPORT_COLUMNS, RejectedInvoiceResource
from ingestion.pipeline.columns import RAW_COLUMNS
from warehouse.exports import cell_neutralise
from warehouse.rejected import rejected_chunks

XLSX_TOO_MANY_ROWS = (
    "{rows:,} rows are more than an XLSX export holds here ({limit:,}): export them as CSV,"
    " which streams any number of rows."
)
_FIELDS = (
    "id",
    "batch_id",
    "file_name",
    "source_row",
    "reason",
    "detail",
    "raw_record",
    "created_at",
    "resolved_at",
)
_DATETIME = "%Y-%m-%d %H:%M:%S"


def _cells(safe=cell_neutralise):
    """A function from a row read as ``_FIELDS`` to its cells in ``REJECTED_EXPORT_COLUMNS``
    order (the resource's text for each: formula-safe text, local times, empty for None)."""
    tz = timezone.get_current_timezone()
    seen: dict = {}  # a load writes its rows with one timestamp: format each time once

    def when(value) -> str:
        if value is None:
            return ""
        text = seen.get(value)
        if text is None:
            if len(seen) > 1000:
                seen.clear()
            text = seen[value] = value.astimezone(tz).strftime(_DATETIME)
        return text

    def text(value) -> str:
        if value is None:
            return ""
        return safe(value if value.__class__ is str else str(value))

    def cells(row) -> list:
        row_id, batch_id, file_name, source_row, reason, detail, raw, created, resolved = row
        get = (raw or {}).get
        return [
            row_id,
            batch_id,
            text(file_name),
            source_row,
            text(reason),
            text(detail),
            *[text(get(column)) for column in RAW_COLUMNS],
            when(created),
            when(resolved),
        ]

    return cells


def rejected_csv_lines(*, queryset, fields: list[str] | None = None, chunk_size: int = 5000):
    """The header, then one encoded block of CSV lines per chunk of rows read."""
    resource = RejectedInvoiceResource()
    selected = [n for n in REJECTED_EXPORT_COLUMNS if not fields or n in fields]
    picks = [REJECTED_EXPORT_COLUMNS.index(n) for n in selected]
    whole = picks == list(range(len(REJECTED_EXPORT_COLUMNS)))
    cells = _cells()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(resource.get_export_headers(selected_fields=selected))
    for rows in rejected_chunks(queryset=queryset, fields=_FIELDS, chunk_size=chunk_size):
        lines = map(cells, rows)
        writer.writerows(lines if whole else ([line[i] for i in picks] for line in lines))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def rejected_csv_response(
    *, queryset, filename: str, fields: list[str] | None = None
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        rejected_csv_lines(queryset=queryset, fields=fields), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass the stream on as it comes
    return response


class StreamedExportMixin(_ExportAdminBase):
    """For ``RejectedInvoiceAdmin``: its CSV export streams; XLSX is capped (with a message)."""

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        if not self.has_export_permission(request):
            raise PermissionDenied
        if isinstance(file_format, base_formats.CSV):
            return rejected_csv_response(
                queryset=queryset,
                filename=self.get_export_filename(request, queryset, file_format),
                fields=self.get_export_resource_fields_from_form(export_form),
            )
        rows, limit = queryset.count(), settings.EXPORT_XLSX_MAX_ROWS
        if rows > limit:
            self.message_user(request, XLSX_TOO_MANY_ROWS.format(rows=rows, limit=limit), messages.ERROR)
            return redirect(request.get_full_path())
        return super()._do_file_export(file_format, request, queryset, export_form=export_form)
