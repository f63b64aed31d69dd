"""Files as finance teams really write them, and files built to hurt, through the real
extract and clean code (no database): each case with the outcome it must have."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ingestion.pipeline import errors
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import dimensions_from_rows, invoices_clean
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.extract import Limits, chunks_read, file_format_detect
from ingestion.tests import hostile
from ingestion.tests.files import HEADER, write_invoices, write_workbook

DIMS = dimensions_from_rows(
    customers=[("C-100", 1), ("C-200", 2)],
    items=[("API Access", 10)],
    statuses=[("Paid", 100), ("Pending", 101)],
)


def good(n: int, **overrides) -> list:
    row = {
        "invoice_id": f"INV-{n}",
        "issue_date": "2023-05-01",
        "customer_id": "C-100",
        "customer_name": "Acme",
        "item_description": "API Access",
        "qty": "1",
        "unit_price": "5.00",
        "total": "5.00",
        "status": "Paid",
    }
    row.update(overrides)
    return [row[c] for c in RAW_COLUMNS]


def cleaned(path: Path, *, chunk_rows: int = 1000, limits: Limits | None = None, notes=None, sheet=None):
    """Every row as read and cleaned: a DataFrame with the raw and the cleaned columns."""
    fmt = file_format_detect(path)
    conventions = AmountConventions()
    frames = [
        pd.concat([raw, invoices_clean(raw, dims=DIMS, conventions=conventions)], axis=1)
        for raw in chunks_read(path, fmt, chunk_rows=chunk_rows, limits=limits, notes=notes, sheet=sheet)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def file_error(path: Path, **kwargs) -> str:
    with pytest.raises(errors.FileRejected) as info:
        cleaned(path, **kwargs)
    return str(info.value)


def by_id(frame: pd.DataFrame, invoice_id: str) -> dict:
    return frame[frame["invoice_id"] == invoice_id].iloc[0].to_dict()


# --- ids a person can read -----------------------------------------------------------------


def test_a_nul_inside_an_id_late_in_the_file_rejects_that_row(tmp_path):
    rows = [good(n) for n in range(2, 7000)]
    rows[5998][0] = "N-59\x0099"  # line 6000
    frame = cleaned(write_invoices(tmp_path, *rows, name="nul.csv"))
    row = frame[frame["source_row"] == 6000].iloc[0]
    assert row["reason"] == "UNKNOWN_INVOICE_ID"
    assert row["detail"] == "UNKNOWN_INVOICE_ID: invoice_id contains a control character at position 5"
    assert frame["reason"].notna().sum() == 1


def test_a_nul_in_the_first_64_kb_is_data_not_a_binary_file(tmp_path):
    rows = [good(n) for n in range(2, 50)]
    rows[3][0] = "INV\x00X"
    path = write_invoices(tmp_path, *rows, name="nul-early.csv")
    assert file_format_detect(path).kind == "csv"
    frame = cleaned(path)
    assert list(frame["reason"].dropna()) == ["UNKNOWN_INVOICE_ID"]


def test_zero_width_and_non_breaking_spaces_are_removed_from_ids(tmp_path):
    path = write_invoices(
        tmp_path,
        good(1, invoice_id="INV-\u200b7"),
        good(2, invoice_id="\u00a0INV-8\ufeff", customer_id="C-\u200b200"),
        name="zw.csv",
    )
    frame = cleaned(path)
    assert list(frame["clean_invoice_id"]) == ["INV-7", "INV-8"]
    assert list(frame["customer_key"]) == [1, 2]
    assert frame["reason"].isna().all()


def test_a_control_character_in_a_customer_id_is_named(tmp_path):
    frame = cleaned(write_invoices(tmp_path, good(1, customer_id="C-1\x0700"), name="c.csv"))
    assert (
        frame.loc[0, "detail"] == "UNKNOWN_CUSTOMER: customer_id contains a control character at position 4"
    )


# --- amounts as the file means them ----------------------------------------------------------


def test_a_decimal_comma_column_reads_1_200_as_twelve_hundred(tmp_path):
    path = write_invoices(
        tmp_path,
        "A;2023-05-01;C-100;Acme;API Access;1;1.200,50;1.200,50;Paid",
        "B;2023-05-01;C-100;Acme;API Access;1;1.200;1.200;Paid",
        name="eu.csv",
        delimiter=";",
    )
    frame = cleaned(path)
    assert list(frame["clean_unit_price"]) == ["1200.50", "1200.00"]
    assert frame["reason"].isna().all()


def test_a_column_without_unambiguous_values_follows_the_other_amount_column(tmp_path):
    path = write_invoices(
        tmp_path,
        "A;2023-05-01;C-100;Acme;API Access;1;1.200,00;1.200;Paid",
        "B;2023-05-01;C-100;Acme;API Access;1;2.400,00;2.400;Paid",
        name="eu.csv",
        delimiter=";",
    )
    frame = cleaned(path)
    assert list(frame["clean_total"]) == ["1200.00", "2400.00"]
    assert frame["reason"].isna().all()


def test_the_issue_case_1_200_with_qty_1_beside_1_200_50_elsewhere(tmp_path):
    path = write_invoices(
        tmp_path,
        good(1, unit_price='"1.200,50"', total='"1.200,50"'),
        good(2, unit_price="1.200", total="1.200"),
        name="issue.csv",
    )
    frame = cleaned(path)
    assert list(frame["clean_unit_price"]) == ["1200.50", "1200.00"]


def test_a_value_written_against_its_column_is_rejected(tmp_path):
    path = write_invoices(
        tmp_path,
        good(1, unit_price='"1,200.50"', total='"1,200.50"'),
        good(2, unit_price="12.50", total="12.50"),
        good(3, unit_price='"3,50"', total='"3,50"'),
        name="mixed.csv",
    )
    frame = cleaned(path)
    assert list(frame["reason"].fillna("")) == ["", "", "INVALID_UNIT_PRICE"]
    assert frame.loc[2, "detail"].startswith(
        "INVALID_UNIT_PRICE: unit_price '3,50' is written decimal-comma, but this column is decimal-point"
    )


def test_the_convention_is_decided_once_for_the_file_across_chunks(tmp_path):
    rows = [good(1, unit_price='"1.234,50"', total='"1.234,50"')]
    rows += [good(n, unit_price="1.200", total="1.200") for n in range(2, 10)]
    frame = cleaned(write_invoices(tmp_path, *rows, name="chunks.csv"), chunk_rows=3)
    assert set(frame["clean_total"][1:]) == {"1200.00"}


def test_a_file_with_no_unambiguous_amount_keeps_the_plain_reading(tmp_path):
    frame = cleaned(write_invoices(tmp_path, good(1, unit_price="1.200", total="1.200"), name="plain.csv"))
    assert frame.loc[0, "clean_total"] == "1.20"


# --- one way to number rows ---------------------------------------------------------------


def test_an_unterminated_quote_names_its_line(tmp_path):
    rows = [good(n) for n in range(2, 60)]
    rows[48][3] = '"Acme'  # line 50
    assert file_error(write_invoices(tmp_path, *rows, name="q.csv")) == errors.FILE_MALFORMED.format(
        error="a quote opened on line 50 is never closed"
    )


def test_an_extra_field_names_its_line(tmp_path):
    rows = [good(n) for n in range(2, 60)]
    rows[48].append("extra")  # line 50
    assert file_error(write_invoices(tmp_path, *rows, name="x.csv")) == errors.FILE_MALFORMED.format(
        error="line 50 has 10 fields, the header has 9"
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark_is_read(tmp_path, encoding):
    path = write_invoices(tmp_path, good(1), good(2, customer_name="Zoë"), encoding=encoding, name="u.csv")
    assert not path.read_bytes().startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert file_format_detect(path).encoding == encoding
    frame = cleaned(path)
    assert list(frame["customer_name"]) == ["Acme", "Zoë"]
    assert list(frame["source_row"]) == [2, 3]


# --- limits ----------------------------------------------------------------------------------


def test_a_field_over_the_limit_rejects_its_row_and_is_not_kept(tmp_path):
    path = write_invoices(tmp_path, good(1), good(2, customer_name="x" * 5000), good(3), name="f.csv")
    frame = cleaned(path, limits=Limits(field_bytes=1000))
    row = by_id(frame, "INV-2")
    assert row["reason"] == "FIELD_TOO_LONG"
    assert row["detail"] == "FIELD_TOO_LONG: customer_name is longer than the field limit (5,000 bytes)"
    assert len(row["customer_name"]) < 300
    assert frame["reason"].isna().sum() == 2


def test_a_line_over_the_limit_fails_the_file_naming_it(tmp_path):
    path = write_invoices(tmp_path, good(1), good(2, customer_name="x" * 5000), name="l.csv")
    assert file_error(path, limits=Limits(line_bytes=2000)) == errors.FILE_LINE_TOO_LONG.format(
        line=3, limit="2,000 bytes"
    )


def test_an_open_quote_in_a_long_file_fails_before_the_rest_is_held(tmp_path):
    rows = [good(n) for n in range(2, 40_000)]
    rows[10][3] = '"Acme'
    message = file_error(
        write_invoices(tmp_path, *rows, name="open.csv"), limits=Limits(chunk_bytes=1_000_000)
    )
    assert message == errors.FILE_CHUNK_TOO_LONG.format(line=2, limit="1,000,000 bytes")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (hostile.csv_one_line_of_fields, "line 1 is longer than the line limit"),
        (hostile.csv_one_line_no_delimiter, "line 1 is longer than the line limit"),
        (hostile.csv_one_huge_row, "line 2 is longer than the line limit"),
    ],
)
def test_single_huge_lines_fail_fast(tmp_path, make, expected):
    path = make(tmp_path, size=3_000_000)
    assert file_error(path, limits=Limits(line_bytes=1_000_000)).startswith(expected)


def test_an_xlsx_cell_inflating_a_thousand_times_is_refused(tmp_path):
    path = hostile.xlsx_one_huge_cell(tmp_path, size=20_000_000)
    assert path.stat().st_size < 100_000
    assert "xl/worksheets/sheet1.xml inflates" in file_error(path)


def test_an_xlsx_part_over_the_size_limit_is_refused(tmp_path):
    path = hostile.xlsx_blank_rows(tmp_path, size=3_000_000)
    assert file_error(path, limits=Limits(part_bytes=1_000_000)).startswith(
        "workbook part xl/worksheets/sheet1.xml inflates to"
    )


def test_xlsx_blank_rows_under_the_limit_read_as_no_rows(tmp_path):
    path = hostile.xlsx_blank_rows(tmp_path, size=3_000_000)
    assert cleaned(path).empty


def test_a_zip_renamed_csv_is_not_a_workbook(tmp_path):
    path = tmp_path / "invoices.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", HEADER)
    with pytest.raises(errors.FileRejected) as info:
        file_format_detect(path)
    assert str(info.value) == errors.FILE_NOT_A_WORKBOOK


# --- XLSX as people write it -------------------------------------------------------------------


def xlsx_row(n: int, **overrides) -> list:
    row = dict(zip(RAW_COLUMNS, good(n), strict=True))
    row.update(qty=1, unit_price=5.0, total=5.0)
    row.update(overrides)
    return [row[c] for c in RAW_COLUMNS]


def test_the_first_non_empty_sheet_is_read_and_the_others_named(tmp_path):
    path = write_workbook(
        tmp_path / "s.xlsx",
        {"Cover": [], "Invoices": [list(RAW_COLUMNS), xlsx_row(1)], "Summary": [["total", 5]]},
    )
    notes: list[str] = []
    frame = cleaned(path, notes=notes)
    assert list(frame["invoice_id"]) == ["INV-1"]
    assert notes == ["read sheet 'Invoices'; other sheets with data, not read: 'Summary'"]


def test_a_sheet_can_be_named(tmp_path):
    path = write_workbook(
        tmp_path / "s.xlsx",
        {"Old": [list(RAW_COLUMNS), xlsx_row(1)], "New": [list(RAW_COLUMNS), xlsx_row(2)]},
    )
    assert list(cleaned(path, sheet="new")["invoice_id"]) == ["INV-2"]
    assert file_error(path, sheet="Missing") == errors.FILE_NO_SHEET.format(
        sheet="Missing", names="'Old', 'New'"
    )


def test_title_rows_above_the_header_are_skipped_and_reported(tmp_path):
    path = write_workbook(
        tmp_path / "t.xlsx",
        {"Sheet": [["Invoices for May"], ["exported 2023-06-01"], [], list(RAW_COLUMNS), xlsx_row(1)]},
    )
    notes: list[str] = []
    frame = cleaned(path, notes=notes)
    assert list(frame["source_row"]) == [5]
    assert notes == ["header found on row 4; rows above it skipped: 1, 2"]


def test_merged_cells_read_as_their_top_left_value(tmp_path):
    rows = [list(RAW_COLUMNS), xlsx_row(1), xlsx_row(2, status=None), xlsx_row(3, status=None)]
    path = write_workbook(tmp_path / "m.xlsx", {"Sheet": rows}, build=lambda s: s.merge_cells("I2:I4"))
    frame = cleaned(path)
    assert list(frame["status"]) == ["Paid", "Paid", "Paid"]
    assert frame["reason"].isna().all()


def test_a_formula_without_a_saved_result_is_rejected_saying_so(tmp_path):
    path = write_workbook(tmp_path / "f.xlsx", {"Sheet": [list(RAW_COLUMNS), xlsx_row(1, total="=F2*G2")]})
    frame = cleaned(path)
    assert frame.loc[0, "detail"] == "INVALID_TOTAL: total is a formula with no saved result (=F2*G2)"


def test_plain_serial_numbers_in_the_date_column_are_excel_dates(tmp_path):
    rows = [list(RAW_COLUMNS), xlsx_row(1, issue_date=45047), xlsx_row(2, issue_date=45048)]
    frame = cleaned(write_workbook(tmp_path / "d.xlsx", {"Sheet": rows}))
    assert [d.isoformat() for d in frame["clean_issue_date"]] == ["2023-05-01", "2023-05-02"]


def test_serial_numbers_beside_text_dates_stay_invalid(tmp_path):
    rows = [list(RAW_COLUMNS), xlsx_row(1, issue_date=45047), xlsx_row(2, issue_date="2023-05-02")]
    frame = cleaned(write_workbook(tmp_path / "d.xlsx", {"Sheet": rows}))
    assert list(frame["reason"].fillna("")) == ["INVALID_DATE", ""]


def test_ods_is_read(tmp_path):
    source = Path(__file__).parent / "fixtures" / "invoices-sheets.ods"
    frame = cleaned(source)
    assert list(frame["invoice_id"]) == ["INV-1", "INV-2"]
    assert frame["reason"].isna().all()


def test_legacy_xls_is_read():
    source = Path(__file__).parent / "fixtures" / "invoices-sheets.xls"
    frame = cleaned(source)
    assert list(frame["invoice_id"]) == ["INV-1", "INV-2"]
    assert frame["reason"].isna().all()
