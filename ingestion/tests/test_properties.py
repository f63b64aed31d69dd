"""Properties of the real extract and clean code, over generated files (hypothesis)."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.pipeline import errors
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import dimensions_from_rows, invoices_clean
from ingestion.pipeline.extract import FileFormat, chunks_read, file_format_detect
from ingestion.pipeline.rules import REASONS
from ingestion.tests.files import invoices_csv

DIMS = dimensions_from_rows(customers=[("C-1", 1)], items=[("Widget", 2)], statuses=[("Paid", 3)])
FILE_ERRORS = [
    re.compile("^" + re.sub(r"\\\{[^}]*\\\}", ".*", re.escape(value)) + "$", re.S)
    for name, value in vars(errors).items()
    if name.startswith("FILE_") and isinstance(value, str)
]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_and_clean(content: bytes) -> pd.DataFrame:
    """What a load does with a file, short of the database: every row, with its reason."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.csv"
        path.write_bytes(content)
        fmt = file_format_detect(path)
        try:
            frames = _frames(path, fmt)
        except errors.EncodingMismatch:  # as the load does: read again as cp1252
            frames = _frames(path, FileFormat(fmt.kind, "cp1252", fmt.delimiter))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["reason", "clean_invoice_id"])
    )


def _frames(path: Path, fmt: FileFormat) -> list[pd.DataFrame]:
    conventions = AmountConventions()
    return [
        pd.concat([raw, invoices_clean(raw, dims=DIMS, conventions=conventions)], axis=1)
        for raw in chunks_read(path, fmt, chunk_rows=7)
    ]


def assert_each_row_loaded_or_rejected(content: bytes) -> None:
    try:
        frame = read_and_clean(content)
    except errors.FileRejected as exc:
        assert any(p.match(str(exc)) for p in FILE_ERRORS), str(exc)
        return
    rejected = frame["reason"].notna()
    assert set(frame.loc[rejected, "reason"]) <= set(REASONS)
    assert frame.loc[~rejected, "clean_invoice_id"].notna().all()
    assert rejected.sum() + (~rejected).sum() == len(frame)


@FAST
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_file_error_or_rows_each_loaded_or_rejected(content):
    assert_each_row_loaded_or_rejected(content)


CELL = st.one_of(
    st.sampled_from(["INV-1", "2023-05-01", "C-1", "Widget", "1", "5.00", "Paid", "", "NULL", '"', '""']),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)


@FAST
@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=11), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
)
def test_any_table_under_the_header_gives_a_file_error_or_rows_each_loaded_or_rejected(
    rows, delimiter, encoding
):
    content = invoices_csv(*rows, delimiter=delimiter).encode(encoding, errors="replace")
    assert_each_row_loaded_or_rejected(content)


def point(cents: int, grouped: bool) -> str:
    whole, frac = divmod(cents, 100)
    return (f"{whole:,}" if grouped else str(whole)) + f".{frac:02d}"


def comma(cents: int, grouped: bool) -> str:
    whole, frac = divmod(cents, 100)
    return (f"{whole:,}".replace(",", ".") if grouped else str(whole)) + f",{frac:02d}"


@FAST
@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=20),
    writer=st.sampled_from([point, comma]),
    grouped=st.booleans(),
)
def test_amounts_printed_in_either_convention_read_back_to_the_same_cents(amounts, writer, grouped):
    lines = []
    for n, cents in enumerate(amounts):
        text = writer(cents, grouped)
        lines.append(f"INV-{n};2023-05-01;C-1;Acme;Widget;1;{text};{text};Paid")
    frame = read_and_clean(invoices_csv(*lines, delimiter=";").encode())
    assert frame["reason"].isna().all(), frame["detail"].dropna().tolist()
    assert [Decimal(v) for v in frame["clean_total"]] == [Decimal(c) / 100 for c in amounts]


DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
DATE_FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.year}-{d.month}-{d.day}",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    lambda d: f"{d.day}/{d.month}/{d.year}",
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    lambda d: f"{d.isoformat()} 00:00:00",
    lambda d: f"{d.isoformat()}T13:45",
]


@FAST
@given(days=st.lists(DAYS, min_size=1, max_size=10))
def test_dates_printed_in_every_accepted_format_read_back_to_the_same_day(days):
    lines = []
    for n, day in enumerate(days):
        for f, write in enumerate(DATE_FORMATS):
            lines.append(f"INV-{n}-{f},{write(day)},C-1,Acme,Widget,1,5.00,5.00,Paid")
    frame = read_and_clean(invoices_csv(*lines).encode())
    assert frame["reason"].isna().all(), frame["detail"].dropna().tolist()
    assert list(frame["clean_issue_date"]) == [day for day in days for _ in DATE_FORMATS]
