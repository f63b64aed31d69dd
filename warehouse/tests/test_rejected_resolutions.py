"""A rejected row's resolution (``RejectedResolution``) as every way of reading the row sees it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from warehouse.models import RejectedInvoice, RejectedResolution
from warehouse.tests.factories import batch_make, rejected_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    load, reprocessing = batch_make(), batch_make()
    resolved, open_ = (rejected_make(load, source_row=n, raw_record={}) for n in (2, 3))
    when = timezone.now()
    RejectedResolution.objects.create(rejected=resolved, batch=reprocessing, resolved_at=when)
    return resolved, open_, reprocessing, when


def test_the_manager_reads_the_resolution_with_the_row_in_one_statement(rows):
    resolved, open_, reprocessing, when = rows

    with CaptureQueriesContext(connection) as queries:
        read = {r.pk: (r.resolved_at, r.resolved_by_batch_id) for r in RejectedInvoice.objects.all()}

    assert read == {resolved.pk: (when, reprocessing.pk), open_.pk: (None, None)}
    assert len(queries) == 1
    assert list(RejectedInvoice.objects.resolved()) == [resolved]
    assert list(RejectedInvoice.objects.unresolved()) == [open_]


def test_a_row_read_without_the_join_reads_its_resolution_on_first_use(rows):
    resolved, open_, reprocessing, when = rows

    base = RejectedInvoice._base_manager.get(pk=resolved.pk)
    by_relation = RejectedResolution.objects.get(pk=resolved.pk).rejected  # the base manager too

    assert (base.resolved_at, base.resolved_by_batch_id) == (when, reprocessing.pk)
    assert by_relation.resolved_at == when
    assert RejectedInvoice._base_manager.get(pk=open_.pk).resolved_at is None
    with CaptureQueriesContext(connection) as queries:
        base.resolved_at, base.resolved_by_batch_id  # noqa: B018 (read once, then kept)
    assert len(queries) == 0


def test_refresh_from_db_sees_a_resolution_recorded_since_the_row_was_read(rows):
    _, open_, reprocessing, when = rows
    row = RejectedInvoice.objects.get(pk=open_.pk)
    assert row.resolved_at is None
    RejectedResolution.objects.create(rejected_id=open_.pk, batch=reprocessing, resolved_at=when)

    row.refresh_from_db()

    assert (row.resolved_at, row.resolved_by_batch_id) == (when, reprocessing.pk)
