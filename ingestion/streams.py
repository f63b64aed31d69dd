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
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from import_export.formats import base_formats

from ingestion.exports import RejectedInvoiceResource
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


def _text(value) -> str:
    return "" if value is None else cell_neutralise(str(value))


def _when(value) -> str:
    return "" if value is None else timezone.localtime(value).strftime(_DATETIME)


def _raw(column: str):
    return lambda row: _text((row[6] or {}).get(column))


# Resource field name -> the cell of a row read as ``_FIELDS``.
_CELLS = {
    "id": lambda row: row[0],
    "batch_id": lambda row: row[1],
    "file_name": lambda row: _text(row[2]),
    "source_row": lambda row: row[3],
    "reason": lambda row: _text(row[4]),
    "detail": lambda row: _text(row[5]),
    **{f"raw_{c}": _raw(c) for c in RAW_COLUMNS},
    "created_at": lambda row: _when(row[7]),
    "resolved_at": lambda row: _when(row[8]),
}


def rejected_csv_lines(
    *, queryset, fields: list[str] | None = None, chunk_size: int = 5000
) -> Iterator[bytes]:
    """The header, then one encoded block of CSV lines per chunk of rows read."""
    resource = RejectedInvoiceResource()
    selected = [n for n in RejectedInvoiceResource._meta.export_order if not fields or n in fields]
    cells = [_CELLS[n] for n in selected]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(resource.get_export_headers(selected_fields=selected))
    for rows in rejected_chunks(queryset=queryset, fields=_FIELDS, chunk_size=chunk_size):
        writer.writerows([cell(row) for cell in cells] for row in rows)
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


class StreamedExportMixin:
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
