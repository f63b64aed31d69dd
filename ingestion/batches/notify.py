"""Telling people when a load goes wrong: a failed batch, or one that rejected too many rows.

``batch_notify`` is called once where a run of a batch ends; it queues (after commit) one
Celery task per channel: a mail to ``NOTIFY_EMAILS`` and a signed POST to
``NOTIFY_WEBHOOK_URL``. The tasks retry with backoff; nothing they do can change or hold up
the batch: publishing errors are logged, and in eager mode (no broker) each channel is
tried once and its error logged.

A batch that could not be queued (the broker is unreachable, so are the tasks that would send
its notices) is told from the process that tried: ``batch_notify_here`` sends each channel in a
thread of its own, retried a few times, while the request or command goes on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.request
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.urls import reverse

from ingestion.batches.leases import WORKER_LOST
from ingestion.pipeline.rules import Reason
from warehouse.models import LoadBatch
from warehouse.selectors.batches import batch_present

logger = logging.getLogger(__name__)

BATCH_FAILED = "batch_failed"
BATCH_REJECTIONS = "batch_rejections"
SUBJECTS = {
    BATCH_FAILED: "batch #{id} failed: {file_name}",
    BATCH_REJECTIONS: "batch #{id} rejected {rejection_rate}% of its rows: {file_name}",
}
SIGNATURE_HEADER = "X-Signature-256"
TOP_REASONS = 3
HERE_ATTEMPTS = 3  # notices sent without the broker: a first try, then after 1 s and 2 s


class WebhookRefused(OSError):
    """The webhook answered with an error status (retried like a connection error)."""


def batch_event(batch: LoadBatch) -> str | None:
    """What there is to tell about an ended batch: it failed, it rejected too much, or nothing."""
    if batch.dry_run:
        return None
    if batch.status == LoadBatch.Status.FAILED:
        return BATCH_FAILED
    rate = batch.rejection_rate
    if batch.status == LoadBatch.Status.SUCCEEDED and rate is not None:
        if rate > Decimal(str(settings.NOTIFY_REJECTED_PERCENT)):
            return BATCH_REJECTIONS
    return None


def batch_url(batch_id: int) -> str:
    return settings.SITE_URL + reverse("admin:warehouse_loadbatch_change", args=[batch_id])


def _reason_text(code: str) -> str:
    try:
        # A lookup by value; mypy reads the call as the members' own constructor.
        return f"{code} ({Reason(code).when.replace('`', '')})"  # type: ignore[call-arg]
    except ValueError:  # a code this version does not know
        return code


def batch_notice(*, batch_id: int, event: str) -> dict:
    """The notice: ``subject``, ``text`` and the webhook's JSON ``payload``."""
    presented = batch_present(LoadBatch.objects.get(pk=batch_id))
    top = list(presented["reason_counts"].items())[:TOP_REASONS]
    subject = SUBJECTS[event].format(**presented)
    lines = [
        subject,
        "",
        f"status: {presented['status']}",
        f"rows read: {presented['rows_read']:,}, loaded: {presented['rows_loaded']:,},"
        f" rejected: {presented['rows_rejected']:,}"
        + (f" ({presented['rejection_rate']}%)" if presented["rejection_rate"] is not None else ""),
        *([f"error: {presented['error']}"] if presented["error"] else []),
        *(["top reasons:"] if top else []),
        *(f"  {count:,}  {_reason_text(code)}" for code, count in top),
        "",
        f"batch page: {batch_url(batch_id)}",
    ]
    payload = {
        "event": event,
        "text": subject,
        "url": batch_url(batch_id),
        "batch": {
            key: presented[key]
            for key in ("id", "file_name", "source", "status", "rows_read", "rows_loaded", "rows_rejected")
        }
        | {
            "rejection_rate": None
            if presented["rejection_rate"] is None
            else str(presented["rejection_rate"]),
            "top_reasons": dict(top),
            "error": presented["error"],
        },
    }
    return {"subject": subject, "text": "\n".join(lines), "payload": payload}


def webhook_signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the body under the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notice_mail_send(*, batch_id: int, event: str) -> None:
    notice = batch_notice(batch_id=batch_id, event=event)
    send_mail(
        settings.EMAIL_SUBJECT_PREFIX + notice["subject"],
        notice["text"],
        settings.DEFAULT_FROM_EMAIL,
        settings.NOTIFY_EMAILS,
    )
    logger.info("notice %s sent to %s", event, ", ".join(settings.NOTIFY_EMAILS))


def notice_webhook_send(*, batch_id: int, event: str) -> None:
    body = json.dumps(batch_notice(batch_id=batch_id, event=event)["payload"]).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "invoices-notify"}
    if settings.NOTIFY_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = webhook_signature(body, settings.NOTIFY_WEBHOOK_SECRET)
    request = urllib.request.Request(settings.NOTIFY_WEBHOOK_URL, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=settings.NOTIFY_TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise WebhookRefused(f"webhook answered {response.status}")
    logger.info("notice %s posted to the webhook", event)


def _publish(task, batch_id: int, event: str) -> None:
    # Eager (no broker): one attempt now, its error logged; never the batch's concern.
    options = {"retries": task.max_retries} if settings.CELERY_TASK_ALWAYS_EAGER else {}
    try:
        task.apply_async((batch_id, event), **options)
    except Exception:
        logger.warning("notice %s of batch %s not sent", event, batch_id, exc_info=True)


def _channels() -> list[tuple]:
    """(task, sender) of each channel that is on."""
    from ingestion.tasks import notify_mail, notify_webhook

    return [
        (task, send)
        for task, send, wanted in (
            (notify_mail, notice_mail_send, settings.NOTIFY_EMAILS),
            (notify_webhook, notice_webhook_send, settings.NOTIFY_WEBHOOK_URL),
        )
        if wanted
    ]


def batch_notify(*, batch: LoadBatch) -> str | None:
    """Queue the notices an ended batch calls for (after commit); the event, or None."""
    event = batch_event(batch)
    if event is None:
        return None
    for task, _ in _channels():
        transaction.on_commit(partial(_publish, task, batch.pk, event))
    return event


def _send_here(send, batch_id: int, event: str) -> None:
    try:
        for attempt in range(HERE_ATTEMPTS):
            try:
                send(batch_id=batch_id, event=event)
                return
            except Exception:
                if attempt + 1 == HERE_ATTEMPTS:
                    logger.warning("notice %s of batch %s not sent", event, batch_id, exc_info=True)
                else:
                    time.sleep(2**attempt)
    finally:
        connections.close_all()  # this thread's own


def batch_notify_here(*, batch: LoadBatch) -> list[threading.Thread]:
    """Send the notices of a batch that could not be queued from this process: one thread per
    channel (the caller never waits for a mail server or a webhook); the threads.

    Not daemons: a command that ends meanwhile (``load_invoices``) exits once they are done,
    after at most ``HERE_ATTEMPTS`` tries of ``NOTIFY_TIMEOUT_SECONDS`` each.
    """
    event = batch_event(batch)
    threads = []
    for _, send in _channels() if event else ():
        thread = threading.Thread(
            target=_send_here, args=(send, batch.pk, event), name=f"notice-{batch.pk}", daemon=False
        )
        thread.start()
        threads.append(thread)
    return threads


def swept_batches_notify(*, batch_ids: list[int]) -> None:
    """Notices for the batches the sweeper failed (their workers were lost too often)."""
    for batch in LoadBatch.objects.filter(pk__in=batch_ids, status=LoadBatch.Status.FAILED):
        if batch.error.startswith(WORKER_LOST.partition(":")[0]):
            batch_notify(batch=batch)
