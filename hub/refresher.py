"""The background refresher: one per deployment keeps OAuth tokens fresh, no cron needed.

Every worker of every ``hub serve`` runs a small thread, and one of them at a time — across
workers, processes and hosts — is the *leader*, chosen through the database the hub already
shares:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on a connection of
  the leader's own. PostgreSQL releases it when that connection ends, so when the leader's
  process dies (or its host loses the database), another worker takes over at its next turn.
- SQLite (one machine): an exclusive ``flock`` on a file beside the database; the kernel
  releases it when the leader's process dies.

Every ``HUB_BACKGROUND_REFRESH_INTERVAL`` seconds the leader refreshes the OAuth connections
whose access token expires within the refresh window plus one interval (so a request rarely
meets an expiring token), each through :func:`hub.tokens.ensure_fresh` — the same single-flight
path requests use, so a request and the refresher never both refresh one token, and connections
that failed recently wait for their back-off. The others try to become the leader at each turn.
It runs inside the server, so it loads exactly the plugins the server loads.
``HUB_BACKGROUND_REFRESH=0`` turns it off (``hub refresh --due`` from cron still works).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import random
import socket
import threading
import zlib
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask

from hub import metrics, tokens
from hub.db import database, is_postgres, utcnow
from hub.errors import HubError
from hub.models import Connection

log = logging.getLogger(__name__)

#: The advisory lock's key: one per database, the same in every hub.
ADVISORY_KEY = zlib.crc32(b"integration-hub background refresher")
DEFAULT_INTERVAL = 30  # seconds


class LeaderLock(Protocol):
    """Who refreshes: held by at most one worker of a deployment at a time."""

    def acquire(self) -> bool:
        """Try to become (or stay) the leader without waiting; whether this worker leads."""

    def release(self) -> None:
        """Stop leading."""


class AdvisoryLock:
    """PostgreSQL's advisory lock, on a connection of its own (not the request pool's)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connection: Any = None
        self.held = False

    def acquire(self) -> bool:
        import psycopg2

        try:
            if self.connection is None:
                db = database.obj
                params = {**db.connect_params, "application_name": self.name}
                self.connection = psycopg2.connect(dbname=db.database, **params)
                self.connection.autocommit = True
            with self.connection.cursor() as cursor:
                if self.held:  # still our session, still our lock?
                    cursor.execute("SELECT 1")
                    return True
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,))
                held = bool(cursor.fetchone()[0])
        except psycopg2.Error as exc:
            log.warning("background refresher: the database is unreachable: %s", exc)
            self.release()
            return False
        if not held:
            self.release()  # no idle connection per waiting worker
        self.held = held
        return held

    def release(self) -> None:
        self.held = False
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()  # ends the session: PostgreSQL releases the lock
            self.connection = None


class FileLock:
    """An exclusive ``flock`` on a file beside the SQLite database; the file names the leader."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.file: IO[str] | None = None

    def acquire(self) -> bool:
        if self.file is not None:
            return True  # an flock is held until the file is closed or the process dies
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(self.name + "\n")
        handle.flush()
        self.file = handle
        return True

    def release(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def leader_lock(app: Flask) -> LeaderLock:
    """The lock that elects the leader for this app's database."""
    name = f"hub-refresher {socket.gethostname()}:{os.getpid()}"
    if is_postgres():
        return AdvisoryLock(name)
    path = Path(database.obj.database)
    if str(path) in ("", ":memory:"):
        path = Path(app.instance_path) / "hub.db"
    return FileLock(path.with_name(path.name + ".refresher.lock"), name)


class Refresher:
    """The thread of one worker: leads when it can, refreshes what is due when it leads."""

    def __init__(self, app: Flask, interval: float, lock: LeaderLock | None = None) -> None:
        self.app = app
        self.interval = interval
        self.lock = lock or leader_lock(app)
        self.leading = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="hub-refresher", daemon=True)

    def start(self) -> Refresher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 5)
        self.lock.release()

    def run(self) -> None:
        # Workers start together: spread their first turns over the interval.
        delay = random.uniform(0, self.interval)  # noqa: S311 - not a secret
        while not self.stopped.wait(delay):
            delay = self.interval
            try:
                self.turn()
            except Exception:  # a bad turn must not end the thread
                log.exception("background refresher: a turn failed")

    def turn(self) -> int:
        """One turn: lead if possible and refresh what is due; how many were refreshed."""
        with self.app.app_context():
            leading = self.lock.acquire()
            if leading != self.leading:
                log.info(
                    "background refresher: %s (pid %s)",
                    "leading" if leading else "no longer leading",
                    os.getpid(),
                )
                self.leading = leading
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
    app = worker.wsgi
    if not app.config.get("BACKGROUND_REFRESH", True):
        return
    interval = max(1.0, float(app.config.get("BACKGROUND_REFRESH_INTERVAL") or DEFAULT_INTERVAL))
    worker.hub_refresher = Refresher(app, interval).start()


def stop_in_worker(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook: stop leading at once, so another worker takes over."""
    refresher = getattr(worker, "hub_refresher", None)
    if refresher is not None:
        refresher.stopped.set()
        refresher.lock.release()
