"""Unit tests for the pure cleaning functions (docs/loading.md: "What a load does" and "Choices where
the contract is silent").

No database: dimensions are built in memory with ``dimensions_from_rows``.
DUPLICATE_INVOICE_ID is settled later in SQL, so it is not tested here.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from ingestion.pipeline import clean
from ingestion.pipeline.clean import (
    REASONS,
    amount_parse,
    date_parse,
    dimensions_from_rows,
    invoices_clean,
)
from ingestion.pipeline.columns import CLEAN_COLUMNS, FIELD_CUT, RAW_COLUMNS
from ingestion.pipeline.rules import Reason

INVALID_DATE = Reason.INVALID_DATE
INVALID_QUANTITY = Reason.INVALID_QUANTITY
INVALID_TOTAL = Reason.INVALID_TOTAL
INVALID_UNIT_PRICE = Reason.INVALID_UNIT_PRICE
TOTAL_MISMATCH = Reason.TOTAL_MISMATCH
UNKNOWN_CUSTOMER = Reason.UNKNOWN_CUSTOMER
UNKNOWN_INVOICE_ID = Reason.UNKNOWN_INVOICE_ID
UNKNOWN_ITEM = Reason.UNKNOWN_ITEM
UNKNOWN_STATUS = Reason.UNKNOWN_STATUS

DIMS = dimensions_from_rows(
    customers=[("C001", 1), (" c002 ", 2)],
    items=[("Blue Widget", 10), ("GADGET", 11)],
    statuses=[("PAID", 100), ("pending", 101)],
)

GOOD = {
    "invoice_id": "INV-1",
    "issue_date": "2023-01-05",
    "customer_id": "C001",
    "customer_name": "Acme",
    "item_description": "Blue Widget",
    "qty": "2",
    "unit_price": "1.50",
    "total": "3.00",
    "status": "PAID",
}

MISSING_TOKENS = ["", "NULL", "null", "N/A", "n/a", "NaN", "nan", "None", "NONE", "  NULL  ", "   "]


def frame(*rows: dict, index=None) -> pd.DataFrame:
    """A raw frame of text: each row is GOOD with the given overrides."""
    return pd.DataFrame([{**GOOD, **row} for row in rows], columns=list(RAW_COLUMNS), index=index, dtype=str)


def clean_rows(*rows: dict, **kwargs) -> list[dict]:
    kwargs.setdefault("dims", DIMS)
    return invoices_clean(frame(*rows), **kwargs).to_dict(orient="records")


def clean_one(**overrides) -> dict:
    return clean_rows(overrides)[0]


def assert_valid(row: dict) -> None:
    assert pd.isna(row["reason"]), row["detail"]
    assert pd.isna(row["detail"])


def assert_rejected(row: dict, reason: str, detail: str) -> None:
    assert row["reason"] == reason
    assert row["detail"] == detail
    for column in CLEAN_COLUMNS[:-2]:  # every cleaned value is null on a rejected row
        assert pd.isna(row[column]), column


# --- constants ------------------------------------------------------------------


def test_reason_codes_are_in_contract_order():
    assert REASONS == (
        "FIELD_TOO_LONG",
        "UNKNOWN_INVOICE_ID",
        "INVALID_DATE",
        "UNKNOWN_CUSTOMER",
        "UNKNOWN_ITEM",
        "UNKNOWN_STATUS",
        "INVALID_QUANTITY",
        "INVALID_UNIT_PRICE",
        "INVALID_TOTAL",
        "TOTAL_MISMATCH",
        "DUPLICATE_INVOICE_ID",
    )


def test_dimensions_from_rows_normalises_natural_keys():
    dims = dimensions_from_rows(
        customers=[(" c001 ", 1), ("C002", 2)],
        items=[("  Blue   Widget ", 10), ("GADGET", 11)],
        statuses=[(" paid", 100), ("Pending", 101)],
    )
    assert dims.customers == {"C001": 1, "C002": 2}
    assert dims.items == {"blue widget": 10, "gadget": 11}
    assert dims.statuses == {"PAID": 100, "PENDING": 101}


def test_dimensions_from_rows_accepts_empty_dimensions():
    dims = dimensions_from_rows(customers=[], items=[], statuses=[])
    assert (dims.customers, dims.items, dims.statuses) == ({}, {}, {})


# --- date_parse -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-05", date(2023, 1, 5)),  # YYYY-MM-DD
        ("2023/01/05", date(2023, 1, 5)),  # YYYY/MM/DD
        ("05/01/2023", date(2023, 1, 5)),  # DD/MM/YYYY (day first by default)
        ("05-01-2023", date(2023, 1, 5)),  # DD-MM-YYYY
        ("31/12/2023", date(2023, 12, 31)),
        ("31-12-2023", date(2023, 12, 31)),
        ("12/31/2023", date(2023, 12, 31)),  # MM/DD/YYYY: day-first reading impossible
        ("12-31-2023", date(2023, 12, 31)),
        ("2023-1-5", date(2023, 1, 5)),  # single-digit month and day
        ("2023/1/5", date(2023, 1, 5)),
        ("5/1/2023", date(2023, 1, 5)),
        ("1/12/2023", date(2023, 12, 1)),
        ("29/02/2024", date(2024, 2, 29)),  # leap day
        ("  2023-01-05  ", date(2023, 1, 5)),  # trimmed
        ("\t05/01/2023\n", date(2023, 1, 5)),
    ],
)
def test_date_parse_accepted_formats(text, expected):
    assert date_parse(text) == (expected, "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/01/2023", date(2023, 5, 1)),  # month first
        ("05-01-2023", date(2023, 5, 1)),
        ("12/31/2023", date(2023, 12, 31)),
        ("13/01/2023", date(2023, 1, 13)),  # month-first impossible: day-first fallback
        ("2023-01-05", date(2023, 1, 5)),  # ISO dates are unaffected by the setting
        ("2023/12/01", date(2023, 12, 1)),
    ],
)
def test_date_parse_month_first_setting(text, expected):
    assert date_parse(text, day_first=False) == (expected, "")


def test_date_parse_day_first_is_the_default():
    assert date_parse("03/04/2023") == (date(2023, 4, 3), "")
    assert date_parse("03/04/2023", day_first=True) == (date(2023, 4, 3), "")
    assert date_parse("03/04/2023", day_first=False) == (date(2023, 3, 4), "")


@pytest.mark.parametrize(
    "text",
    [
        "2023-13-22",  # month 13
        "2023-02-30",
        "2023-00-10",
        "2023-01-00",
        "31/02/2023",  # neither 31 Feb nor month 31
        "29/02/2023",  # not a leap year
        "32/01/2023",
        "13/13/2023",
        "00/00/2023",
    ],
)
@pytest.mark.parametrize("day_first", [True, False])
def test_date_parse_impossible_dates(text, day_first):
    assert date_parse(text, day_first=day_first) == (None, f"issue_date {text!r} is not a real date")


@pytest.mark.parametrize(
    "text",
    [
        "2023.01.05",
        "23-01-05",
        "05/01/23",
        "Jan 5 2023",
        "2023-01/05",
        "20230105",
        "yesterday",
        "2023-001-05",
    ],
)
def test_date_parse_unaccepted_formats(text):
    assert date_parse(text) == (None, f"issue_date {text!r} is not in an accepted format")


def test_date_parse_unaccepted_format_message_shows_trimmed_value():
    assert date_parse("  5.1.2023 ") == (None, "issue_date '5.1.2023' is not in an accepted format")


@pytest.mark.parametrize("token", MISSING_TOKENS)
def test_date_parse_missing(token):
    assert date_parse(token) == (None, "issue_date is missing")


# --- amount_parse ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200.50", "1200.50"),
        ("1200.5", "1200.50"),
        ("1200", "1200.00"),
        ("1,200.50", "1200.50"),  # thousands separator
        ("1,234,567.89", "1234567.89"),
        ("$1,200.50", "1200.50"),
        ("$ 1,200.50", "1200.50"),
        ("1200.50$", "1200.50"),
        ("USD 1,200.50", "1200.50"),
        ("1,200.50 USD", "1200.50"),
        ("usd1200.50", "1200.50"),
        ("€1,200.50", "1200.50"),
        ("1,200.50 €", "1200.50"),
        ("EUR 1,200.50", "1200.50"),
        ("1200.50eur", "1200.50"),
        ("1 200.50", "1200.50"),  # space as thousands separator
        ("1\u00a0200.50", "1200.50"),  # no-break space
        (" 12.00 ", "12.00"),
        ("0", "0.00"),
        ("0.10", "0.10"),
        ("EUR 1.200,50", "1200.50"),  # European style, decimal comma
        ("3,50", "3.50"),
    ],
)
def test_amount_parse_strips_currency_spaces_and_separators(text, expected):
    result = amount_parse(text)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.125", "0.13"),  # half-up, not half-even (which gives 0.12)
        ("2.675", "2.68"),  # exact decimal (float round(2.675, 2) gives 2.67)
        ("2.665", "2.67"),  # half-even would give 2.66
        ("1.005", "1.01"),
        ("0.124", "0.12"),
        ("0.126", "0.13"),
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("1,234.565", "1234.57"),
    ],
)
def test_amount_parse_rounds_half_up_to_cents(text, expected):
    assert str(amount_parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-1.50", "-1.50"), ("(5)", "-5.00"), ("-0.125", "-0.13")],
)
def test_amount_parse_keeps_the_sign(text, expected):
    # Negative amounts parse; _money (via invoices_clean) rejects them.
    assert str(amount_parse(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "1.2.3", "1,2,3", "12abc", "1e3", "--5", "$", "USD", "1,20,0.50", "0x10", "inf"]
)
def test_amount_parse_rejects_non_numbers(text):
    assert amount_parse(text) is None


# --- invoices_clean: valid rows -------------------------------------------------


def test_valid_row_has_every_clean_column_filled_and_no_reason():
    out = invoices_clean(frame({}), dims=DIMS)
    assert list(out.columns) == list(CLEAN_COLUMNS)
    row = out.to_dict(orient="records")[0]
    assert_valid(row)
    assert row["clean_invoice_id"] == "INV-1"
    assert row["clean_issue_date"] == date(2023, 1, 5)
    assert (row["customer_key"], row["item_key"], row["status_key"]) == (1, 10, 100)
    assert row["clean_qty"] == 2
    assert row["clean_unit_price"] == "1.50"
    assert row["clean_total"] == "3.00"


def test_output_keeps_the_input_index():
    raw = frame({"invoice_id": "A"}, {"invoice_id": "B", "qty": "x"}, index=[4000, 4001])
    out = invoices_clean(raw, dims=DIMS)
    assert list(out.index) == [4000, 4001]
    assert out.loc[4000, "clean_invoice_id"] == "A"
    assert out["reason"].isna()[4000]
    assert out.loc[4001, "reason"] == INVALID_QUANTITY


def test_every_field_is_trimmed():
    row = clean_one(
        invoice_id="  INV-7\t",
        issue_date=" 2023-01-05 ",
        customer_id=" C001 ",
        item_description="  Blue Widget  ",
        qty=" 2 ",
        unit_price=" 1.50 ",
        total="  3.00  ",
        status=" PAID ",
    )
    assert_valid(row)
    assert row["clean_invoice_id"] == "INV-7"
    assert row["clean_issue_date"] == date(2023, 1, 5)
    assert (row["customer_key"], row["item_key"], row["status_key"]) == (1, 10, 100)
    assert (row["clean_qty"], row["clean_unit_price"], row["clean_total"]) == (2, "1.50", "3.00")


@pytest.mark.parametrize(
    ("status", "key"), [("paid", 100), ("Paid", 100), ("PENDING", 101), (" pending ", 101)]
)
def test_status_is_upper_cased(status, key):
    row = clean_one(status=status)
    assert_valid(row)
    assert row["status_key"] == key


@pytest.mark.parametrize(("customer", "key"), [("c001", 1), ("C001", 1), ("C002", 2), ("c002", 2)])
def test_customer_id_is_upper_cased(customer, key):
    row = clean_one(customer_id=customer)
    assert_valid(row)
    assert row["customer_key"] == key


@pytest.mark.parametrize(
    ("item", "key"),
    [("blue widget", 10), ("BLUE WIDGET", 10), ("bLuE wIdGeT", 10), ("  Blue   Widget ", 10), ("gadget", 11)],
)
def test_items_are_matched_case_insensitively(item, key):
    row = clean_one(item_description=item)
    assert_valid(row)
    assert row["item_key"] == key


def test_customer_name_is_not_validated():
    assert_valid(clean_one(customer_name="NULL"))


@pytest.mark.parametrize(
    ("unit_price", "total", "clean_price", "clean_total"),
    [
        ("$1,200.50", "$2,401.00", "1200.50", "2401.00"),
        ("USD 1,200.50", "2,401.00 USD", "1200.50", "2401.00"),
        ("€1,200.50", "EUR 2,401", "1200.50", "2401.00"),
        ("1 200.50", "2 401.00", "1200.50", "2401.00"),
        ("$ 1200.5", "2401", "1200.50", "2401.00"),
    ],
)
def test_amounts_are_cleaned(unit_price, total, clean_price, clean_total):
    row = clean_one(unit_price=unit_price, total=total)
    assert_valid(row)
    assert (row["clean_unit_price"], row["clean_total"]) == (clean_price, clean_total)


def test_unit_price_rounded_half_up_before_storing():
    row = clean_one(qty="1", unit_price="0.125", total="0.13")
    assert_valid(row)
    assert (row["clean_unit_price"], row["clean_total"]) == ("0.13", "0.13")


def test_total_rounded_half_up_before_comparing():
    row = clean_one(qty="1", unit_price="2.68", total="2.675")
    assert_valid(row)
    assert row["clean_total"] == "2.68"


def test_zero_unit_price_and_total_are_valid():
    row = clean_one(unit_price="0", total="0.00")
    assert_valid(row)
    assert (row["clean_unit_price"], row["clean_total"]) == ("0.00", "0.00")


@pytest.mark.parametrize(
    ("qty", "expected"), [("14", 14), ("14.0", 14), (" 14 ", 14), ("14.00", 14), ("1,000", 1000)]
)
def test_whole_number_quantities(qty, expected):
    row = clean_one(qty=qty, unit_price="1.00", total=f"{expected}.00")
    assert_valid(row)
    assert row["clean_qty"] == expected


@pytest.mark.parametrize(
    ("qty", "why"),
    [
        ("14.5", "is not a whole number"),
        ("0.5", "is not a whole number"),
        ("abc", "is not a whole number"),
        ("1e3", "is not a whole number"),
        ("0", "is not positive"),
        ("0.0", "is not positive"),
        ("-3", "is not positive"),
    ],
)
def test_invalid_quantities(qty, why):
    row = clean_one(qty=qty)
    assert_rejected(row, INVALID_QUANTITY, f"INVALID_QUANTITY: qty {qty!r} {why}")


@pytest.mark.parametrize(
    ("column", "reason", "value", "why"),
    [
        ("unit_price", INVALID_UNIT_PRICE, "abc", "is not a number"),
        ("unit_price", INVALID_UNIT_PRICE, "-1.50", "is negative"),
        ("unit_price", INVALID_UNIT_PRICE, "(1.50)", "is negative"),
        ("total", INVALID_TOTAL, "three", "is not a number"),
        ("total", INVALID_TOTAL, "-3.00", "is negative"),
        ("total", INVALID_TOTAL, "$-3.00", "is negative"),
    ],
)
def test_invalid_amounts(column, reason, value, why):
    row = clean_one(**{column: value})
    assert_rejected(row, reason, f"{reason}: {column} {value!r} {why}")


# --- invoices_clean: missing values -----------------------------------------------


REQUIRED = [
    ("invoice_id", UNKNOWN_INVOICE_ID),
    ("issue_date", INVALID_DATE),
    ("customer_id", UNKNOWN_CUSTOMER),
    ("item_description", UNKNOWN_ITEM),
    ("status", UNKNOWN_STATUS),
    ("qty", INVALID_QUANTITY),
    ("unit_price", INVALID_UNIT_PRICE),
    ("total", INVALID_TOTAL),
]


@pytest.mark.parametrize("token", MISSING_TOKENS)
@pytest.mark.parametrize(("column", "reason"), REQUIRED)
def test_missing_tokens(column, reason, token):
    row = clean_one(**{column: token})
    assert_rejected(row, reason, f"{reason}: {column} is missing")


def test_missing_tokens_are_not_matched_inside_values():
    # 'None' / 'NaN' only count as missing as the whole value.
    row = clean_one(invoice_id="None-1", customer_name="NaN Ltd")
    assert_valid(row)
    assert row["clean_invoice_id"] == "None-1"


# --- invoices_clean: unknown dimension members --------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason", "detail"),
    [
        (
            "customer_id",
            "C999",
            UNKNOWN_CUSTOMER,
            "UNKNOWN_CUSTOMER: customer_id 'C999' is not in dim_customer",
        ),
        (
            "customer_id",
            " c999 ",
            UNKNOWN_CUSTOMER,
            "UNKNOWN_CUSTOMER: customer_id 'c999' is not in dim_customer",
        ),
        (
            "item_description",
            "Red Widget",
            UNKNOWN_ITEM,
            "UNKNOWN_ITEM: item_description 'Red Widget' is not in dim_item",
        ),
        (
            "item_description",
            "BlueWidget",
            UNKNOWN_ITEM,
            "UNKNOWN_ITEM: item_description 'BlueWidget' is not in dim_item",
        ),
        ("status", "REFUNDED", UNKNOWN_STATUS, "UNKNOWN_STATUS: status 'REFUNDED' is not in dim_status"),
        ("status", "paid!", UNKNOWN_STATUS, "UNKNOWN_STATUS: status 'paid!' is not in dim_status"),
    ],
)
def test_unknown_dimension_members(column, value, reason, detail):
    assert_rejected(clean_one(**{column: value}), reason, detail)


def test_unknown_members_with_empty_dimensions():
    empty = dimensions_from_rows(customers=[], items=[], statuses=[])
    row = clean_rows({}, dims=empty)[0]
    assert row["reason"] == UNKNOWN_CUSTOMER
    assert row["detail"] == (
        "UNKNOWN_CUSTOMER: customer_id 'C001' is not in dim_customer; "
        "UNKNOWN_ITEM: item_description 'Blue Widget' is not in dim_item; "
        "UNKNOWN_STATUS: status 'PAID' is not in dim_status"
    )


# --- invoices_clean: invoice ids ------------------------------------------------


def test_invoice_ids_are_case_sensitive_and_trimmed():
    rows = clean_rows({"invoice_id": "INV-1"}, {"invoice_id": "inv-1"}, {"invoice_id": "  Inv-1 "})
    for row in rows:
        assert_valid(row)
    assert [r["clean_invoice_id"] for r in rows] == ["INV-1", "inv-1", "Inv-1"]


def test_invoice_id_length_limit():
    ok, too_long = clean_rows({"invoice_id": "X" * 64}, {"invoice_id": "X" * 65})
    assert_valid(ok)
    assert ok["clean_invoice_id"] == "X" * 64
    assert_rejected(
        too_long, UNKNOWN_INVOICE_ID, "UNKNOWN_INVOICE_ID: invoice_id is longer than 64 characters"
    )


def test_missing_invoice_id_rejected_by_default():
    assert_rejected(
        clean_one(invoice_id="NULL"), UNKNOWN_INVOICE_ID, "UNKNOWN_INVOICE_ID: invoice_id is missing"
    )
    row = clean_rows({"invoice_id": ""}, allow_missing_invoice_id=False)[0]
    assert row["reason"] == UNKNOWN_INVOICE_ID


def _expected_gen_id(row: dict) -> str:
    content = "\x1f".join(row[c].strip() for c in RAW_COLUMNS[1:])
    return "GEN-" + hashlib.sha256(content.encode()).hexdigest()[:20]


@pytest.mark.parametrize("token", ["", "NULL", "N/A", "None"])
def test_allow_missing_invoice_id_generates_a_gen_id(token):
    row = clean_rows({"invoice_id": token}, allow_missing_invoice_id=True)[0]
    assert_valid(row)
    # Pinned: the id must stay the same across releases, or a re-load would duplicate invoices.
    assert row["clean_invoice_id"] == _expected_gen_id({**GOOD, "invoice_id": token})
    assert row["clean_invoice_id"].startswith("GEN-")
    assert len(row["clean_invoice_id"]) == 24


def test_generated_id_is_deterministic_and_content_derived():
    other = {"invoice_id": "", "qty": "4", "total": "6.00"}
    first = clean_rows({"invoice_id": ""}, {"invoice_id": "INV-2"}, other, allow_missing_invoice_id=True)
    # Same rows, another frame, other positions, different missing token and padding.
    second = clean_rows(
        other,
        {"invoice_id": "INV-9"},
        {"invoice_id": "null", "customer_id": " C001 ", "status": "PAID  "},
        allow_missing_invoice_id=True,
    )
    gen_a, gen_b = first[0]["clean_invoice_id"], first[2]["clean_invoice_id"]
    assert gen_a.startswith("GEN-") and gen_b.startswith("GEN-")
    assert gen_a != gen_b  # different content, different id
    assert second[2]["clean_invoice_id"] == gen_a
    assert second[0]["clean_invoice_id"] == gen_b
    # Present ids are untouched.
    assert first[1]["clean_invoice_id"] == "INV-2"
    assert second[1]["clean_invoice_id"] == "INV-9"


def test_generated_id_row_still_checked_by_the_other_rules():
    row = clean_rows({"invoice_id": "", "status": "LOST"}, allow_missing_invoice_id=True)[0]
    assert_rejected(row, UNKNOWN_STATUS, "UNKNOWN_STATUS: status 'LOST' is not in dim_status")


def test_allow_missing_invoice_id_still_rejects_too_long_ids():
    row = clean_rows({"invoice_id": "Y" * 65}, allow_missing_invoice_id=True)[0]
    assert row["reason"] == UNKNOWN_INVOICE_ID


# --- invoices_clean: total mismatch -----------------------------------------------


@pytest.mark.parametrize(
    ("qty", "unit_price", "total"),
    [
        ("3", "0.10", "0.30"),  # float: 3 * 0.1 == 0.30000000000000004
        ("3", "1.10", "3.30"),  # float: 3.3000000000000003
        ("7", "0.07", "0.49"),
        ("1000000", "9999.99", "9999990000.00"),
        ("3", "$0.10", "USD 0.30"),
    ],
)
def test_total_match_uses_exact_decimal_arithmetic(qty, unit_price, total):
    assert_valid(clean_one(qty=qty, unit_price=unit_price, total=total))


def test_total_mismatch():
    row = clean_one(qty="3", unit_price="0.10", total="0.31")
    assert_rejected(row, TOTAL_MISMATCH, "TOTAL_MISMATCH: total 0.31 != qty 3 x unit_price 0.10 = 0.30")


def test_total_mismatch_after_rounding_total_to_cents():
    # 3.005 rounds half-up to 3.01, which is not 2 x 1.50.
    row = clean_one(qty="2", unit_price="1.50", total="3.005")
    assert_rejected(row, TOTAL_MISMATCH, "TOTAL_MISMATCH: total 3.01 != qty 2 x unit_price 1.50 = 3.00")
    # 3.004 rounds to 3.00 and matches.
    assert_valid(clean_one(qty="2", unit_price="1.50", total="3.004"))


def test_no_total_mismatch_when_a_number_is_invalid():
    row = clean_one(qty="abc", unit_price="1.50", total="999.00")
    assert_rejected(row, INVALID_QUANTITY, "INVALID_QUANTITY: qty 'abc' is not a whole number")


# --- invoices_clean: reason order and detail ----------------------------------------

# One bad value per rule, in contract order.
BAD_VALUES = [
    (
        "customer_name",
        "A" * 256 + FIELD_CUT.format(size="2,000,000"),
        "FIELD_TOO_LONG: customer_name is longer than the field limit (2,000,000 bytes)",
    ),
    ("invoice_id", "NULL", "UNKNOWN_INVOICE_ID: invoice_id is missing"),
    ("issue_date", "2023-13-22", "INVALID_DATE: issue_date '2023-13-22' is not a real date"),
    ("customer_id", "C404", "UNKNOWN_CUSTOMER: customer_id 'C404' is not in dim_customer"),
    ("item_description", "Spanner", "UNKNOWN_ITEM: item_description 'Spanner' is not in dim_item"),
    ("status", "LOST", "UNKNOWN_STATUS: status 'LOST' is not in dim_status"),
    ("qty", "14.5", "INVALID_QUANTITY: qty '14.5' is not a whole number"),
    ("unit_price", "-1", "INVALID_UNIT_PRICE: unit_price '-1' is negative"),
    ("total", "N/A", "INVALID_TOTAL: total is missing"),
]


@pytest.mark.parametrize("first", range(len(BAD_VALUES)))
def test_reason_is_first_failure_and_detail_lists_every_failure(first):
    failing = BAD_VALUES[first:]
    row = clean_one(**{column: value for column, value, _ in failing})
    assert_rejected(row, REASONS[first], "; ".join(message for _, _, message in failing))


def test_bad_date_and_null_total():
    row = clean_one(issue_date="31/02/2023", total="NULL")
    assert_rejected(
        row,
        INVALID_DATE,
        "INVALID_DATE: issue_date '31/02/2023' is not a real date; INVALID_TOTAL: total is missing",
    )


def test_reason_order_with_a_total_mismatch():
    row = clean_one(status="LOST", total="9.99")
    assert_rejected(
        row,
        UNKNOWN_STATUS,
        "UNKNOWN_STATUS: status 'LOST' is not in dim_status; "
        "TOTAL_MISMATCH: total 9.99 != qty 2 x unit_price 1.50 = 3.00",
    )


def test_mixed_frame_maps_each_row_to_its_own_result():
    rows = clean_rows(
        {"invoice_id": "A"},
        {"invoice_id": "B", "issue_date": "bad"},
        {"invoice_id": "C", "status": "paid"},
        {"invoice_id": "D", "issue_date": "bad", "status": "paid"},
        {"invoice_id": "E", "issue_date": "05/01/2023", "qty": "1", "total": "1.50"},
        {"invoice_id": "F", "customer_id": "c002", "item_description": "gadget"},
    )
    assert [r["reason"] if isinstance(r["reason"], str) else None for r in rows] == [
        None,
        INVALID_DATE,
        None,
        INVALID_DATE,
        None,
        None,
    ]
    assert [r["clean_invoice_id"] if isinstance(r["clean_invoice_id"], str) else None for r in rows] == [
        "A",
        None,
        "C",
        None,
        "E",
        "F",
    ]
    assert rows[4]["clean_qty"] == 1
    assert rows[4]["clean_total"] == "1.50"
    assert (rows[5]["customer_key"], rows[5]["item_key"]) == (2, 11)


def test_day_first_setting_reaches_the_frame():
    raw = frame({"issue_date": "05/01/2023"}, {"issue_date": "12/31/2023"})
    day_first = invoices_clean(raw, dims=DIMS)["clean_issue_date"].tolist()
    month_first = invoices_clean(raw, dims=DIMS, day_first=False)["clean_issue_date"].tolist()
    assert day_first == [date(2023, 1, 5), date(2023, 12, 31)]
    assert month_first == [date(2023, 5, 1), date(2023, 12, 31)]


def test_rejected_rows_have_null_clean_columns_and_valid_rows_none_missing():
    out = invoices_clean(frame({}, {"qty": "0"}), dims=DIMS)
    assert out.iloc[0][list(CLEAN_COLUMNS[:-2])].notna().all()
    assert out.iloc[0][["reason", "detail"]].isna().all()
    assert out.iloc[1][list(CLEAN_COLUMNS[:-2])].isna().all()
    assert out.iloc[1][["reason", "detail"]].tolist() == [
        INVALID_QUANTITY,
        "INVALID_QUANTITY: qty '0' is not positive",
    ]


def test_too_large_amounts_are_rejected():
    # decimal(12,2) for the unit price and decimal(14,2) for the total.
    row = clean_one(qty="1", unit_price="10000000000.00", total="10000000000.00")
    assert_rejected(row, INVALID_UNIT_PRICE, "INVALID_UNIT_PRICE: unit_price '10000000000.00' is too large")
    assert_valid(clean_one(qty="1", unit_price="9999999999.99", total="9999999999.99"))


def test_empty_frame_gives_empty_result():
    out = invoices_clean(pd.DataFrame(columns=list(RAW_COLUMNS), dtype=str), dims=DIMS)
    assert list(out.columns) == list(CLEAN_COLUMNS)
    assert len(out) == 0


def test_module_missing_tokens_match_the_contract():
    assert frozenset({"", "null", "n/a", "nan", "none"}) == clean.MISSING_TOKENS
