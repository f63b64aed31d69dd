"""What a batch says about itself: a dry run is marked as one everywhere a batch shows, and
while a load runs the batch page's progress bar and line and the progress JSON agree."""

from __future__ import annotations

import html
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import LoadBatch, RejectedInvoice
from warehouse.selectors.batches import DRY_RUN_TEXT, batch_present, stage_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
)
FINISHING = [s.value for s in LoadBatch.Stage][1:6]  # waiting .. committing, in order


def page_of(client, batch: LoadBatch) -> str:
    return client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk])).content.decode()


def summary_of(page: str) -> str:
    return page.split('id="batch-summary"')[1].split("</section>")[0]


def test_a_dry_run_says_so_in_the_command_the_api_the_progress_the_list_and_its_page(admin_client, tmp_path):
    path = write_invoices(tmp_path, *ROWS, name="messy.csv")
    out = StringIO()
    call_command("load_invoices", str(path), "--dry-run", stdout=out)
    assert DRY_RUN_TEXT in out.getvalue()
    dry = LoadBatch.objects.get()
    out = StringIO()
    call_command("load_invoices", str(path), "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["dry_run"] is True
    real = ingest(path)

    api = admin_client.get(reverse("api:batch_detail", args=[dry.pk])).json()
    assert (api["dry_run"], api["rows_rejected"]) == (True, 2)
    assert api["progress_text"].endswith(f"succeeded \u00b7 {DRY_RUN_TEXT}")
    progress = admin_client.get(reverse("admin:warehouse_loadbatch_progress", args=[dry.pk])).json()
    assert progress == api
    assert admin_client.get(reverse("api:batch_detail", args=[real.pk])).json()["dry_run"] is False

    listed = admin_client.get(reverse("admin:warehouse_loadbatch_changelist")).content.decode()
    rows = {
        b.pk: next(r for r in listed.split("<tr") if f"/loadbatch/{b.pk}/change/" in r) for b in (dry, real)
    }
    assert 'class="ingestion-dry-run"' in rows[dry.pk]
    assert 'class="ingestion-dry-run"' not in rows[real.pk]

    summary = summary_of(page_of(admin_client, dry))
    assert f"<strong>{DRY_RUN_TEXT}.</strong>" in summary
    assert "would load" in summary and "would reject" in summary
    # Nothing was written, so nothing links to rejected rows that do not exist.
    assert not RejectedInvoice.objects.filter(batch=dry).exists()
    assert f"rejectedinvoice/?batch__id__exact={dry.pk}" not in page_of(admin_client, dry)
    assert "See the" not in summary
    assert '<span class="ingestion-reason-chip"><strong>1</strong> INVALID_DATE</span>' in summary

    real_summary = summary_of(page_of(admin_client, real))
    assert DRY_RUN_TEXT not in real_summary and "See the 2 rejected rows" in real_summary
    assert RejectedInvoice.objects.filter(batch=real).count() == 2


def test_the_progress_bar_and_line_agree_with_the_progress_json_through_a_load(admin_client, tmp_path):
    path = invoice_file_generate(path=tmp_path / "messy.csv", rows=9_000, seed=5)  # 3 chunks, repeats
    batch = batch_create(path=path)
    progress_url = reverse("admin:warehouse_loadbatch_progress", args=[batch.pk])
    seen = []

    def on_progress(current: LoadBatch) -> None:
        payload = admin_client.get(progress_url).json()
        page = page_of(admin_client, current)
        bar = re.search(r'class="ingestion-progress-bar" style="width:(\d+)%"', page)
        text = re.search(r'class="ingestion-progress-text">(.*?)</span>', page)
        assert bar is not None and text is not None, page
        width = bar[1]
        line = html.unescape(text[1])
        without_seen = re.compile(r" \u00b7 last seen \d+ s ago")
        # One presenter: the box's bar and line are the progress JSON's percent and text.
        assert int(width) == (payload["percent"] or 0)
        assert without_seen.sub("", line) == without_seen.sub("", payload["progress_text"])
        percent = "" if payload["percent"] is None else f"{payload['percent']}% \u00b7 "  # None: no total yet
        assert payload["progress_text"].startswith(f"{percent}{payload['rows_done']:,}")
        if payload["status"] == "running" and payload["stage"]:
            assert f"running ({stage_text(payload['stage'])})" in payload["progress_text"]
        present = batch_present(LoadBatch.objects.get(pk=batch.pk))
        assert {k: payload[k] for k in ("percent", "stage", "rows_done", "status")} == {
            k: present[k] for k in ("percent", "stage", "rows_done", "status")
        }
        seen.append((payload["status"], payload["stage"], payload["percent"]))

    invoice_file_ingest(batch_id=batch.pk, on_progress=on_progress)
    print("status, stage, percent at each progress update:", seen)

    assert seen[-1] == ("succeeded", "done", 100)
    finishing = [stage for status, stage, _ in seen if stage in FINISHING]
    assert finishing == sorted(finishing, key=FINISHING.index)  # in the declared order
    # After the reading, the load says what it does: its totals, the repeats, the commit.
    assert {"aggregates", "duplicates", "committing"} <= set(finishing)
    percents = [percent for _, _, percent in seen if percent is not None]
    assert percents == sorted(percents)  # never backwards
