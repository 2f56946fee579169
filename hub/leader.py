"""One worker of a deployment at a time does a background duty: the *leader*, chosen through the
database the hub already shares.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on a connection of
  the leader's own. PostgreSQL releases it when that connection ends, so when the leader's
  process dies (or its host loses the database), another worker takes over at its next turn.
- SQLite (one machine): an exclusive ``flock`` on a file beside the database; the kernel
  releases it when the leader's process dies.

Each duty (the background refresher, the webhook sender) has a lock of its own, so the two may
be led by different workers. :class:`Duty` is the thread every worker runs for a duty: at each
turn it tries to lead, and does the work only while it leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import socket
import threading
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask

from hub.db import database, is_postgres

log = logging.getLogger(__name__)


class LeaderLock(Protocol):
    """Who does a duty: held by at most one worker of a deployment at a time."""

    def acquire(self) -> bool:
        """Try to become (or stay) the leader without waiting; whether this worker leads."""

    def release(self) -> None:
        """Stop leading."""


class AdvisoryLock:
    """PostgreSQL's advisory lock ``key``, on a connection of its own (not the request pool's)
    whose ``application_name`` is ``name``."""

    def __init__(self, name: str, key: int) -> None:
        self.name = name
        self.key = key
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
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                held = bool(cursor.fetchone()[0])
        except psycopg2.Error as exc:
            log.warning("%s: the database is unreachable: %s", self.name, exc)
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


def leader_lock(app: Flask, duty: str, key: int) -> LeaderLock:
    """The lock that elects the leader of ``duty`` (``refresher``, ``webhooks``) for this app's
    database: the advisory lock ``key`` on PostgreSQL, the file ``<database>.<duty>.lock`` on
    SQLite. Either names the leader ``hub-<duty> <host>:<pid>``."""
    name = f"hub-{duty} {socket.gethostname()}:{os.getpid()}"
    if is_postgres():
        return AdvisoryLock(name, key)
    path = Path(database.obj.database)
    if str(path) in ("", ":memory:"):
        path = Path(app.instance_path) / "hub.db"
    return FileLock(path.with_name(f"{path.name}.{duty}.lock"), name)


class Duty:
    """The thread of one worker for one duty: tries to lead at every turn, and works while it
    leads. Subclasses name the duty (:attr:`duty`) and do the work in :meth:`work`."""

    duty = "duty"

    def __init__(self, app: Flask, interval: float, lock: LeaderLock) -> None:
        self.app = app
        self.interval = interval
        self.lock = lock
        self.leading = False
        self.stopped = threading.Event()
        self.woken = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"hub-{self.duty}", daemon=True)

    def start(self) -> Duty:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.halt()
        self.thread.join(timeout=self.interval + 5)

    def halt(self) -> None:
        """Stop at once without waiting for the thread, and stop leading, so that another
        worker takes over at its next turn."""
        self.stopped.set()
        self.woken.set()
        self.lock.release()

    def wake(self) -> None:
        """Take the next turn now instead of at the end of the interval."""
        self.woken.set()

    def run(self) -> None:
        # Workers start together: spread their first turns over the interval.
        delay = random.uniform(0, self.interval)  # noqa: S311 - not a secret
        while not self.stopped.is_set():
            self.woken.wait(delay)
            self.woken.clear()
            if self.stopped.is_set():
                break
            delay = self.interval
            try:
                self.turn()
            except Exception:  # a bad turn must not end the thread
                log.exception("%s: a turn failed", self.duty)

    def turn(self) -> int:
        """One turn: lead if possible, and work if leading; what :meth:`work` counted."""
        with self.app.app_context():
            leading = self.lock.acquire()
            if leading != self.leading:
                log.info(
                    "%s: %s (pid %s)",
                    self.duty,
                    "leading" if leading else "no longer leading",
                    os.getpid(),
                )
                self.leading = leading
            return self.work(leading)

    def work(self, leading: bool) -> int:
        """The duty's work for one turn, in an app context; ``leading`` says whether this worker
        leads (a follower does nothing but may report that it follows). Returns a count."""
        raise NotImplementedError


def start_in_worker(
    worker: Any, duty: type[Duty], *, enabled: str, interval: str, default: float
) -> Duty | None:
    """From gunicorn's ``post_worker_init``: start ``duty``'s thread in this worker, unless the
    setting ``enabled`` is off, taking a turn every ``interval`` (a setting) seconds, at least
    one. The duty, or None."""
    app = worker.wsgi
    if not app.config.get(enabled, True):
        return None
    seconds = max(1.0, float(app.config.get(interval) or default))
    started = duty(app, seconds).start()
    worker.hub_duties = [*getattr(worker, "hub_duties", []), started]
    return started


def stop_in_worker(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook: every duty of the worker stops leading at once, so that
    another worker takes over."""
    for duty in getattr(worker, "hub_duties", []):
        duty.halt()
