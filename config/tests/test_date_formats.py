"""One date format in pages: the admin's lists and forms show dates and times as the dashboard
and every file write them, ISO 8601."""

import datetime as dt
import re

import pytest

from warehouse.models import LoadBatch
from warehouse.tests.factories import known_warehouse_create

pytestmark = pytest.mark.django_db
AMERICAN = re.compile(r"\b(?:a\.m\.|p\.m\.|noon|midnight)|(?:Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\. \d")


def test_admin_and_dashboard_show_iso_dates_and_times(admin_client):
    batch = known_warehouse_create()
    moment = dt.datetime(2024, 3, 5, 14, 7, tzinfo=dt.UTC)
    LoadBatch.objects.filter(pk=batch.pk).update(created_at=moment, started_at=moment, finished_at=moment)
    for url in ("/admin/warehouse/loadbatch/", f"/admin/warehouse/loadbatch/{batch.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert "2024-03-05 14:07" in html, url
        assert not AMERICAN.search(html), (url, AMERICAN.search(html).group(0))
    page = admin_client.get("/visualization/dashboard/?start=2024-03-01&end=2024-03-31").content.decode()
    assert "2024-01-30 to 2024-02-29" in page and "2024-03-05 14:07" in page and not AMERICAN.search(page)
