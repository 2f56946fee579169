"""The background refresher: one per deployment keeps OAuth tokens fresh, no cron needed.

Every worker of every ``hub serve`` runs a small thread, and one of them at a time — across
workers, processes and hosts — is the *leader*, chosen through the database the hub already
shares (:mod:`hub.leader`: an advisory lock on PostgreSQL, an ``flock`` beside the SQLite file).

Every ``HUB_BACKGROUND_REFRESH_INTERVAL`` seconds the leader refreshes the OAuth connections
whose access token expires within the refresh window plus one interval (so a request rarely
meets an expiring token), each through :func:`hub.tokens.ensure_fresh` — the same single-flight
path requests use, so a request and the refresher never both refresh one token, and connections
that failed recently wait for their back-off. The others try to become the leader at each turn.
It runs inside the server, so it loads exactly the plugins the server loads.
``HUB_BACKGROUND_REFRESH=0`` turns it off (``hub refresh --due`` from cron still works).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from typing import Any

from flask import Flask

from hub import leader, metrics, tokens
from hub.db import database, utcnow
from hub.errors import HubError
from hub.leader import Duty, LeaderLock
from hub.models import Connection

log = logging.getLogger(__name__)

#: The advisory lock's key: one per database, the same in every hub.
ADVISORY_KEY = zlib.crc32(b"integration-hub background refresher")
DEFAULT_INTERVAL = 30  # seconds


def leader_lock(app: Flask) -> LeaderLock:
    """The lock that elects the refresher's leader for this app's database."""
    return leader.leader_lock(app, "refresher", ADVISORY_KEY)


class Refresher(Duty):
    """The thread of one worker: leads when it can, refreshes what is due when it leads."""

    duty = "refresher"

    def __init__(self, app: Flask, interval: float, lock: LeaderLock | None = None) -> None:
        super().__init__(app, interval, lock or leader_lock(app))

    def work(self, leading: bool) -> int:
        """Refresh what is due when leading; how many were refreshed."""
        if not leading:
            metrics.background_refresher(leader=False)
            return 0
        window = int(tokens.skew().total_seconds() + self.interval)
        with database.connection_context():
            refreshed, lag = refresh_due(self.app, window)
        metrics.background_refresher(leader=True, lag_seconds=lag)
        return refreshed


def refresh_due(app: Flask, within: int) -> tuple[int, float]:
    """Refresh every OAuth connection that expires within ``within`` seconds and is not waiting
    out a back-off. Returns how many were refreshed, and by how many seconds the most overdue
    of them was past its expiry when this turn reached it (the refresher's lag; ``0`` when none
    was). Failures are logged and recorded on the connection (by
    :func:`hub.tokens.ensure_fresh`), never raised."""
    registry = app.extensions["hub"].registry
    refreshed = 0
    now = utcnow()
    due = list(
        tokens.due_connections(dt.timedelta(seconds=within)).where(
            Connection.retry_refresh_at.is_null() | (Connection.retry_refresh_at <= now)
        )
    )
    lag = max(((now - c.expires_at).total_seconds() for c in due), default=0.0)
    for connection in due:
        integration = connection.integration
        provider = registry.provider(integration.provider)
        if provider is None:
            continue  # its plugin is not installed here: nothing this server can do
        try:
            fresh = tokens.ensure_fresh(provider, integration, connection, horizon=within)
        except HubError as exc:
            log.warning("background refresher: connection %s: %s", connection.id, exc.message)
            continue
        refreshed += fresh.access_token != connection.access_token
    return refreshed, max(lag, 0.0)


def start_in_worker(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook: start this worker's refresher thread, unless
    ``HUB_BACKGROUND_REFRESH`` is off."""
    leader.start_in_worker(
        worker,
        Refresher,
        enabled="BACKGROUND_REFRESH",
        interval="BACKGROUND_REFRESH_INTERVAL",
        default=DEFAULT_INTERVAL,
    )
