"""One fact in one place: the validation rules, the file readers and the presentation of a
batch are each declared once, and everything else derives from them. These tests fail when
a second copy appears."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.test import RequestFactory
from django.urls import reverse

from ingestion.admin.display import failing_fields
from ingestion.admin.filters import ReasonFilter
from ingestion.admin.rejected import RejectedInvoiceAdmin
from ingestion.batches.forms import InvoiceUploadForm
from ingestion.batches.paths import INPUT_SUFFIXES
from ingestion.pipeline import formats
from ingestion.pipeline.rules import REASONS, Reason, reason_table_markdown
from ingestion.tests.files import write_invoices
from warehouse.models import LoadBatch, RejectedInvoice
from warehouse.selectors.batches import batch_present

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for folder in ("ingestion", "warehouse", "dashboard", "config")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".py", ".html", ".js"} and "tests" not in p.parts and "migrations" not in p.parts
]


def test_the_load_contract_reason_table_is_the_rules_table():
    page = (ROOT / "docs" / "loading.md").read_text(encoding="utf-8")
    start = page.index("| reason | columns | when |")
    lines = page[start:].splitlines()
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
    request = RequestFactory().get(reverse("admin:warehouse_rejectedinvoice_changelist"))
    reasons = ReasonFilter(request, {}, RejectedInvoice, RejectedInvoiceAdmin(RejectedInvoice, admin.site))
    assert [code for code, _ in reasons.lookup_choices] == list(REASONS)


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


# --- the presentation of a batch: warehouse.selectors.batches.batch_present -----------------

PRESENTER = ROOT / "warehouse" / "selectors" / "batches.py"
BATCH_SOURCES = [
    *(p for p in SOURCES if "vendor" not in p.parts),  # not the minified Plotly
    *(p for folder in ("bench", "scripts") for p in (ROOT / folder).rglob("*.py")),
]
# Keys only a presentation of a whole batch carries (an attempt record has its own rows_done).
BATCH_KEYS = (*LoadBatch.COUNT_FIELDS, "reason_counts", "last_seen_seconds", "progress_text")
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
)


def as_json(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_every_view_of_a_batch_shows_what_batch_present_gives(tmp_path, admin_client):
    path = write_invoices(tmp_path, *ROWS, name="messy.csv")
    out = StringIO()
    call_command("load_invoices", str(path), "--json", stdout=out)
    line = json.loads(out.getvalue())
    batch = LoadBatch.objects.get(pk=line["batch_id"])
    presented = batch_present(batch)
    expected = as_json(presented)
    assert (expected["rows_read"], expected["rows_rejected"]) == (3, 2)  # something to show

    # load_invoices --json: the documented keys, the presenter's values.
    renamed = {"batch_id": "id", "file": "file_name", "reasons": "reason_counts"}
    assert {k: line[k] for k in renamed} == {k: expected[name] for k, name in renamed.items()}
    assert line["error"] == (expected["error"] or None)
    shared = set(line) & set(expected) - {"error"}
    assert shared >= {"status", *LoadBatch.COUNT_FIELDS}
    assert {k: line[k] for k in shared} == {k: expected[k] for k in shared}

    # The admin's progress JSON and the API's batch: the presenter, whole.
    progress = admin_client.get(reverse("admin:warehouse_loadbatch_progress", args=[batch.pk]))
    assert progress.json() == expected
    api = admin_client.get(reverse("api:batch_detail", args=[batch.pk]))
    assert api.json() == expected
    listed = admin_client.get(reverse("api:batches")).json()["results"]
    assert [b for b in listed if b["id"] == batch.pk] == [expected]

    # The batch page: the presenter's values, formatted.
    page = admin_client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk]))
    assert page.context["summary"]["presented"] == presented
    html = page.content.decode()
    for field, shown in (("rows_read", "read"), ("rows_loaded", "loaded"), ("rows_rejected", "rejected")):
        assert f'id="summary-{shown}">{presented[field]:,}<' in html
    assert f'<span class="ingestion-progress-text">{presented["progress_text"]}</span>' in html
    for reason, count in presented["reason_counts"].items():
        assert f"<strong>{count:,}</strong> {reason}" in html


def test_no_module_but_the_presenter_builds_a_batch_dict():
    """A second presenter would write the batch's keys into a dict of its own."""
    keys = re.compile(r"[\"'](" + "|".join(BATCH_KEYS) + r")[\"']\s*:")
    copied = re.compile(r"getattr\(\s*\w+\s*,\s*\w+\s*\)\s+for\s+\w+\s+in\s+(?:LoadBatch\.)?COUNT_FIELDS\b")
    copies = [
        f"{path.relative_to(ROOT)}: {match[0]}"
        for path in BATCH_SOURCES
        if path != PRESENTER
        for pattern in (keys, copied)
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert copies == []


def test_the_rejection_rate_is_computed_only_by_the_model():
    formula = re.compile(r"rejected[^/\n]*/[^\n]*read|widthratio[^\n]*rejected")
    copies = [
        f"{path.relative_to(ROOT)}: {match[0]}"
        for path in BATCH_SOURCES
        for match in formula.finditer(path.read_text(encoding="utf-8"))
        if path.relative_to(ROOT).as_posix() != "warehouse/models/batches.py"
    ]
    assert copies == []
    assert LoadBatch(rows_read=400, rows_rejected=1).rejection_rate == Decimal("0.25")
