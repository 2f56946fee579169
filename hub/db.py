"""The database: one peewee proxy, bound to SQLite or PostgreSQL from ``HUB_DATABASE_URL``."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Slot:
    """The place of a :class:`Prepared` query's parameter: its value comes when the query runs."""

    index: int


class _SlotNode(peewee.Node):
    def __init__(self, index: int) -> None:
        self.slot = Slot(index)

    def __sql__(self, ctx: peewee.Context) -> peewee.Context:
        # Unconverted (a field's db_value cannot convert a slot): the values a prepared query
        # runs with are already what the database takes.
        return ctx.value(self.slot, converter=False)


class Prepared:
    """A select whose SQL is built once per kind of database, then run with new parameters.

    peewee compiles a query's SQL anew every time it runs: for the lookups every data-path
    request makes (token, integration, connection) that took longer than running them. ``build``
    takes one placeholder per parameter and returns the query; :meth:`rows` runs its SQL with
    ``values`` in their place and returns the rows as tuples (columns in select order), which
    :func:`instance` turns back into models.
    """

    def __init__(self, build: Callable[..., peewee.Query], parameters: int) -> None:
        self._build = build
        self._parameters = parameters
        self._compiled: dict[tuple[type, str, str], tuple[str, list[Any]]] = {}

    def compile(self) -> tuple[str, list[Any]]:
        """The SQL for the database in use, and its parameters (:class:`Slot` or constants)."""
        engine = database.obj
        key = (type(engine), engine.param, engine.quote)
        found = self._compiled.get(key)
        if found is None:
            query = self._build(*(_SlotNode(index) for index in range(self._parameters)))
            sql, params = engine.get_sql_context().sql(query).query()
            used = {param.index for param in params if isinstance(param, Slot)}
            if used != set(range(self._parameters)):
                raise ValueError(f"a prepared query uses the slots {sorted(used)} only")
            found = self._compiled[key] = (sql, list(params))
        return found

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        if len(values) != self._parameters:
            raise TypeError(f"this query takes {self._parameters} values, not {len(values)}")
        sql, params = self.compile()
        bound = [values[p.index] if isinstance(p, Slot) else p for p in params]
        return list(database.execute_sql(sql, bound).fetchall())


def instance(model: type[peewee.Model], row: Sequence[Any], start: int = 0) -> peewee.Model:
    """A model built from ``row[start:]``: the values of its fields in declaration order (as
    ``Model.select()`` selects them), converted as peewee converts them; marked unchanged.

    What peewee's own row reader makes, for a fraction of the cost: the data is set in one go
    instead of through each field's descriptor."""
    converters = _CONVERTERS.get(model)
    if converters is None:
        converters = _CONVERTERS[model] = [
            (field.name, field.python_value) for field in model._meta.sorted_fields
        ]
    obj = model.__new__(model)
    obj.__data__ = {
        name: value if value is None else convert(value)
        for (name, convert), value in zip(
            converters, row[start : start + len(converters)], strict=True
        )
    }
    obj._dirty = set()
    obj.__rel__ = {}
    return obj


_CONVERTERS: dict[type[peewee.Model], list[tuple[str, Callable[[Any], Any]]]] = {}


def width(model: type[peewee.Model]) -> int:
    """How many columns ``model``'s fields take in a row."""
    return len(model._meta.sorted_fields)


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def write_transaction() -> Any:
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite, a plain one elsewhere."""
    if isinstance(database.obj, peewee.SqliteDatabase):
        return database.obj.atomic(lock_type="IMMEDIATE")
    return database.atomic()


#: Replaced by a test's fake clock (``hub_clock``, :mod:`hub.pytest_plugin`); None: the real one.
clock: Callable[[], dt.datetime] | None = None


def utcnow() -> dt.datetime:
    """Now in UTC, without tzinfo: how every timestamp is stored."""
    if clock is not None:
        return clock()
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
