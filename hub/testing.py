"""Helpers for testing plugins: load a plugin the way the hub does, and check what it declares.

For end-to-end tests through the hub's HTTP API there is a whole hub: :func:`make_hub_app`,
:func:`signed_in_client` and :func:`fake_dns` (tests have no DNS; the hub checks every
provider address).

A plugin's ``tests/conftest.py`` typically starts with::

    from hub.testing import load_plugin

    @pytest.fixture
    def registry():
        return load_plugin("hub_example", name="example")
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask import Flask
from flask.testing import FlaskClient

from hub import accounts, create_app, migrations
from hub.context import ProviderContext, TransientContext
from hub.crypto import generate_key
from hub.db import bind, database
from hub.models import Integration
from hub.plugins import ENTRY_POINT_GROUP, PluginRegistry
from hub.providers import Icon, Provider, validate_provider

if TYPE_CHECKING:  # pytest is a test dependency, not the hub's
    import pytest

_UNSAFE_SVG = re.compile(
    rb"<script|<foreignObject|\bon[a-z]+\s*=|javascript:|<!ENTITY|xlink:href\s*=\s*[\"'](?!#)"
    rb"|href\s*=\s*[\"'](?!#)",
    re.IGNORECASE,
)


def import_beside(conftest: str, *names: str) -> None:
    """Make the helper modules ``names`` that sit beside ``conftest`` (pass ``__file__``)
    importable by their bare names (``from local_acme import ...``) whatever pytest's import
    mode: in ``importlib`` mode a plugin's test folder is not on ``sys.path``. Call it at the
    top of the plugin's ``tests/conftest.py``; give helpers names no other plugin uses."""
    folder = Path(conftest).parent
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        assert spec is not None and spec.loader is not None, f"no {name}.py beside {conftest}"
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def load_plugin(module: str, name: str | None = None) -> PluginRegistry:
    """A registry holding the built-ins and the plugin ``module``, loaded through an entry point
    exactly as an installed plugin is. Fails the test if the plugin does not load cleanly."""
    entry_name = name or module.removeprefix("hub_")
    point = metadata.EntryPoint(name=entry_name, value=module, group=ENTRY_POINT_GROUP)
    registry = PluginRegistry(entry_points=[point])
    info = registry.plugins[entry_name]
    assert info.status == "ok", f"plugin {entry_name} did not load: {info.reason}"
    return registry


def provider_of(module: str, provider: str, name: str | None = None) -> Provider:
    """The validated provider ``provider`` declared by plugin ``module``."""
    declared = load_plugin(module, name).provider(provider)
    assert declared is not None, f"plugin {module} declares no provider {provider!r}"
    return validate_provider(declared)


def assert_safe_icon(icon: Icon | None) -> None:
    """An icon the hub can serve: a known image type, and an SVG with nothing active in it."""
    assert icon is not None, "the provider has no icon"
    assert icon.data, "the icon is empty"
    if icon.media_type == "image/svg+xml":
        assert icon.data.lstrip().startswith((b"<svg", b"<?xml")), "not an SVG document"
        match = _UNSAFE_SVG.search(icon.data)
        assert match is None, f"the SVG holds active or external content: {match.group()!r}"


# -- a whole hub for a plugin's end-to-end tests ------------------------------------------------

TEST_PASSWORD = "plugin test password"


def use_cheap_password_hashing() -> None:
    """Hash test users' passwords with Argon2's cheapest parameters (tests only: production
    parameters cost about half a second a sign-in)."""
    accounts._hasher = PasswordHasher.from_parameters(CHEAPEST)


def isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """What every test of a hub needs, undone after the test: no ``HUB_*`` setting of the
    developer's shell leaks in, every provider host resolves to a public address (tests have no
    DNS; the hub checks each address it calls), and passwords are hashed cheaply.

    Call it from an autouse fixture in the plugin's ``conftest.py``."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr("hub.netguard.resolve_host", fake_dns())
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher.from_parameters(CHEAPEST))


def make_hub_app(instance: Path, **settings: Any) -> Flask:
    """A hub on a fresh SQLite database under ``instance``, schema applied, installed plugins
    loaded as in production. ``settings`` override configuration keys (without ``HUB_``).
    Test users' passwords are hashed cheaply (:func:`use_cheap_password_hashing`)."""
    use_cheap_password_hashing()
    config: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'hub.db'}",
        "SECRET_KEY": "plugin-tests",
        "ENCRYPTION_KEYS": generate_key(),
        **settings,
    }
    app = create_app(config)
    with app.app_context():
        migrations.migrate()
    return app


def signed_in_client(app: Flask, name: str = "tester", *, superuser: bool = False) -> FlaskClient:
    """A test client of ``app`` signed in as a new user ``name``."""
    with app.app_context():
        bind(app)
        with database.connection_context():
            accounts.create_user(
                name, TEST_PASSWORD, email=f"{name}@example.org", is_superuser=superuser
            )
    client = app.test_client()
    response = client.post("/api/login", json={"username": name, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return client


def fake_dns(mapping: dict[str, str] | None = None, default: str = "93.184.216.34") -> Any:
    """A stand-in for :func:`hub.netguard.resolve_host` (tests have no DNS): every name resolves
    to ``default`` (a public address) unless ``mapping`` says otherwise. Use it with
    ``monkeypatch.setattr("hub.netguard.resolve_host", fake_dns())``."""

    def resolve(host: str) -> list[str]:
        return [(mapping or {}).get(host.lower(), default)]

    return resolve


# -- a provider context for unit tests of operations -------------------------------------------

#: The credential a :func:`provider_context` holds for each auth type, keyed as the API takes it.
CREDENTIAL_KEYS = {
    "oauth2": ("accessToken",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "apikey": ("apiKey",),
}


@contextmanager
def provider_context(
    app: Flask,
    provider: str,
    *,
    credentials: Mapping[str, str],
    auth_type: str | None = None,
    settings: Mapping[str, Any] | None = None,
    user: str = "tester",
    sleep: Callable[[float], None] | None = None,
) -> Iterator[ProviderContext]:
    """The :class:`~hub.context.ProviderContext` an operation receives, for an integration of
    ``provider`` that is not stored: to unit-test a ``browse`` or ``download`` function against
    ``requests-mock`` (or a local server) without going through the HTTP API.

    ``credentials`` are keyed as the API takes them (:data:`CREDENTIAL_KEYS`: ``{"token": ..}``
    for ``bearer``, ``{"accessToken": ..}`` for ``oauth2``, ...); they are used as given, never
    refreshed. ``auth_type`` defaults to the provider's first; ``settings`` are the
    integration's (``{"endpoints": {"api": "http://127.0.0.1:8080"}}``); ``sleep`` replaces the
    wait between retries (``waits.append`` records them instead). The context is valid
    inside the ``with`` block, which holds the app context and a database connection::

        with provider_context(app, "acme", credentials={"token": "t"}) as ctx:
            page = browse(ctx, None, None, 50)
    """
    declared = app.extensions["hub"].registry.provider(provider)
    assert declared is not None, f"no provider {provider!r} is registered in this app"
    auth_type = auth_type or declared.auth_types[0]
    assert auth_type in declared.auth_types, f"{provider} does not take {auth_type!r}"
    missing = [key for key in CREDENTIAL_KEYS[auth_type] if key not in credentials]
    assert not missing, f"credentials for {auth_type} need {', '.join(missing)}"
    with app.app_context():
        bind(app)
        with database.connection_context():
            person = (
                accounts.get_user(user)
                if accounts.find_principal(user)
                else accounts.create_user(user, TEST_PASSWORD, email=f"{user}@example.org")
            )
            integration = Integration(
                owner=person.principal,
                slug=f"{provider}-test",
                name=f"{declared.display_name} (test)",
                provider=provider,
                auth_type=auth_type,
                settings=dict(settings or {}),
            )
            yield TransientContext(declared, integration, person, dict(credentials), sleep=sleep)
