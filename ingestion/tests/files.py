"""Invoice exports written by tests: the load contract's header line, then the rows given.

A row is a line as it stands in the file (``str``) or its fields (a sequence), joined as
given: nothing is quoted, so a test writes its own quotes and its own malformed lines.
Workbooks are written sheet by sheet, as given. The module imports no Django at its top,
so that ``hostile`` still runs as a plain script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook

from ingestion.pipeline.columns import RAW_COLUMNS

if TYPE_CHECKING:
    from warehouse.models import LoadBatch

HEADER = ",".join(RAW_COLUMNS)


def invoices_csv(*rows: str | Sequence, columns: Sequence[str] = RAW_COLUMNS, delimiter: str = ",") -> str:
    """The text of an export: the header, then a line a row, each line ending in ``\\n``."""
    lines = [row if isinstance(row, str) else delimiter.join(map(str, row)) for row in rows]
    return "".join(f"{line}\n" for line in [delimiter.join(columns), *lines])


def write_invoices(
    folder: Path,
    *rows: str | Sequence,
    name: str = "invoices.csv",
    columns: Sequence[str] = RAW_COLUMNS,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """``invoices_csv`` written to ``folder / name`` (its folders made); the file's path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(invoices_csv(*rows, columns=columns, delimiter=delimiter).encode(encoding))
    return path


def write_workbook(path: Path, sheets: dict[str, list[list]], build: Callable | None = None) -> Path:
    """An XLSX of the sheets given (title -> rows), in order; ``build(sheet)`` adds to each."""
    book = Workbook()
    assert book.active is not None  # a new workbook's one sheet
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for r in rows:
            sheet.append(r)
        if build:
            build(sheet)
    book.save(path)
    return path


def ingest(path: Path, **kwargs) -> LoadBatch:
    """Record ``path`` as a batch (``kwargs``: ``batch_create``'s) and load it; the batch as it ended."""
    from ingestion.batches.services import batch_create, invoice_file_ingest

    return invoice_file_ingest(batch_id=batch_create(path=path, **kwargs).pk)
