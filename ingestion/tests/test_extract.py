"""Unit tests for reading invoice files: format detection, header mapping, chunked reading.

Text fixtures live in ``fixtures/`` (each named after the defect or variant it holds);
XLSX workbooks are generated with openpyxl into ``tmp_path``.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from ingestion.pipeline import errors
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.extract import FileFormat, chunks_read, file_format_detect, header_map
from ingestion.tests import hostile
from ingestion.tests.files import invoices_csv, write_invoices

FIXTURES = Path(__file__).parent / "fixtures"
FRAME_COLUMNS = ["source_row", *RAW_COLUMNS, "extra"]
HEADER = list(RAW_COLUMNS)


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), path
    return path


def read_all(path: Path, *, chunk_rows: int = 100) -> pd.DataFrame:
    fmt = file_format_detect(path)
    chunks = list(chunks_read(path, fmt, chunk_rows=chunk_rows))
    if not chunks:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    return pd.concat(chunks, ignore_index=True)


def records(path: Path, **kwargs) -> list[dict]:
    return read_all(path, **kwargs).to_dict(orient="records")


def rejected(path: Path) -> str:
    with pytest.raises(errors.FileRejected) as info:
        read_all(path)
    return str(info.value)


def row(source_row, *values, extra=None) -> dict:
    return {"source_row": source_row, **dict(zip(RAW_COLUMNS, values, strict=True)), "extra": extra}


# --- file_format_detect -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoices-header-only.csv", FileFormat("csv", "utf-8", ",")),
        ("invoices-utf8-bom.csv", FileFormat("csv", "utf-8-sig", ",")),
        ("invoices-cp1252.csv", FileFormat("csv", "cp1252", ",")),
        ("invoices-utf16.csv", FileFormat("csv", "utf-16", ",")),
        ("invoices-semicolon.csv", FileFormat("csv", "utf-8", ";")),
        ("invoices-tab.tsv", FileFormat("csv", "utf-8", "\t")),
        ("invoices-mixed-case-headers.csv", FileFormat("csv", "utf-8", ",")),
        ("invoices-corrupt.xlsx", FileFormat("xlsx")),
        ("invoices-legacy.xls", FileFormat("xls")),
    ],
)
def test_file_format_detect(name, expected):
    assert file_format_detect(fixture(name)) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invoices-empty.csv", errors.FILE_EMPTY),
        ("invoices-whitespace-only.csv", errors.FILE_EMPTY),
        ("invoices-binary.bin", errors.FILE_BINARY),
    ],
)
def test_file_format_detect_rejects(name, message):
    with pytest.raises(errors.FileRejected) as info:
        file_format_detect(fixture(name))
    assert str(info.value) == message


def test_empty_fixture_is_really_empty():
    assert fixture("invoices-empty.csv").stat().st_size == 0


@pytest.mark.parametrize(
    ("source", "disguise", "outcome"),
    [
        ("invoices-binary.bin", "invoices.csv", errors.FILE_BINARY),
        ("invoices-legacy.xls", "invoices.xlsx", FileFormat("xls")),
        ("invoices-legacy.xls", "invoices.csv", FileFormat("xls")),
        ("invoices-empty.csv", "invoices.xlsx", errors.FILE_EMPTY),
        ("invoices-header-only.csv", "invoices.xlsx", FileFormat("csv", "utf-8", ",")),
        ("invoices-semicolon.csv", "invoices.tsv", FileFormat("csv", "utf-8", ";")),
        ("invoices-corrupt.xlsx", "invoices.csv", FileFormat("xlsx")),
    ],
)
def test_detection_is_by_content_not_name(tmp_path, source, disguise, outcome):
    path = tmp_path / disguise
    shutil.copyfile(fixture(source), path)
    if isinstance(outcome, FileFormat):
        assert file_format_detect(path) == outcome
    else:
        with pytest.raises(errors.FileRejected) as info:
            file_format_detect(path)
        assert str(info.value) == outcome


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(errors.FileRejected) as info:
        file_format_detect(path)
    assert str(info.value) == errors.FILE_NOT_FOUND.format(path=path)


def test_unreadable_file(tmp_path):
    with pytest.raises(errors.FileRejected) as info:
        file_format_detect(tmp_path)  # a directory
    assert str(info.value).startswith(errors.FILE_UNREADABLE.format(error=""))
    assert str(info.value) != errors.FILE_UNREADABLE.format(error="")


def test_delimiter_is_the_most_frequent_in_the_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("\n\n" + "\t".join(HEADER) + "\nINV-1,a;b\t2023-01-05\n", encoding="utf-8")
    assert file_format_detect(path).delimiter == "\t"


# --- header_map -------------------------------------------------------------------


def test_header_map_exact_names():
    assert header_map(HEADER) == (HEADER, [])


def test_header_map_trims_and_ignores_case_keeps_extras_in_order():
    names = [" Invoice_ID ", "Issue_Date", "CUSTOMER_ID", "notes", "customer_name", "Item_Description"]
    names += ["Qty", " Unit_Price", "TOTAL", "status ", " Region "]
    assert header_map(names) == (
        [*RAW_COLUMNS[:3], "notes", *RAW_COLUMNS[3:], "Region"],
        ["notes", "Region"],
    )


def test_header_map_names_blank_and_repeated_extra_columns():
    names, extras = header_map([*HEADER, "", "note", "note", "  "])
    assert names == [*HEADER, "column_10", "note", "note_", "column_13"]
    assert extras == ["column_10", "note", "note_", "column_13"]


@pytest.mark.parametrize("names", [[], [""], ["", "  ", "\t"]])
def test_header_map_no_header(names):
    with pytest.raises(errors.FileRejected) as info:
        header_map(names)
    assert str(info.value) == errors.FILE_NO_HEADER


@pytest.mark.parametrize("duplicate", ["qty", "QTY", " Qty "])
def test_header_map_duplicate_required_column(duplicate):
    with pytest.raises(errors.FileRejected) as info:
        header_map([*HEADER, duplicate])
    assert str(info.value) == errors.FILE_DUPLICATE_COLUMN.format(column="qty")
    assert str(info.value) == "column 'qty' appears more than once in the header"


def test_header_map_missing_columns_message():
    with pytest.raises(errors.FileRejected) as info:
        header_map(
            ["Invoice_ID", "issue_date", "customer_id", "customer_name", "item_description", "total", "x"]
        )
    assert str(info.value) == errors.FILE_MISSING_COLUMNS.format(
        missing="qty, unit_price, status",
        found="'Invoice_ID', 'issue_date', 'customer_id', 'customer_name', 'item_description', 'total', 'x'",
    )


def test_header_map_missing_columns_lists_at_most_twelve_found():
    with pytest.raises(errors.FileRejected) as info:
        header_map([f"c{i}" for i in range(20)])
    message = str(info.value)
    assert message.startswith("missing required columns: " + ", ".join(RAW_COLUMNS) + " (found: 'c0', ")
    assert message.endswith("'c11')")
    assert "'c12'" not in message


# --- CSV rejections --------------------------------------------------------------


def test_missing_columns_file():
    assert rejected(fixture("invoices-missing-columns.csv")) == errors.FILE_MISSING_COLUMNS.format(
        missing="qty, status",
        found="'invoice_id', 'issue_date', 'customer_id', 'customer_name', 'item_description', "
        "'unit_price', 'total'",
    )


def test_duplicate_column_file():
    assert rejected(fixture("invoices-duplicate-column.csv")) == errors.FILE_DUPLICATE_COLUMN.format(
        column="invoice_id"
    )


def test_not_tabular_file():
    message = rejected(fixture("invoices-not-tabular.txt"))
    assert message == errors.FILE_MISSING_COLUMNS.format(
        missing=", ".join(RAW_COLUMNS), found="'Dear accounts team'"
    )


def test_ragged_row_names_the_line():
    message = rejected(fixture("invoices-ragged-row.csv"))
    assert message == errors.FILE_MALFORMED.format(error="line 3 has 10 fields, the header has 9")


def test_ragged_first_row_is_rejected():
    message = rejected(fixture("invoices-ragged-first-row.csv"))
    assert message == errors.FILE_MALFORMED.format(error="line 2 has more fields than the header")


def test_short_row_is_padded_with_empty_text(tmp_path):
    path = write_invoices(tmp_path, "INV-1,2023-01-05", name="short.csv")
    assert records(path) == [row(2, "INV-1", "2023-01-05", "", "", "", "", "", "", "")]


# --- CSV reading ----------------------------------------------------------------


def test_header_only_file_has_no_rows():
    path = fixture("invoices-header-only.csv")
    chunks = list(chunks_read(path, file_format_detect(path), chunk_rows=10))
    # Currently one empty chunk (XLSX yields none); either way: no rows, the usual columns.
    assert sum(len(c) for c in chunks) == 0
    assert all(list(c.columns) == FRAME_COLUMNS for c in chunks)


def test_values_come_back_exactly_as_text():
    frame = read_all(fixture("invoices-raw-values.csv"))
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame.to_dict(orient="records") == [
        row(
            2,
            "  INV-1 ",
            "05/01/2023",
            " c001 ",
            "Acme, Inc",
            "  blue WIDGET ",
            "014.0",
            " $1,200.50 ",
            "NULL",
            "paid",
        ),
        row(3, "INV-2", "", "N/A", "", "", "", "", "", ""),
    ]
    for column in RAW_COLUMNS:
        assert all(type(v) is str for v in frame[column]), column


def test_utf8_bom_is_not_part_of_the_first_column():
    assert records(fixture("invoices-utf8-bom.csv")) == [
        row(2, "INV-1", "2023-01-05", "C001", "Acme", "Widget", "2", "1.50", "3.00", "PAID")
    ]


def test_cp1252_file():
    assert fixture("invoices-cp1252.csv").read_bytes().count(b"\x80") == 4  # the euro sign in cp1252
    assert records(fixture("invoices-cp1252.csv")) == [
        row(2, "INV-1", "05/01/2023", "C001", "Café Müller", "Widget", "2", "€1.50", "€3.00", "PAID"),
        row(3, "INV-2", "06/01/2023", "C002", "Zoë Ltd", "Gadget", "1", "€10.00", "€10.00", "PENDING"),
    ]


def test_utf16_file():
    assert records(fixture("invoices-utf16.csv")) == [
        row(2, "INV-1", "2023-01-05", "C001", "Café", "Widget", "2", "1.50", "3.00", "PAID")
    ]


def test_semicolon_file():
    assert records(fixture("invoices-semicolon.csv")) == [
        row(2, "INV-1", "2023-01-05", "C001", "Acme, Inc", "Widget", "2", "1.200,50", "2.401,00", "PAID"),
        row(3, "INV-2", "2023-01-06", "C002", "Beta", "Gadget", "1", "3,00", "3,00", "PENDING"),
    ]


def test_tab_file():
    assert records(fixture("invoices-tab.tsv")) == [
        row(2, "INV-1", "2023-01-05", "C001", "Acme, Inc", "Widget", "2", "1,200.50", "2,401.00", "PAID"),
    ]


def test_mixed_case_headers_and_extra_column():
    frame = read_all(fixture("invoices-mixed-case-headers.csv"))
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame.to_dict(orient="records") == [
        row(
            2,
            "INV-1",
            "2023-01-05",
            "C001",
            "Acme",
            "Widget",
            "2",
            "1.50",
            "3.00",
            "PAID",
            extra='{"notes": "call back"}',
        ),
        row(
            3,
            "INV-2",
            "2023-01-06",
            "C002",
            "Beta",
            "Gadget",
            "1",
            "3.00",
            "3.00",
            "PENDING",
            extra='{"notes": ""}',
        ),
    ]
    assert json.loads(frame["extra"][0]) == {"notes": "call back"}


def test_extra_json_keeps_non_ascii(tmp_path):
    path = write_invoices(
        tmp_path,
        "INV-1,2023-01-05,C1,A,W,1,1,1,PAID,déjà payé €",
        name="extra.csv",
        columns=[*HEADER, "Remarque"],
    )
    assert read_all(path)["extra"].tolist() == ['{"Remarque": "déjà payé €"}']


def test_source_row_numbering_across_chunks():
    path = fixture("invoices-mixed-case-headers.csv")
    chunks = list(chunks_read(path, file_format_detect(path), chunk_rows=1))
    assert [c["source_row"].tolist() for c in chunks] == [[2], [3]]
    assert [c["invoice_id"].tolist() for c in chunks] == [["INV-1"], ["INV-2"]]
    assert all(list(c.index) == [0] for c in chunks)


def test_source_row_numbering_larger_file(tmp_path):
    rows = [f"INV-{i},2023-01-05,C1,A,W,1,1.00,1.00,PAID" for i in range(25)]
    path = write_invoices(tmp_path, *rows, name="many.csv")
    chunks = list(chunks_read(path, file_format_detect(path), chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    frame = pd.concat(chunks, ignore_index=True)
    assert frame["source_row"].tolist() == list(range(2, 27))
    assert frame["invoice_id"].tolist() == [f"INV-{i}" for i in range(25)]


def test_quoted_field_with_newline_is_one_value(tmp_path):
    path = write_invoices(tmp_path, 'INV-1,2023-01-05,C1,"Acme\nInc",W,1,1,1,PAID', name="multiline.csv")
    assert records(path) == [row(2, "INV-1", "2023-01-05", "C1", "Acme\nInc", "W", "1", "1", "1", "PAID")]


def test_blank_line_does_not_shift_source_row():
    rows = records(fixture("invoices-blank-line.csv"))
    assert [(r["source_row"], r["invoice_id"]) for r in rows] == [(2, "INV-1"), (4, "INV-2")]


def late_cp1252_file(path: Path, rows: int) -> Path:
    """``rows`` ASCII rows, then one row with a cp1252 byte (0xE9, é)."""
    body = [f"INV-{i:05d},2023-01-05,C001,Acme,Widget,2,1.50,3.00,PAID" for i in range(rows)]
    tail = "INV-X,2023-01-05,C001,Café,Widget,2,1.50,3.00,PAID\n".encode("cp1252")
    path.write_bytes(invoices_csv(*body).encode() + tail)
    return path


def test_late_non_utf8_byte_raises_encoding_mismatch(tmp_path):
    """Detection samples the first 64 KiB; a cp1252 byte far after it is found while reading."""
    path = late_cp1252_file(tmp_path / "late-cp1252.csv", 6000)  # the byte at ~330 KB
    fmt = file_format_detect(path)
    assert fmt == FileFormat("csv", "utf-8", ",")
    with pytest.raises(errors.EncodingMismatch):
        list(chunks_read(path, fmt, chunk_rows=2000))
    # Read again as cp1252, as the service does.
    frame = pd.concat(chunks_read(path, FileFormat("csv", "cp1252", ","), chunk_rows=2000), ignore_index=True)
    assert len(frame) == 6001
    assert frame.iloc[-1]["customer_name"] == "Café"
    assert frame.iloc[-1]["source_row"] == 6002


def test_non_utf8_byte_just_after_the_sample_raises_encoding_mismatch(tmp_path):
    path = late_cp1252_file(tmp_path / "late-cp1252.csv", 1500)  # the byte at ~82 KB
    fmt = file_format_detect(path)
    assert fmt == FileFormat("csv", "utf-8", ",")
    with pytest.raises(errors.EncodingMismatch):
        list(chunks_read(path, fmt, chunk_rows=500))


# --- XLSX -----------------------------------------------------------------------


def workbook_save(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for values in rows:
        ws.append(values)
    wb.save(path)
    return path


XLSX_ROWS: list[list] = [
    [" Invoice_ID", *RAW_COLUMNS[1:8], "STATUS", "Notes"],
    ["INV-1", date(2023, 1, 5), "C001", "Acme", "Widget", 14.0, 1.5, 21, "PAID", "first"],
    [None] * 10,  # a blank row
    ["INV-2", datetime(2023, 1, 6, 10, 30), "c002", "Beta", "Gadget", 2, "1,200.50", "2401.00", "pending"],  # noqa: DTZ001 - a workbook cell holds a naive date-time
    ["inv-3", "05/01/2023", "C001", None, "Widget", "14.0", 0.25, 3.5, "PAID", None],
]


def test_xlsx_workbook(tmp_path):
    path = workbook_save(tmp_path / "invoices.xlsx", XLSX_ROWS)
    assert file_format_detect(path) == FileFormat("xlsx")
    frame = read_all(path)
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame.to_dict(orient="records") == [
        row(
            2,
            "INV-1",
            "2023-01-05",
            "C001",
            "Acme",
            "Widget",
            "14",
            "1.5",
            "21",
            "PAID",
            extra='{"Notes": "first"}',
        ),
        row(
            4,
            "INV-2",
            "2023-01-06 10:30:00",
            "c002",
            "Beta",
            "Gadget",
            "2",
            "1,200.50",
            "2401.00",
            "pending",
            extra='{"Notes": ""}',
        ),
        row(
            5,
            "inv-3",
            "05/01/2023",
            "C001",
            "",
            "Widget",
            "14.0",
            "0.25",
            "3.5",
            "PAID",
            extra='{"Notes": ""}',
        ),
    ]
    for column in RAW_COLUMNS:
        assert all(type(v) is str for v in frame[column]), column


def test_xlsx_chunks_keep_sheet_row_numbers(tmp_path):
    path = workbook_save(tmp_path / "invoices.xlsx", XLSX_ROWS)
    chunks = list(chunks_read(path, FileFormat("xlsx"), chunk_rows=2))
    assert [c["source_row"].tolist() for c in chunks] == [[2, 4], [5]]
    assert [c["invoice_id"].tolist() for c in chunks] == [["INV-1", "INV-2"], ["inv-3"]]


def test_xlsx_header_below_blank_rows(tmp_path):
    path = workbook_save(
        tmp_path / "offset.xlsx",
        [[None], [None], HEADER, ["INV-1", "2023-01-05", "C1", "A", "W", 1, 1, 1, "PAID"]],
    )
    assert records(path) == [row(4, "INV-1", "2023-01-05", "C1", "A", "W", "1", "1", "1", "PAID")]


def test_xlsx_header_only(tmp_path):
    path = workbook_save(tmp_path / "header.xlsx", [HEADER])
    assert list(chunks_read(path, FileFormat("xlsx"), chunk_rows=10)) == []


def test_xlsx_empty_workbook(tmp_path):
    path = workbook_save(tmp_path / "empty.xlsx", [])
    assert rejected(path) == errors.FILE_EMPTY


def test_xlsx_missing_columns(tmp_path):
    path = workbook_save(tmp_path / "missing.xlsx", [HEADER[:-1], ["INV-1"]])
    assert rejected(path) == errors.FILE_MISSING_COLUMNS.format(
        missing="status", found=", ".join(repr(c) for c in HEADER[:-1])
    )


def test_xlsx_duplicate_column(tmp_path):
    path = workbook_save(tmp_path / "dup.xlsx", [[*HEADER, "TOTAL"]])
    assert rejected(path) == errors.FILE_DUPLICATE_COLUMN.format(column="total")


def test_corrupt_xlsx():
    message = rejected(fixture("invoices-corrupt.xlsx"))
    assert message.startswith(errors.FILE_BAD_XLSX.format(error=""))
    assert message == errors.FILE_BAD_XLSX.format(error="File is not a zip file")


@pytest.mark.parametrize("name", hostile.SHEET_XML_HOSTILE)
def test_a_sheet_whose_xml_is_hostile_or_broken_is_refused_saying_why(tmp_path, name):
    """Past the workbook's opening, a sheet's XML that cannot be read (an entity bomb, an
    external entity, malformed XML, a number cell holding text) is the file's one-line
    error, not an unexpected one. (An external entity read from its file would have loaded as
    the row's invoice id: no error at all.)"""
    message = rejected(hostile.xlsx_sheet_xml(tmp_path, name))
    assert message.startswith(errors.FILE_BAD_XLSX.format(error="")), message


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(errors.FileRejected) as info:
        file_format_detect(path)
    assert str(info.value) == errors.FILE_NOT_A_WORKBOOK


def test_xlsx_with_another_name_is_read(tmp_path):
    path = workbook_save(tmp_path / "invoices.txt", XLSX_ROWS[:2])
    assert file_format_detect(path) == FileFormat("xlsx")
    assert [r["invoice_id"] for r in records(path)] == ["INV-1"]
