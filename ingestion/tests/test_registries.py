"""One fact in one place: the validation rules and the file readers are each declared once,
and everything else derives from them. These tests fail when a second copy appears."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestion.admin.display import failing_fields
from ingestion.admin.filters import ReasonFilter
from ingestion.admin.rejected import RejectedInvoiceAdmin
from ingestion.forms import InvoiceUploadForm
from ingestion.paths import INPUT_SUFFIXES
from ingestion.pipeline import formats
from ingestion.pipeline.rules import REASONS, Reason, reason_table_markdown

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for folder in ("ingestion", "warehouse", "dashboard", "config")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".py", ".html", ".js"} and "tests" not in p.parts and "migrations" not in p.parts
]


def test_the_readme_reason_table_is_the_rules_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| reason | columns | when |")
    lines = readme[start:].splitlines()
    table = "\n".join(lines[: next(i for i, line in enumerate(lines) if not line.startswith("|"))])
    assert table == reason_table_markdown()


def test_reasons_are_the_rules_in_check_order():
    assert tuple(reason.value for reason in Reason) == REASONS
    assert REASONS[0] == "FIELD_TOO_LONG" and REASONS[-1] == "DUPLICATE_INVOICE_ID"


@pytest.mark.parametrize("reason", list(Reason))
def test_the_admin_highlights_the_columns_a_rule_reads(reason):
    assert failing_fields(reason.value, "") == set(reason.columns)


def test_the_admin_highlights_every_failure_named_in_the_detail():
    detail = "INVALID_DATE: issue_date 'x' is not a real date; INVALID_TOTAL: total is missing"
    assert failing_fields("INVALID_DATE", detail) == {"issue_date", "total"}


def test_the_admin_reason_filter_offers_every_rule():
    assert ReasonFilter in RejectedInvoiceAdmin.list_filter
    assert [code for code, _ in ReasonFilter.lookups(None, None, None)] == list(REASONS)


def test_no_reason_code_is_written_out_outside_the_rules():
    codes = re.compile(r"[\"'](" + "|".join(REASONS) + r")[\"']")
    copies = [
        f"{path.relative_to(ROOT)}: {match[0]}"
        for path in SOURCES
        if path.name != "rules.py"
        for match in codes.finditer(path.read_text(encoding="utf-8"))
    ]
    assert copies == []


def test_the_folder_scan_and_the_upload_form_offer_the_readers_extensions():
    assert {suffix for reader in formats.READERS for suffix in reader.extensions} == INPUT_SUFFIXES
    accept = InvoiceUploadForm().fields["files"].widget.attrs["accept"]
    assert set(accept.split(",")) == INPUT_SUFFIXES


def test_each_kind_is_declared_once():
    kinds = [reader.kind for reader in formats.READERS]
    assert len(kinds) == len(set(kinds))
    assert all(formats.reader_for(kind).kind == kind for kind in kinds)


def test_no_file_format_is_written_out_outside_the_registry():
    extensions = re.compile(r"[\"'](" + "|".join(re.escape(s) for s in sorted(INPUT_SUFFIXES)) + r")[\"']")
    kind_tests = re.compile(r"kind\s*[!=]=\s*[\"']|[\"']xl/workbook\.xml[\"']")
    copies = []
    for path in SOURCES:
        if path.name == "formats.py":
            continue
        text = path.read_text(encoding="utf-8")
        text = text.replace('suffix=".csv"', "")  # the bulk writer's temporary file, not an input
        copies += [f"{path.relative_to(ROOT)}: {m[0]}" for m in extensions.finditer(text)]
        copies += [f"{path.relative_to(ROOT)}: {m[0]}" for m in kind_tests.finditer(text)]
    assert copies == []
