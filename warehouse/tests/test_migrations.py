"""Migrations that move data keep it: forwards and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("warehouse", "0012_staging_marks")]
AFTER = [("warehouse", "0013_rejected_resolutions")]


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_resolved_rejected_rows_keep_their_resolution_across_the_move_to_its_own_table():
    apps = _migrate(BEFORE)
    try:
        LoadBatch = apps.get_model("warehouse", "LoadBatch")
        RejectedInvoice = apps.get_model("warehouse", "RejectedInvoice")
        load = LoadBatch.objects.create(file_name="a.csv", file_path="/a.csv", sha256="0" * 64)
        fixer = LoadBatch.objects.create(file_name="reprocess of 1 rows", file_path="", sha256="1" * 64)
        row = {"batch": load, "reason": "UNKNOWN_CUSTOMER", "raw_record": {}, "file_name": "a.csv"}
        row |= {"file_sha256": "0" * 64, "created_at": "2026-01-02T03:04:05Z"}
        resolved = RejectedInvoice.objects.create(
            **row, source_row=2, resolved_at="2026-02-03T04:05:06Z", resolved_by_batch=fixer
        )
        open_row = RejectedInvoice.objects.create(**row, source_row=3)

        apps = _migrate(AFTER)
        Resolution = apps.get_model("warehouse", "RejectedResolution")
        moved = Resolution.objects.values_list("rejected_id", "batch_id", "resolved_at__year")
        assert list(moved) == [(resolved.pk, fixer.pk, 2026)]
        assert not Resolution.objects.filter(rejected_id=open_row.pk).exists()

        apps = _migrate(BEFORE)
        RejectedInvoice = apps.get_model("warehouse", "RejectedInvoice")
        back = RejectedInvoice.objects.order_by("source_row")
        assert [(r.resolved_by_batch_id, r.resolved_at and r.resolved_at.month) for r in back] == [
            (fixer.pk, 2),
            (None, None),
        ]
    finally:
        _migrate(_latest())


@pytest.mark.django_db(transaction=True)
def test_rejected_rows_get_their_file_sha256_back_from_their_batch():
    apps = _migrate([("warehouse", "0015_rejected_sha256_on_the_batch")])
    try:
        LoadBatch = apps.get_model("warehouse", "LoadBatch")
        RejectedInvoice = apps.get_model("warehouse", "RejectedInvoice")
        load = LoadBatch.objects.create(file_name="a.csv", file_path="/a.csv", sha256="a" * 64)
        row = {"batch": load, "reason": "INVALID_DATE", "raw_record": {}, "file_name": "a.csv"}
        RejectedInvoice.objects.create(**row, source_row=2, created_at="2026-01-02T03:04:05Z")

        apps = _migrate([("warehouse", "0014_batch_source_api")])
        back = apps.get_model("warehouse", "RejectedInvoice").objects.values_list("file_sha256", flat=True)
        assert list(back) == ["a" * 64]
    finally:
        _migrate(_latest())
