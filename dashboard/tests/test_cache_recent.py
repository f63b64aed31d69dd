"""Answers read from Redis are kept in the process too, and still never outlive their version."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import cache as answers
from ingestion.tests.files import ingest, write_invoices

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

REDIS_URL = "redis://127.0.0.1:6379/7"
KPIS = "/api/sells/kpis/"


@pytest.fixture
def analyst(staff_user, logged_in):
    return logged_in(staff_user("analyst", "view_sales"))


@pytest.fixture
def warehouse(reference_data, tmp_path):
    batch = ingest(write_invoices(tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100,200,Paid"))
    assert batch.status == "succeeded", batch.error


@pytest.fixture
def redis_keys(settings):
    """The answers cache in Redis under this test's own prefix; a function that lists its keys."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache_backends.KeptClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(REDIS_URL)
    yield lambda: list(client.scan_iter(f"{prefix}:*"))
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _built(client, url: str = KPIS) -> bool:
    """Whether answering ``url`` read the sales aggregates (the answer was built)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return any("agg_" in q["sql"] for q in queries.captured_queries)


@pytest.mark.usefixtures("warehouse")
def test_an_answer_read_from_redis_is_served_again_from_the_process_until_the_version_changes(
    analyst, redis_keys, tmp_path
):
    assert _built(analyst)  # built, kept in Redis
    assert not _built(analyst)  # read from Redis, kept in the process
    revenue = analyst.get(KPIS).json()["results"]["revenue"]
    redis.Redis.from_url(REDIS_URL).delete(*redis_keys())
    assert not _built(analyst)  # Redis no longer has it: the process's copy answered

    ingest(write_invoices(tmp_path, "INV-9,2024-02-01,C-100,Acme,Server Setup,1,5,5,Paid", name="b.csv"))
    assert _built(analyst)  # a new version: a new answer, whatever the process kept
    assert analyst.get(KPIS).json()["results"]["revenue"] != revenue


def test_the_process_keeps_at_most_its_budget_least_recently_used_first():
    recent = answers._Recent(max_bytes=800)
    for name in "abcdefgh":
        recent.put(name, ({}, b"x" * 100))
    assert recent.get("a") is not None  # used: kept over "b"
    recent.put("i", ({}, b"x" * 100))
    assert recent.get("b") is None and recent.get("a") is not None and recent.get("i") is not None
    assert recent.size <= 800
    recent.put("huge", "x" * 101)  # over an eighth of the budget: never kept
    assert recent.get("huge") is None
