"""One guard for every file the product opens: the admin's imports of customers, items and
statuses refuse what the uploads refuse (size, workbook bombs), before reading the file,
and leave no temporary file behind, whatever happens to the import."""

from __future__ import annotations

import os
import time

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.tests import hostile
from warehouse.imports import PREVIEW_KEPT_SECONDS, import_tmp_dir
from warehouse.models import Item

pytestmark = pytest.mark.django_db

MIB = 1 << 20


@pytest.fixture
def import_folder(settings, tmp_path):
    settings.LOAD_TMP_DIR = tmp_path / "load-tmp"
    return import_tmp_dir()


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def _format(client, model: str, label: str) -> str:
    form = client.get(reverse(f"admin:warehouse_{model}_import")).context["form"]
    return next(v for v, text in form.fields["format"].choices if str(text).lower() == label)


def _preview(client, model: str, name: str, content: bytes, label: str = "csv"):
    url = reverse(f"admin:warehouse_{model}_import")
    return client.post(
        url, {"format": _format(client, model, label), "import_file": SimpleUploadedFile(name, content)}
    )


BOMBS = {  # 600 MiB of sheet in well under a MiB of file
    "one-huge-cell": hostile.xlsx_one_huge_cell,
    "blank-rows": lambda folder, size: hostile.xlsx_blank_rows(folder, size, numbered=False),
}


@pytest.mark.parametrize("bomb", BOMBS.values(), ids=BOMBS.keys())
def test_a_zip_bombed_workbook_is_refused_by_the_import_as_by_the_upload(
    admin_client, import_folder, tmp_path, bomb
):
    path = bomb(tmp_path, 600 * MIB)
    content = path.read_bytes()
    me = psutil.Process()
    rss_before, started = me.memory_info().rss, time.monotonic()
    response = _preview(admin_client, "customer", path.name, content, "xlsx")
    seconds, growth = time.monotonic() - started, me.memory_info().rss - rss_before
    print(
        f"{path.name}: {len(content) / 1024:,.0f} KiB refused in {seconds:.2f} s, RSS +{growth / MIB:.1f} MiB"
    )
    errors = response.context["form"].errors["import_file"]
    assert errors[0].startswith(f"{path.name}: workbook part xl/worksheets/sheet1.xml inflates")
    assert growth < 50 * MIB
    assert _leftovers(import_folder) == []

    upload = admin_client.post(reverse("api:batch_upload"), {"file": SimpleUploadedFile(path.name, content)})
    assert upload.status_code == 400
    assert errors[0].split(": ", 1)[1] in upload.json()["error"]  # the same guard, the same words


def test_an_import_over_the_upload_limit_is_refused(admin_client, import_folder, settings):
    settings.ADMIN_UPLOAD_MAX_BYTES = 100
    response = _preview(admin_client, "item", "items.csv", b"item_description\n" + b"x" * 200 + b"\n")
    assert response.context["form"].errors["import_file"] == [
        "items.csv: 218\xa0bytes is over the limit of 100\xa0bytes"
    ]
    assert _leftovers(import_folder) == []


def test_no_temporary_file_is_left_by_a_failed_confirmed_or_abandoned_import(admin_client, import_folder):
    # A preview that fails: nothing kept.
    failed = _preview(admin_client, "item", "bad.csv", b"no_such_column\nx\n")
    assert "confirm_form" not in failed.context
    assert _leftovers(import_folder) == []

    # A preview, then its confirmation: the file lives until the confirmation.
    preview = _preview(admin_client, "item", "ok.csv", b"item_description\nNew Thing\n")
    assert len(_leftovers(import_folder)) == 1
    confirmed = admin_client.post(
        reverse("admin:warehouse_item_process_import"), preview.context["confirm_form"].initial
    )
    assert confirmed.status_code == 302 and Item.objects.filter(item_description="New Thing").exists()
    assert _leftovers(import_folder) == []

    # A preview nobody confirms: removed once it is older than PREVIEW_KEPT_SECONDS.
    _preview(admin_client, "item", "abandoned.csv", b"item_description\nOther Thing\n")
    [abandoned] = import_folder.glob("*")
    old = time.time() - PREVIEW_KEPT_SECONDS - 60
    os.utime(abandoned, (old, old))
    _preview(admin_client, "item", "later.csv", b"item_description\nThird Thing\n")
    assert abandoned.name not in _leftovers(import_folder)
    assert len(_leftovers(import_folder)) == 1


def test_a_confirmation_that_fails_removes_its_file(admin_client, import_folder, monkeypatch):
    preview = _preview(admin_client, "item", "ok.csv", b"item_description\nNew Thing\n")
    assert len(_leftovers(import_folder)) == 1
    from warehouse.admin import ItemAdmin

    def broken(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ItemAdmin, "process_dataset", broken)
    admin_client.raise_request_exception = False
    response = admin_client.post(
        reverse("admin:warehouse_item_process_import"), preview.context["confirm_form"].initial
    )
    assert response.status_code == 500
    assert _leftovers(import_folder) == []
