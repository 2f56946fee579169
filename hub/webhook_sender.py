"""The webhook sender: delivers the outbox (:mod:`hub.webhooks`) to its endpoints.

Every worker of ``hub serve`` runs a sender thread; one at a time across the deployment leads
(:mod:`hub.leader`, its own advisory lock or lock file) and sends, every
``HUB_WEBHOOKS_INTERVAL`` seconds and at once when an API call queued a test. ``HUB_WEBHOOKS=0``
turns it off (``hub webhooks send`` from cron still works).

A round claims due deliveries in a short transaction — ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite — and marks them with a claim that expires after
:data:`CLAIM` (so a sender that dies mid-send leaves its rows to the next one), then sends them
with no transaction open. A delivery is claimed only when no earlier delivery with its ordering
key is still pending for its endpoint: the events of one connection reach an endpoint in order.

Each delivery is one ``POST`` of the event's JSON, signed (:func:`signature`), through
:func:`hub.transport.send`: the address is checked again as it is connected to (DNS rebinding),
time is bounded, and a redirect is never followed (a 3xx is a failure). A 2xx delivers it; any
other outcome is logged as an attempt and tried again after an exponential back-off with
jitter, up to :data:`RETRY_MAX`, until :data:`hub.webhooks.DELIVERY_WINDOW` after the event;
an attempt that fails past that marks it failed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import zlib
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import peewee
from flask import Flask

from hub import __version__, leader, transport
from hub.db import database, is_postgres, utcnow, write_transaction
from hub.errors import UpstreamFailed, UpstreamTimeout
from hub.leader import Duty, LeaderLock
from hub.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

#: The advisory lock's key: one per database, the same in every hub (not the refresher's).
ADVISORY_KEY = zlib.crc32(b"integration-hub webhook sender")
DEFAULT_INTERVAL = 5  # seconds
USER_AGENT = f"IntegrationHub-Webhooks/{__version__}"
TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
CLAIM = dt.timedelta(seconds=60)  # longer than one send can take
BATCH = 20  # deliveries claimed at a time
BATCHES_PER_ROUND = 25
RETRY_BASE = 10  # seconds after the first failed attempt; doubles, up to RETRY_MAX
RETRY_MAX = 3600
ERROR_LENGTH = 500
RETENTION = dt.timedelta(days=30)  # how long finished deliveries stay in the log
PRUNE_EVERY = dt.timedelta(hours=1)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Hub-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
    keyed with the endpoint's secret."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for an event's payload."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt``: doubling from
    :data:`RETRY_BASE` up to :data:`RETRY_MAX`, of which a random half (so endpoints that came
    back are not hit by every sender at once)."""
    delay = min(RETRY_BASE * 2 ** min(attempt - 1, 30), RETRY_MAX)
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not a secret


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the status the endpoint answered (None when it did not), why
    it failed (None when delivered), and how long it took."""

    status_code: int | None
    error: str | None
    latency_ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


def post(url: str, secret: str, delivery_id: int, event_type: str, body: bytes) -> Outcome:
    """Send one delivery; never raises for what the endpoint does."""
    timestamp = calendar.timegm(utcnow().timetuple())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Hub-Event": event_type,
        "Hub-Delivery": str(delivery_id),
        "Hub-Signature": signature(secret, timestamp, body),
    }
    started = time.monotonic()
    try:
        response = transport.send(
            "POST",
            url,
            provider="the webhook endpoint",
            data=body,
            headers=headers,
            timeout=TIMEOUT,
            stream=True,  # its body is never read: an endless one cannot hold the sender
            idempotent=False,
        )
    except (UpstreamFailed, UpstreamTimeout) as exc:
        return Outcome(None, exc.message[:ERROR_LENGTH], _since(started))
    with closing(response):
        status = response.status_code
    if 200 <= status < 300:
        return Outcome(status, None, _since(started))
    error = f"the endpoint answered {status}"
    if 300 <= status < 400:
        error += ": redirects are not followed"
    return Outcome(status, error, _since(started))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# -- claiming and recording ---------------------------------------------------------------------


def claim(owner: str, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` due deliveries for ``owner`` (ids, oldest first): pending, due,
    not claimed by a live sender, of an active endpoint, and with no earlier delivery of their
    ordering key still pending for their endpoint."""
    now = utcnow()
    earlier = WebhookDelivery.alias()
    blocked = earlier.select(earlier.id).where(
        earlier.endpoint == WebhookDelivery.endpoint,
        earlier.ordering_key == WebhookDelivery.ordering_key,
        earlier.status == "pending",
        earlier.id < WebhookDelivery.id,
    )
    query = (
        WebhookDelivery.select(WebhookDelivery.id)
        .join(WebhookEndpoint)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.claimed_until.is_null() | (WebhookDelivery.claimed_until <= now),
            WebhookEndpoint.active,
            ~peewee.fn.EXISTS(blocked),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if is_postgres():
        query = query.for_update(of=WebhookDelivery, skip_locked=True)
    with write_transaction():
        ids = [row.id for row in query]
        if ids:
            WebhookDelivery.update(claimed_by=owner, claimed_until=now + CLAIM).where(
                WebhookDelivery.id.in_(ids)
            ).execute()
    return ids


def attempt(delivery_id: int, owner: str) -> str | None:
    """Send a claimed delivery once and record the attempt; its status afterwards (None when
    it is gone, or no longer ``owner``'s)."""
    row = (
        WebhookDelivery.select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
        .join(WebhookEvent)
        .switch(WebhookDelivery)
        .join(WebhookEndpoint)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == owner)
        .first()
    )
    if row is None:
        return None
    secret = row.endpoint.get_secret("secret")
    outcome = post(
        row.endpoint.url,
        secret.reveal() if secret else "",
        row.id,
        row.event.type,
        body_of(row.event.payload),
    )
    return record(row, owner, outcome)


def record(row: WebhookDelivery, owner: str, outcome: Outcome) -> str | None:
    """Log an attempt and decide what comes next: delivered, tried again later, or failed."""
    now = utcnow()
    number = row.attempts + 1
    changes: dict[str, Any] = {
        "attempts": number,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "claimed_by": None,
        "claimed_until": None,
    }
    if outcome.delivered:
        changes.update(status="delivered", delivered_at=now)
    elif now >= row.deadline:
        changes.update(status="failed")
    else:
        wait = dt.timedelta(seconds=retry_delay(number))
        changes.update(next_attempt_at=min(now + wait, row.deadline))
    with write_transaction():
        updated = (
            WebhookDelivery.update(**changes)
            .where(WebhookDelivery.id == row.id, WebhookDelivery.claimed_by == owner)
            .execute()
        )
        if not updated:
            return None
        WebhookAttempt.create(
            delivery=row.id,
            number=number,
            at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    if not outcome.delivered:
        log.info("webhook delivery %s, attempt %s: %s", row.id, number, outcome.error)
    return changes.get("status", "pending")


@dataclass
class Round:
    """What one round of sending did, by outcome."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed

    def summary(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} failed"


def send_due(owner: str | None = None, batches: int = BATCHES_PER_ROUND) -> Round:
    """Send what is due now, batch after batch (a delivered event lets the next one of its
    connection go), until nothing is due or ``batches`` were sent."""
    owner = owner or secrets.token_hex(8)
    done = Round()
    for _ in range(batches):
        ids = claim(owner)
        if not ids:
            break
        for delivery_id in ids:
            status = attempt(delivery_id, owner)
            if status is None:
                continue
            bucket = {"delivered": "delivered", "failed": "failed"}.get(status, "retrying")
            setattr(done, bucket, getattr(done, bucket) + 1)
            done.lines.append(f"delivery {delivery_id}: {status}")
    return done


def prune(now: dt.datetime | None = None) -> int:
    """Forget finished deliveries older than :data:`RETENTION` (and events left with none), and
    fail the pending ones of inactive endpoints that ran out of time; how many were removed."""
    now = now or utcnow()
    with write_transaction():
        WebhookDelivery.update(status="failed", last_error="the endpoint was inactive").where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.deadline < now,
            WebhookDelivery.endpoint.in_(
                WebhookEndpoint.select(WebhookEndpoint.id).where(~WebhookEndpoint.active)
            ),
        ).execute()
        removed = (
            WebhookDelivery.delete()
            .where(
                WebhookDelivery.status != "pending", WebhookDelivery.created_at < now - RETENTION
            )
            .execute()
        )
        left = WebhookDelivery.select(WebhookDelivery.id).where(
            WebhookDelivery.event == WebhookEvent.id
        )
        WebhookEvent.delete().where(
            WebhookEvent.created_at < now - RETENTION, ~peewee.fn.EXISTS(left)
        ).execute()
    return removed


# -- the thread ---------------------------------------------------------------------------------


def leader_lock(app: Flask) -> LeaderLock:
    """The lock that elects the sender's leader for this app's database."""
    return leader.leader_lock(app, "webhooks", ADVISORY_KEY)


class Sender(Duty):
    """The thread of one worker: leads when it can, sends what is due when it leads."""

    duty = "webhooks"

    def __init__(self, app: Flask, interval: float, lock: LeaderLock | None = None) -> None:
        super().__init__(app, interval, lock or leader_lock(app))
        self.owner = secrets.token_hex(8)
        self.pruned_at: dt.datetime | None = None

    def work(self, leading: bool) -> int:
        """Send what is due when leading (and prune now and then); how many were attempted."""
        if not leading:
            return 0
        with database.connection_context():
            done = send_due(self.owner)
            now = utcnow()
            if self.pruned_at is None or now - self.pruned_at >= PRUNE_EVERY:
                prune(now)
                self.pruned_at = now
        return done.attempted


def start_in_worker(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook: start this worker's sender thread, unless
    ``HUB_WEBHOOKS`` is off."""
    sender = leader.start_in_worker(
        worker, Sender, enabled="WEBHOOKS", interval="WEBHOOKS_INTERVAL", default=DEFAULT_INTERVAL
    )
    if sender is not None:
        worker.wsgi.extensions["hub.webhook_sender"] = sender


def wake(app: Flask) -> None:
    """Ask this worker's sender, if it has one, for a turn now (a test ping was queued)."""
    sender = app.extensions.get("hub.webhook_sender")
    if sender is not None:
        sender.wake()
