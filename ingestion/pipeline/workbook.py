"""Workbooks as people write them: XLSX (openpyxl, streamed), legacy XLS and ODS (calamine).

The sheet is the one asked for, or the first that holds a value; the header is
the first of the first 20 rows naming every required column (rows above it are
titles, skipped and reported); merged cells read as their top-left value;
formulas read as their saved result (a formula with none reads as ``=...``, which
the rules reject with a message saying so); plain numbers in ``issue_date`` are
Excel serial dates when the first chunk's dates hold no text.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.tabular import ReadOptions, frame_finish, header_map, is_header

HEADER_SEARCH_ROWS = 20
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB"


def parts_check(path: Path, limits) -> None:
    """Refuse a workbook whose parts would inflate past the limits, before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # the reader says what is wrong with it
    for member in members:
        if member.file_size > limits.part_bytes:
            raise errors.FileRejected(
                errors.FILE_PART_TOO_LARGE.format(
                    part=member.filename, size=_size(member.file_size), limit=_size(limits.part_bytes)
                )
            )
        ratio = member.file_size // max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > limits.part_ratio:
            raise errors.FileRejected(
                errors.FILE_PART_RATIO.format(part=member.filename, ratio=ratio, limit=limits.part_ratio)
            )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _xlsx_merges(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of every merged range, read as a stream."""
    merges, carry = [], b""
    with archive.open(part) as source:
        while block := source.read(1 << 20):
            text = carry + block
            for m in _MERGE.finditer(text):
                merges.append((int(m[2]), _column_number(m[1]), int(m[4]), _column_number(m[3])))
            carry = text[-200:] if len(text) > 200 else text
            if merges and carry:
                carry = carry[carry.rfind(b">") + 1 :]
    return sorted(set(merges))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _blank(values: Iterable) -> bool:
    return not any(v is not None and str(v).strip() for v in values)


def _merged(rows: Iterable[tuple[int, tuple]], merges) -> Iterator[tuple[int, list]]:
    """Fill every cell of a merged range with its top-left value."""
    pending, active = list(merges), []
    for number, values in rows:
        cells = list(values)
        while pending and pending[0][0] == number:
            r0, c0, r1, c1 = pending.pop(0)
            top_left = cells[c0 - 1] if c0 - 1 < len(cells) else None
            active.append((r1, c0, c1, top_left))
        active = [a for a in active if a[0] >= number]
        for _, c0, c1, value in active:
            if len(cells) < c1:
                cells += [None] * (c1 - len(cells))
            for c in range(c0 - 1, c1):
                if cells[c] is None or cells[c] == "":
                    cells[c] = value
        yield number, cells


def _sheet_choose(names: list[str], non_empty, options: ReadOptions) -> int:
    if options.sheet is not None:
        wanted = options.sheet.strip().casefold()
        chosen = next((i for i, n in enumerate(names) if n.strip().casefold() == wanted), None)
        if chosen is None:
            raise errors.FileRejected(
                errors.FILE_NO_SHEET.format(sheet=options.sheet, names=", ".join(map(repr, names)))
            )
    else:
        chosen = next((i for i in range(len(names)) if non_empty(i)), None)
        if chosen is None:
            raise errors.FileRejected(errors.FILE_EMPTY)
    others = [n for i, n in enumerate(names) if i != chosen and non_empty(i)]
    if len(names) > 1:
        note = f"read sheet {names[chosen]!r}"
        if others:
            note += "; other sheets with data, not read: " + ", ".join(map(repr, others))
        options.notes.append(note)
    return chosen


def _serial_date(value) -> object:
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(value)
    except (OverflowError, ValueError, TypeError):
        return value


def workbook_frames(rows: Iterable[tuple[int, list]], options: ReadOptions) -> Iterator[pd.DataFrame]:
    """Chunks from (sheet row number, cell values) pairs."""
    rows = iter(rows)
    seen: list[tuple[int, list]] = []
    header = None
    for number, values in rows:
        if _blank(values):
            continue
        seen.append((number, values))
        if is_header([_cell_text(v) for v in values]) or number >= HEADER_SEARCH_ROWS:
            break
    header_at = next((i for i, (_, v) in enumerate(seen) if is_header([_cell_text(x) for x in v])), None)
    if header_at is None:
        if not seen:
            raise errors.FileRejected(errors.FILE_EMPTY)
        header_at = 0
    header_row, header = seen[header_at]
    titles = [n for n, _ in seen[:header_at]]
    if titles:
        options.notes.append(
            f"header found on row {header_row}; rows above it skipped: " + ", ".join(map(str, titles))
        )
    header = [_cell_text(v) for v in header]
    while header and not header[-1].strip():
        header.pop()
    names, extras = header_map(header)
    width = len(names)
    date_at = names.index("issue_date")
    serials: bool | None = None
    buffer: list[list] = []
    numbers: list[int] = []

    def flush():
        nonlocal serials
        if serials is None:
            dates = [r[date_at] for r in buffer if r[date_at] not in (None, "")]
            if dates:
                serials = not any(isinstance(v, str) for v in dates)
        if serials:
            for r in buffer:
                v = r[date_at]
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    r[date_at] = _serial_date(v)
        text = [[_cell_text(v) for v in r] for r in buffer]
        return frame_finish(pd.DataFrame(text, columns=names, dtype=str), extras, numbers, options.limits)

    for number, values in itertools.chain(seen[header_at + 1 :], rows):
        cells = list(values[:width])
        if _blank(cells):
            continue  # blank spreadsheet rows are layout, not records
        buffer.append(cells + [None] * (width - len(cells)))
        numbers.append(number)
        if len(buffer) >= options.chunk_rows:
            yield flush()
            buffer, numbers = [], []
    if buffer:
        yield flush()


def _openpyxl_rows(worksheet, merges) -> Iterator[tuple[int, list]]:
    """Rows of a read-only sheet, streamed with only the current row held.

    Formulas without a saved result read as ``=formula``; rows with no value are not
    parsed cell by cell (a sheet of blank, formatted rows costs only its XML).
    """
    from lxml import etree
    from openpyxl.worksheet._reader import FORMULA_TAG, ROW_TAG, VALUE_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS

    has_value = etree.XPath("boolean(m:c/m:v | m:c/m:is | m:c/m:f)", namespaces={"m": SHEET_MAIN_NS})

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                if not element.findtext(VALUE_TAG):
                    formula = element.findtext(FORMULA_TAG) or "(shared formula)"
                    cell["value"] = "=" + formula
            return cell

        def rows(self) -> Iterator[tuple[int, list]]:
            for _, element in etree.iterparse(self.source, events=("end",), tag=ROW_TAG, huge_tree=True):
                number = element.get("r")
                self.row_counter = int(float(number)) if number else self.row_counter + 1
                self.col_counter = 0
                cells = [self.parse_cell(c) for c in element] if has_value(element) else []
                element.clear()
                while element.getprevious() is not None:  # the rows already read are not kept
                    del element.getparent()[0]
                yield self.row_counter, cells

    book = worksheet.parent
    with book._archive.open(worksheet._worksheet_path) as source:
        parser = Parser(
            source,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        rows = ((number, [c["value"] for c in _cells_placed(cells)]) for number, cells in parser.rows())
        yield from _merged(rows, merges)


def _cells_placed(cells: list[dict]) -> list:
    if not cells:
        return []
    placed: list = [{"value": None}] * max(c["column"] for c in cells)
    for c in cells:
        placed[c["column"] - 1] = c
    return placed


def _workbook_open(handle):
    """openpyxl's read-only workbook, without its scan of every sheet for a size it lacks.

    The rows are read by ``_openpyxl_rows``, which needs no size; a sheet without its
    ``<dimension>`` would otherwise be parsed once more, whole, for each sheet.
    """
    from openpyxl import load_workbook
    from openpyxl.reader import excel
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self):
            self._min_column = self._min_row = 1
            self._max_column = self._max_row = None

    original, excel.ReadOnlyWorksheet = excel.ReadOnlyWorksheet, Sheet
    try:
        return load_workbook(handle, read_only=True, data_only=True)
    finally:
        excel.ReadOnlyWorksheet = original


def xlsx_chunks(path: Path, fmt, options: ReadOptions) -> Iterator[pd.DataFrame]:
    parts_check(path, options.limits)
    handle = open(path, "rb")  # noqa: SIM115 - closed with the workbook below
    try:
        book = _workbook_open(handle)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        handle.close()
        raise errors.FileRejected(errors.FILE_BAD_XLSX.format(error=exc)) from None
    try:
        sheets = book.worksheets

        def non_empty(i: int) -> bool:
            return any(not _blank(v) for _, v in _openpyxl_rows(sheets[i], []))

        sheet = sheets[_sheet_choose([s.title for s in sheets], non_empty, options)]
        merges = _xlsx_merges(book._archive, sheet._worksheet_path)
        yield from workbook_frames(_openpyxl_rows(sheet, merges), options)
    finally:
        book.close()
        handle.close()


def calamine_chunks(path: Path, fmt, options: ReadOptions) -> Iterator[pd.DataFrame]:
    """Legacy .xls and OpenDocument .ods, through calamine (whole sheet in memory: small files)."""
    from python_calamine import CalamineWorkbook

    parts_check(path, options.limits)
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        data = {}

        def non_empty(i: int) -> bool:
            if i not in data:
                data[i] = book.get_sheet_by_index(i)
            sheet = data[i]
            return sheet.height > 0 and any(not _blank(r) for r in sheet.iter_rows())

        chosen = _sheet_choose(names, non_empty, options)
        sheet = book.get_sheet_by_index(chosen)
        rows = sheet.to_python(skip_empty_area=False)
        merges = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
    except errors.FileRejected:
        raise
    except Exception as exc:  # calamine raises its own errors and plain ones alike
        label = f"a .{fmt.kind} workbook"
        raise errors.FileRejected(errors.FILE_BAD_WORKBOOK.format(label=label, error=exc)) from None
    rows = [[None if v == "" else v for v in r] for r in rows]
    yield from workbook_frames(_merged(enumerate(rows, start=1), sorted(merges)), options)


def calamine_check(path: Path, limits, *, kind: str) -> None:
    """That a legacy .xls or an .ods workbook opens, and its parts stay within the limits."""
    from python_calamine import CalamineWorkbook

    parts_check(path, limits)
    try:
        CalamineWorkbook.from_path(str(path)).close()
    except Exception as exc:  # calamine raises its own errors and plain ones alike
        label = f"a .{kind} workbook"
        raise errors.FileRejected(errors.FILE_BAD_WORKBOOK.format(label=label, error=exc)) from None
