"""Legacy .xls and OpenDocument .ods through python-calamine (a sheet is read whole: such
files are small; their parts are checked first all the same)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.readers.options import ReadOptions
from ingestion.pipeline.readers.workbook import blank, merged, parts_check, sheet_choose, workbook_frames


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
            return sheet.height > 0 and any(not blank(r) for r in sheet.iter_rows())

        chosen = sheet_choose(names, non_empty, options)
        sheet = book.get_sheet_by_index(chosen)
        rows = sheet.to_python(skip_empty_area=False)
        merges = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
    except errors.FileRejected:
        raise
    except Exception as exc:  # calamine raises its own errors and plain ones alike
        label = f"a .{fmt.kind} workbook"
        raise errors.FileRejected(errors.FILE_BAD_WORKBOOK.format(label=label, error=exc)) from None
    cells: list[list[object]] = [[None if v == "" else v for v in r] for r in rows]
    yield from workbook_frames(merged(enumerate(cells, start=1), sorted(merges)), options)


def calamine_check(path: Path, limits, *, kind: str) -> None:
    """That a legacy .xls or an .ods workbook opens, and its parts stay within the limits."""
    from python_calamine import CalamineWorkbook

    parts_check(path, limits)
    try:
        CalamineWorkbook.from_path(str(path)).close()
    except Exception as exc:  # calamine raises its own errors and plain ones alike
        label = f"a .{kind} workbook"
        raise errors.FileRejected(errors.FILE_BAD_WORKBOOK.format(label=label, error=exc)) from None
