"""The invoice table as files: a CSV that streams, and an XLSX workbook.

Both hold every invoice of the filters in the table's sort order, read in keyset chunks of
``CHUNK`` rows (``warehouse.selectors.invoices.invoices_chunks``), so memory does not grow
with the number of invoices. Their first row names the table, the currency and the filters
(``dashboard.files``); dates are ISO 8601; text cells a spreadsheet would run get a leading
``'`` (``warehouse.exports``). The CSV is sent as it is written (``StreamingHttpResponse``);
``bom=1`` starts it with the UTF-8 byte order mark for Excel. The workbook is written by
openpyxl in write-only mode (rows go to a temporary file, not to memory) and refused above
``EXPORT_XLSX_MAX_ROWS`` invoices with a message pointing to the CSV.
"""

from __future__ import annotations

import csv
import io
import tempfile

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from dashboard import files
from dashboard.access import batch_details_allowed, sales_page_required
from dashboard.invoices import (
    COLUMNS,
    DETAIL_COLUMNS,
    XLSX_TOO_MANY_ROWS,
    InvoiceForm,
    invoice_row,
    sort_refusal,
    sorted_count,
)
from warehouse.exports import cell_neutralise, csv_cell
from warehouse.selectors import invoices, sales
from warehouse.selectors.sales import DimensionNames

CHUNK = 5000
TITLE = "Invoices"
# Column names of the files (the table's headings, as identifiers).
FILE_COLUMNS = (
    "invoice_id",
    "issue_date",
    "customer_id",
    "customer_name",
    "item",
    "status",
    "qty",
    "unit_price",
    "total",
)
DETAIL_FILE_COLUMNS = ("batch_id", "file_name", "source_row")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
assert len(FILE_COLUMNS) == len(COLUMNS) + 1 and len(DETAIL_FILE_COLUMNS) == len(DETAIL_COLUMNS)


def _rows(form: InvoiceForm, dims: DimensionNames, *, details: bool):
    """Every row of the table's filters and sort, as cells, a chunk at a time."""
    queryset = invoices.invoices_filter(filters=form.sales_filter(), dims=dims)
    for chunk in invoices.invoices_chunks(
        queryset=queryset, order=form.cleaned_data["sort"], dims=dims, size=CHUNK
    ):
        sources = invoices.invoice_sources(chunk) if details else {}
        yield [invoice_row(r, dims, sources.get(r["invoice_id"])) for r in chunk]


def _columns(details: bool) -> list[str]:
    return [*FILE_COLUMNS, *(DETAIL_FILE_COLUMNS if details else ())]


def _csv_lines(form, dims, *, details: bool, bom: bool):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(files.title_row(TITLE, form.sales_filter()))
    writer.writerow(_columns(details))
    yield ((files.BOM if bom else "") + buffer.getvalue()).encode()
    for rows in _rows(form, dims, details=details):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(cell) for cell in row] for row in rows)
        yield buffer.getvalue().encode()


def _refused(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _form(request) -> tuple[InvoiceForm, DimensionNames, HttpResponse | None]:
    """The parameters, and the 400 answer they get when they are bad (or None)."""
    dims = DimensionNames.load()
    form = InvoiceForm(request.GET, dims=dims)
    if not form.is_valid():
        return form, dims, _refused(form.first_error())
    refused = sort_refusal(form.cleaned_data["sort"], sorted_count(form, dims))
    return form, dims, _refused(refused) if refused else None


@sales_page_required
def invoices_csv(request):
    form, dims, refused = _form(request)
    if refused:
        return refused
    lines = _csv_lines(form, dims, details=batch_details_allowed(request), bom=form.cleaned_data["bom"])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = files.attachment(
        files.file_name(TITLE.lower(), form.sales_filter(), "csv")
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass the stream on as it comes
    return response


def _xlsx_cell(sheet, value, money: bool = False):
    if isinstance(value, str):
        return cell_neutralise(value)
    if value is None or (isinstance(value, int) and not money):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = "#,##0.00" if money else "yyyy-mm-dd"
    return cell


@sales_page_required
def invoices_xlsx(request):
    form, dims, refused = _form(request)
    if refused:
        return refused
    filters, limit = form.sales_filter(), settings.EXPORT_XLSX_MAX_ROWS
    count = sales.sales_kpis(filters=filters, dims=dims)["invoice_count"]
    if count > limit:
        return HttpResponse(
            XLSX_TOO_MANY_ROWS.format(rows=count, limit=limit),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    details = batch_details_allowed(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(TITLE)
    sheet.append(files.title_row(TITLE, filters))
    sheet.append(_columns(details))
    money = {FILE_COLUMNS.index(c) for c in ("unit_price", "total")}
    for rows in _rows(form, dims, details=details):
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value, i in money) for i, value in enumerate(row)])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes and so removes it)
    book.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=files.file_name(TITLE.lower(), filters, "xlsx"),
        content_type=XLSX_TYPE,
    )
