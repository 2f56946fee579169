"""The database: one peewee proxy, bound to SQLite or PostgreSQL from ``HUB_DATABASE_URL``."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any
from urllib.parse import unquote, urlsplit

import peewee
from flask import Flask, current_app
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledSqliteDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 15_000,
}


def open_database(url: str) -> peewee.Database:
    """A peewee database for ``url``: ``sqlite:///path`` or ``postgresql://user@host/name``."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        # sqlite:///relative/path, sqlite:////absolute/path, sqlite:///:memory:
        if not url.startswith("sqlite:///"):
            raise ValueError("HUB_DATABASE_URL for SQLite is sqlite:///path/to/hub.db")
        path = unquote(url[len("sqlite:///") :])
        if path and not path.startswith(":memory:") and not os.path.exists(path):
            # SQLite gives its -wal and -shm files the database file's mode: owner-only.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        # Pooled: a request reuses an open connection instead of opening one and setting its
        # pragmas again (about half a millisecond a request). Writers still wait on SQLite's
        # own lock (busy_timeout).
        return PooledSqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            max_connections=64,
            stale_timeout=600,
            timeout=30,
            check_same_thread=False,
        )
    if scheme in {"postgres", "postgresql", "postgresql+pool", "postgres+pool"}:
        return connect_url(url)
    raise ValueError(
        f"HUB_DATABASE_URL has an unsupported scheme {scheme!r}: use sqlite:/// or postgresql://"
    )


def init_app(app: Flask) -> None:
    engine = open_database(app.config["DATABASE_URL"])
    app.extensions["hub.database"] = engine
    database.initialize(engine)
    app.before_request(_connect)
    app.teardown_appcontext(_close)


def bind(app: Flask) -> None:
    """Point the proxy at ``app``'s database (a no-op when one app runs in the process)."""
    engine = app.extensions["hub.database"]
    if database.obj is not engine:
        if database.obj is not None and not database.is_closed():
            database.close()
        database.initialize(engine)


def _connect() -> None:
    bind(current_app)
    database.connect(reuse_if_open=True)


def _close(_exc: BaseException | None) -> None:
    if not database.is_closed():
        database.close()


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def write_transaction() -> Any:
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite, a plain one elsewhere."""
    if isinstance(database.obj, peewee.SqliteDatabase):
        return database.obj.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def utcnow() -> dt.datetime:
    """Now in UTC, without tzinfo: how every timestamp is stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def isoformat(value: dt.datetime | None) -> str | None:
    """A stored UTC timestamp as RFC 3339 with ``Z``."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


class JSONField(peewee.TextField):
    """JSON stored as text: portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class EncryptedField(peewee.TextField):
    """Holds a ciphertext written by :meth:`hub.models.BaseModel.set_secret`, never plain text."""
