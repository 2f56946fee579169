"""The hub's pytest plugin: fixtures for testing provider plugins (and the hub itself).

Installed with the core and registered through the ``pytest11`` entry point, so a plugin's
tests use these fixtures with no ``conftest.py`` boilerplate. Every name starts with ``hub_``:

- ``hub_environ`` — environment variables set after the shell's ``HUB_*`` are cleared;
- ``hub_settings`` — configuration keys for :func:`hub_make_app` (override it in your
  ``conftest.py``: ``{"ALLOW_PRIVATE_ADDRESSES": True}`` for servers on 127.0.0.1);
- ``hub_plugins`` — which plugins the app loads: ``None`` (the default) for every installed
  one, or a list of entry-point specs (``"acme=hub_acme"``, a module, any plugin object);
- ``hub_make_app(**settings)`` — a new hub on a temporary SQLite database, schema applied;
- ``hub_app`` — one such hub; ``hub_client`` — a test client signed in as ``tester``;
  ``hub_login(name, superuser=False)`` — a client signed in as a new user ``name``;
- ``hub_clock`` — a fake clock for everything the hub times (token expiry, sessions, retries);
- ``hub_context(provider, credentials=..., ...)`` — the :class:`~hub.context.ProviderContext`
  an operation receives, to unit-test ``browse`` / ``download`` with ``requests-mock``.

Each test gets its own app and database; ``HUB_*`` variables of the shell never leak in, and
every provider host resolves to a public address (tests have no DNS).
"""

from __future__ import annotations

import datetime as dt
import itertools
import types
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

_apps = itertools.count(1)


class FakeClock:
    """The hub's "now", moved by hand: ``hub_clock.advance(3600)`` and a token has expired.

    Waits between retries (``ProviderContext.sleep``) return at once and move the clock, and are
    recorded in :attr:`waits`.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        self.waits: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward by ``seconds``; returns the new time."""
        self.now += dt.timedelta(seconds=seconds)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.advance(seconds)


def _entry_point(plugin: Any, index: int) -> metadata.EntryPoint:
    """An entry point for ``plugin``: ``"name=module[:attr]"``, a module, or an object."""
    from hub.plugins import ENTRY_POINT_GROUP

    if isinstance(plugin, metadata.EntryPoint):
        return plugin
    if isinstance(plugin, str):
        name, _, value = plugin.partition("=")
        if not value:
            name, value = plugin.split(":")[0].removeprefix("hub_"), plugin
        return metadata.EntryPoint(name=name.strip(), value=value.strip(), group=ENTRY_POINT_GROUP)
    if isinstance(plugin, types.ModuleType):
        name = plugin.__name__.removeprefix("hub_")
        return metadata.EntryPoint(name=name, value=plugin.__name__, group=ENTRY_POINT_GROUP)
    # Any other object: loaded as itself (a class of hookimpls, an instance).
    holder = f"hub_test_plugin_{index}"
    point = metadata.EntryPoint(name=holder, value=f"{__name__}:{holder}", group=ENTRY_POINT_GROUP)
    globals()[holder] = plugin
    return point


@pytest.fixture
def hub_settings() -> dict[str, Any]:
    """Configuration keys (without ``HUB_``) every :func:`hub_make_app` app starts with."""
    return {}


@pytest.fixture
def hub_environ() -> dict[str, str]:
    """Environment variables set for the test after the shell's ``HUB_*`` are cleared (a
    provider that a plugin switches on by environment, such as ``{"HUB_DEMO": "1"}``)."""
    return {}


@pytest.fixture
def hub_plugins() -> list[Any] | None:
    """The plugins the test's hub loads besides the built-ins; ``None``: every installed one."""
    return None


@pytest.fixture
def hub_make_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hub_settings: dict[str, Any],
    hub_plugins: list[Any] | None,
    hub_environ: dict[str, str],
) -> Callable[..., Any]:
    """``hub_make_app(**settings)``: a new hub on its own temporary SQLite database, with
    :func:`hub_settings` and then ``settings`` applied, loading :func:`hub_plugins`, with
    :func:`hub_environ` in the environment."""
    from hub import plugins as plugin_module
    from hub.testing import isolate, make_hub_app

    isolate(monkeypatch)
    for name, value in hub_environ.items():
        monkeypatch.setenv(name, value)
    if hub_plugins is not None:
        points = [_entry_point(plugin, index) for index, plugin in enumerate(hub_plugins)]
        monkeypatch.setattr(plugin_module, "_discover", lambda: points)

    def make(**settings: Any) -> Any:
        instance = tmp_path / f"hub-{next(_apps)}"
        return make_hub_app(instance, **{**hub_settings, **settings})

    return make


@pytest.fixture
def hub_app(hub_make_app: Callable[..., Any]) -> Any:
    """A hub for this test (see :func:`hub_make_app`)."""
    return hub_make_app()


@pytest.fixture
def hub_login(hub_app: Any) -> Callable[..., Any]:
    """``hub_login(name, superuser=False)``: a test client signed in as a new user ``name``."""
    from hub.testing import signed_in_client

    def login(name: str, *, superuser: bool = False) -> Any:
        return signed_in_client(hub_app, name, superuser=superuser)

    return login


@pytest.fixture
def hub_client(hub_login: Callable[..., Any]) -> Any:
    """A test client of :func:`hub_app` signed in as ``tester``."""
    return hub_login("tester")


@pytest.fixture
def hub_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock for the hub: what it stores and compares (expiry, sessions, back-offs) reads
    it, and waits between retries advance it instead of sleeping."""
    from hub import context, db

    clock = FakeClock()
    monkeypatch.setattr(db, "clock", clock)
    monkeypatch.setattr(context, "pause", clock.sleep)
    return clock


@pytest.fixture
def hub_context(hub_app: Any) -> Callable[..., AbstractContextManager[Any]]:
    """``with hub_context("acme", credentials={"token": "t"}) as ctx:`` — the context an
    operation receives, for an integration of ``hub_app`` that is not stored (see
    :func:`hub.testing.provider_context` for the arguments)."""
    from hub.testing import provider_context

    def build(provider: str, **kwargs: Any) -> AbstractContextManager[Any]:
        return provider_context(hub_app, provider, **kwargs)

    return build


def iter_fixture_names() -> Iterator[str]:
    """The fixtures this plugin provides (documentation checks list them)."""
    yield from (
        "hub_settings",
        "hub_environ",
        "hub_plugins",
        "hub_make_app",
        "hub_app",
        "hub_login",
        "hub_client",
        "hub_clock",
        "hub_context",
    )
