"""Workbooks as people write them, whatever reads their cells (``xlsx_read``, ``calamine_read``).

The sheet is the one asked for, or the first that holds a value; the header is
the first of the first 20 rows naming every required column (rows above it are
titles, skipped and reported); merged cells read as their top-left value;
formulas read as their saved result (a formula with none reads as ``=...``, which
the rules reject with a message saying so); plain numbers in ``issue_date`` are
Excel serial dates when the first chunk's dates hold no text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time

import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.readers.options import ReadOptions, header_map, is_header
from ingestion.pipeline.readers.tabular import frame_finish
from warehouse.file_guard import parts_check as parts_check

HEADER_SEARCH_ROWS = 20


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def blank(values: Iterable) -> bool:
    return not any(v is not None and str(v).strip() for v in values)


def merged(rows: Iterable[tuple[int, Sequence]], merges) -> Iterator[tuple[int, list]]:
    """Fill every cell of a merged range with its top-left value."""
    pending, active = list(merges), []
    for number, values in rows:
        cells = list(values)
        while pending and pending[0][0] == number:
            _r0, c0, r1, c1 = pending.pop(0)
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


def sheet_choose(names: list[str], non_empty, options: ReadOptions) -> int:
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
        if blank(values):
            continue
        seen.append((number, values))
        if is_header([cell_text(v) for v in values]) or number >= HEADER_SEARCH_ROWS:
            break
    header_at = next((i for i, (_, v) in enumerate(seen) if is_header([cell_text(x) for x in v])), None)
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
    header = [cell_text(v) for v in header]
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
        text = [[cell_text(v) for v in r] for r in buffer]
        return frame_finish(pd.DataFrame(text, columns=names, dtype=str), extras, numbers, options.limits)

    for number, values in itertools.chain(seen[header_at + 1 :], rows):
        cells = list(values[:width])
        if blank(cells):
            continue  # blank spreadsheet rows are layout, not records
        buffer.append(cells + [None] * (width - len(cells)))
        numbers.append(number)
        if len(buffer) >= options.chunk_rows:
            yield flush()
            buffer, numbers = [], []
    if buffer:
        yield flush()
