"""The data version changes with every commit that changes what the dashboard shows.

A registry: every module that writes ``fact_invoices``, a sales aggregate or a dimension is
listed with the module that bumps the version in the same transaction, and each kind of
commit is run for real and must change the version. A new writer that is not registered
fails the first test; a registered one that stops bumping fails the last ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from ingestion.rejected.reprocess import reprocess_batches_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer, Invoice, Item, RejectedInvoice, Status
from warehouse.versions import data_version, data_version_bump

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for folder in ("ingestion", "warehouse", "dashboard", "config", "tokens")
    for p in (ROOT / folder).rglob("*.py")
    if "tests" not in p.parts and "migrations" not in p.parts
]
_TABLES = r"[`\"]?(?:fact_invoices|agg_\w+|dim_\w+)"
WRITES = [
    re.compile(rf"(?:INSERT\s+INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM|INTO\s+TABLE)\s+{_TABLES}", re.I),
    re.compile(r"table=\"(?:fact_invoices|agg_\w+)\""),
    re.compile(r"_insert_select\(\s*\"agg_"),
    re.compile(
        r"\b(?:Invoice|DailySales|MonthlySales|WeeklySales)\.objects\b[^\n]*"
        r"\.(?:create|bulk_create|bulk_update|update|delete|get_or_create|update_or_create)\("
    ),
]
# Module that writes -> the module whose commit of that write bumps the version.
WRITERS = {
    "ingestion/pipeline/sql.py": "ingestion/batches/run_outcome.py",  # the load's statements
    "ingestion/pipeline/merge.py": "ingestion/batches/run_outcome.py",  # the load's merge
    "ingestion/pipeline/sql_facts.py": "ingestion/batches/run_outcome.py",  # the load's writes from a chunk
    "ingestion/pipeline/aggregate_changes.py": "ingestion/batches/run_outcome.py",  # aggregate deltas
    "warehouse/aggregates.py": "warehouse/aggregates.py",
    "warehouse/versions.py": "warehouse/versions.py",  # the bump itself
}
# Dimension rows are written through the ORM only (``warehouse.versions.dimension_changed``
# bumps on every save and delete): a bulk write would bypass it.
DIMENSION_BULK = re.compile(
    r"\b(?:Customer|Item|Status)\.objects\b[^\n]*\.(?:update|bulk_create|bulk_update)\("
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.django_db(transaction=False)
def test_every_writer_of_facts_aggregates_or_names_is_registered_with_its_bump():
    writing = {_relative(p) for p in SOURCES if any(w.search(p.read_text(encoding="utf-8")) for w in WRITES)}
    assert "ingestion/pipeline/merge.py" in writing  # the scan finds writers at all
    assert writing - set(WRITERS) == set(), "register the new writer in WRITERS and test its bump below"
    for bumper in set(WRITERS.values()):
        assert "data_version_bump()" in (ROOT / bumper).read_text(encoding="utf-8"), bumper


@pytest.mark.django_db(transaction=False)
def test_no_dimension_row_is_written_around_the_models_signals():
    bulk = [
        f"{_relative(p)}: {m[0]}"
        for p in SOURCES
        for m in DIMENSION_BULK.finditer(p.read_text(encoding="utf-8"))
    ]
    assert bulk == []


def test_the_bump_is_one_statement_that_recreates_a_flushed_row():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM warehouse_data_version")
    assert data_version() is None  # nothing may be cached then
    data_version_bump()
    first = data_version()
    assert first is not None
    data_version_bump()
    assert data_version() == first + 1


def test_a_rolled_back_change_leaves_the_version_as_it_was():
    before = data_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer = Customer.objects.filter(customer_id="C-100").first()
        assert customer is not None
        customer.save()
        raise RuntimeError("rolled back")
    assert data_version() == before


def _load(tmp_path):
    batch = ingest(write_invoices(tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10,10,Paid"))
    assert batch.status == "succeeded", batch.error


def _reprocess(tmp_path):
    ingest(write_invoices(tmp_path, "INV-2,2024-01-05,C-999,New,Server Setup,1,10,10,Paid", name="u.csv"))
    Customer.objects.create(customer_id="C-999", customer_name="New")
    return lambda: reprocess_batches_create(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))


def _refresh_days(tmp_path):
    _load(tmp_path)
    return lambda: daily_sales_refresh(days=[Invoice.objects.get().issue_date])


def _admin_rename(tmp_path, admin_client):
    customer = Customer.objects.get(customer_id="C-100")
    url = reverse("admin:warehouse_customer_change", args=[customer.pk])
    return lambda: admin_client.post(url, {"customer_id": "C-100", "customer_name": "Acme Renamed"})


def _import(tmp_path, admin_client):
    url = reverse("admin:warehouse_customer_import")
    form = admin_client.get(url).context["form"]
    fmt = next(v for v, label in form.fields["format"].choices if str(label).lower() == "csv")
    content = b"customer_id,customer_name\nC-101,Globex Renamed\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    preview = admin_client.post(url, {"format": fmt, "import_file": SimpleUploadedFile("c.csv", content)})
    confirm = preview.context["confirm_form"].initial
    return lambda: admin_client.post(reverse("admin:warehouse_customer_process_import"), confirm)


COMMITS = {
    "a load": lambda tmp_path, client: lambda: _load(tmp_path),
    "a re-processing": lambda tmp_path, client: _reprocess(tmp_path),
    "a full aggregate refresh": lambda tmp_path, client: lambda: call_command("dashboard_refresh"),
    "an aggregate refresh of some days": lambda tmp_path, client: _refresh_days(tmp_path),
    "a customer renamed in the admin": _admin_rename,
    "a dimension import": _import,
    "an item added": lambda tmp_path, client: lambda: Item.objects.create(item_description="New item"),
    "a status deleted": lambda tmp_path, client: (
        lambda: Status.objects.filter(status_name="REFUNDED").delete()
    ),
}


@pytest.mark.parametrize("kind", list(COMMITS))
def test_each_kind_of_commit_changes_the_data_version(kind, tmp_path, admin_client):
    commit = COMMITS[kind](tmp_path, admin_client)
    before = data_version()
    commit()
    assert data_version() not in (None, before)
