"""XLSX through openpyxl, streamed: only the current row of the sheet is held."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from lxml import etree

from ingestion.pipeline import errors
from ingestion.pipeline.readers.options import ReadOptions
from ingestion.pipeline.readers.workbook import blank, merged, parts_check, sheet_choose, workbook_frames

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _xlsx_merges(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of every merged range, read as a stream."""
    merges: list[tuple[int, int, int, int]] = []
    carry = b""
    with archive.open(part) as source:
        while block := source.read(1 << 20):
            text = carry + block
            merges.extend(
                (int(m[2]), _column_number(m[1]), int(m[4]), _column_number(m[3]))
                for m in _MERGE.finditer(text)
            )
            carry = text[-200:] if len(text) > 200 else text
            if merges and carry:
                carry = carry[carry.rfind(b">") + 1 :]
    return sorted(set(merges))


def _openpyxl_rows(worksheet, merges) -> Iterator[tuple[int, list]]:
    """Rows of a read-only sheet, streamed with only the current row held.

    Formulas without a saved result read as ``=formula``; rows with no value are not
    parsed cell by cell (a sheet of blank, formatted rows costs only its XML).
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, ROW_TAG, VALUE_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS

    has_value = etree.XPath("boolean(m:c/m:v | m:c/m:is | m:c/m:f)", namespaces={"m": SHEET_MAIN_NS})

    class Parser(WorkSheetParser):
        row_counter: int
        col_counter: int

        def parse_cell(self, element):
            try:
                cell = super().parse_cell(element)
            except (ValueError, TypeError) as exc:  # e.g. a number cell whose value is not one
                problem = f"cell {element.get('r') or '?'}: {exc}"
                raise errors.FileRejected(errors.FILE_BAD_XLSX.format(error=problem)) from None
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
        yield from merged(rows, merges)


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

    # openpyxl.reader.excel imports the class by name; its stubs do not declare that name.
    original, excel.ReadOnlyWorksheet = excel.ReadOnlyWorksheet, Sheet  # type: ignore[attr-defined]
    try:
        return load_workbook(handle, read_only=True, data_only=True)
    finally:
        excel.ReadOnlyWorksheet = original  # type: ignore[attr-defined]


def xlsx_check(path: Path, limits, *, kind: str) -> None:
    """That the workbook's parts stay within the limits (what an upload checks first)."""
    parts_check(path, limits)


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
            return any(not blank(v) for _, v in _openpyxl_rows(sheets[i], []))

        sheet = sheets[sheet_choose([s.title for s in sheets], non_empty, options)]
        merges = _xlsx_merges(book._archive, sheet._worksheet_path)
        yield from workbook_frames(_openpyxl_rows(sheet, merges), options)
    except (etree.LxmlError, zipfile.BadZipFile) as exc:  # a sheet's XML malformed, or refused
        # (an entity expanding past libxml2's limit; an external entity, never resolved)
        raise errors.FileRejected(errors.FILE_BAD_XLSX.format(error=exc)) from None
    finally:
        book.close()
        handle.close()
