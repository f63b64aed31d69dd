"""Shapes of the API's answers, for the OpenAPI schema (money and rates are strings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class Error(Schema):
    error: str


class Batch(Schema):
    id: int
    file_name: str
    source: str
    status: str
    dry_run: bool
    rows_read: int
    rows_loaded: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rejection_rate: str | None
    reason_counts: dict[str, int]
    stage: str
    rows_done: int
    rows_total: int | None
    percent: int | None
    finished: bool
    heartbeat_at: dt.datetime | None
    last_seen_seconds: int | None
    attempts: list[dict[str, Any]]
    error: str
    note: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    progress_text: str


class BatchList(Schema):
    results: list[Batch]


class ReprocessQueued(Schema):
    batches: list[Batch]  # one per load whose rows were selected; follow each one's url
    urls: list[str]


class RejectedRow(Schema):
    id: int
    batch_id: int
    file_name: str
    source_row: int
    invoice_id: str | None
    reason: str
    detail: str
    raw_record: dict[str, Any]
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by_batch_id: int | None


class RejectedPage(Schema):
    results: list[RejectedRow]
    next: str | None


class SalesAnswer(Schema):
    """A sales operation's answer: the statuses counted as revenue, and the rows."""

    statuses: list[str]
    results: Any
