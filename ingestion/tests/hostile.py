"""Files built to hurt, and files as people really write them: generated, never committed.

Each generator writes into a folder it is given and returns the path. Sizes are
parameters: the tests use sizes that prove the bound in seconds; the figures in
docs/loading.md come from the full sizes (``python -m ingestion.tests.hostile DIR``).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from ingestion.tests.files import HEADER

GOOD_ROW = "INV-{n},2023-05-01,C-100,Acme,API Access,1,5.00,5.00,Paid"
BLOCK = 1 << 20
GB = 1_000_000_000

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def _inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def _xlsx_write(path: Path, sheet_parts) -> Path:
    """A minimal workbook whose one sheet is written from an iterator of text pieces (streamed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for piece in sheet_parts:
                sheet.write(piece.encode() if isinstance(piece, str) else piece)
    return path


def xlsx_one_huge_cell(folder: Path, size: int = 1_150_000_000) -> Path:
    """A small XLSX whose sheet inflates to ``size`` bytes in one cell."""

    def parts():
        yield _SHEET_START + _inline_row(1, HEADER.split(","))
        yield '<row r="2"><c r="A2" t="inlineStr"><is><t>'
        for _ in range(size // BLOCK):
            yield b"A" * BLOCK
        yield "</t></is></c></row>" + _SHEET_END

    return _xlsx_write(folder / "one-huge-cell.xlsx", parts())


# A sheet's XML, rejected as a whole: name -> (its DOCTYPE, the second row's cells).
_ENTITY_LEVELS = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 9))
SHEET_XML_HOSTILE = {
    # "billion laughs": one cell naming an entity that expands to 10^8 x 100 bytes
    "entity-bomb": (
        f'<!DOCTYPE worksheet [<!ENTITY e0 "{"A" * 100}">{_ENTITY_LEVELS}]>',
        '<c r="A2" t="inlineStr"><is><t>&e8;</t></is></c>',
    ),
    # an external entity naming a file of the machine: never read
    "external-entity": (
        '<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/hostname">]>',
        '<c r="A2" t="inlineStr"><is><t>&secret;</t></is></c>',
    ),
    "malformed": ("", '<c r="A2" t="inlineStr"><is><t>INV-1</t></is></c><c r="B2"'),
    "not-a-number": ("", '<c r="A2" t="n"><v>twelve</v></c>'),
}


def xlsx_sheet_xml(folder: Path, name: str) -> Path:
    """A small XLSX whose sheet XML is ``SHEET_XML_HOSTILE[name]``: a header, then that row."""
    doctype, cells = SHEET_XML_HOSTILE[name]
    start = _SHEET_START.replace("?>", "?>" + doctype, 1)
    sheet = [start + _inline_row(1, HEADER.split(",")), f'<row r="2">{cells}</row>', _SHEET_END]
    return _xlsx_write(folder / f"{name}.xlsx", iter(sheet))


def xlsx_blank_rows(folder: Path, size: int = 1_150_000_000, *, numbered: bool = True) -> Path:
    """An XLSX holding ``size`` bytes of blank (styled, empty) rows under a header.

    Unnumbered rows (the row number is optional in the format) are quicker to write.
    """
    row = '<row r="{n}"><c r="A{n}" s="0"/><c r="B{n}" s="0"/><c r="C{n}" s="0"/></row>'
    plain = ('<row><c s="0"/><c s="0"/><c s="0"/></row>' * 1000).encode()

    def parts():
        yield _SHEET_START + _inline_row(1, HEADER.split(","))
        written, n = 0, 2
        while written < size:
            piece = "".join(row.format(n=n + i) for i in range(1000)).encode() if numbered else plain
            n += 1000
            written += len(piece)
            yield piece
        yield _SHEET_END

    return _xlsx_write(folder / "blank-rows.xlsx", parts())


def _stream(path: Path, head: bytes, unit: bytes, size: int, tail: bytes = b"") -> Path:
    block = unit * max(1, BLOCK // len(unit))
    with open(path, "wb") as out:
        out.write(head)
        written = 0
        while written < size:
            out.write(block)
            written += len(block)
        out.write(tail)
    return path


def csv_one_line_of_fields(folder: Path, size: int = 2 * GB) -> Path:
    """One line of ``A,A,A,...``: no header, no end."""
    return _stream(folder / "one-line-fields.csv", b"", b"A,", size)


def csv_one_line_no_delimiter(folder: Path, size: int = 2 * GB) -> Path:
    return _stream(folder / "one-line-no-delimiter.csv", b"", b"A", size)


def csv_one_huge_row(folder: Path, size: int = 2 * GB) -> Path:
    """A header, then one data row whose description is ``size`` bytes long."""
    head = (HEADER + "\nINV-1,2023-05-01,C-100,Acme,").encode()
    return _stream(folder / "one-huge-row.csv", head, b"A", size, b",1,5.00,5.00,Paid\n")


ALL = {
    "xlsx-one-huge-cell": xlsx_one_huge_cell,
    "xlsx-blank-rows": xlsx_blank_rows,
    "csv-one-line-of-fields": csv_one_line_of_fields,
    "csv-one-line-no-delimiter": csv_one_line_no_delimiter,
    "csv-one-huge-row": csv_one_huge_row,
}

if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or ALL:
        print(ALL[name](target))
