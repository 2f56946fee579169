"""Fixtures for the core tests: an app per test on a fresh database (SQLite, and PostgreSQL
when ``HUB_TEST_DATABASE_URL`` is set), clients, and users."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from importlib import metadata
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask.testing import FlaskCliRunner

from hub import accounts, create_app, migrations, transport
from hub import plugins as plugin_module
from hub.cli import cli as hub_cli
from hub.crypto import generate_key
from hub.db import database
from hub.plugins import ENTRY_POINT_GROUP

from .hostile import Upstream

PASSWORD = "correct horse battery"
POSTGRES_URL = os.environ.get("HUB_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HUB_* setting of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


PUBLIC_TEST_ADDRESS = "93.184.216.34"


def fake_resolve(host: str) -> list[str]:
    """No DNS here: names under example.org/.com/.net are public, localhost is loopback."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    if host.endswith((".example.org", ".example.com", ".example.net")) or host in (
        "example.org",
        "example.com",
        "example.net",
    ):
        return [PUBLIC_TEST_ADDRESS]
    if host.endswith(".internal.test"):
        return ["10.1.2.3"]
    raise socket.gaierror(-2, "Name or service not known")


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hub.netguard.resolve_host", fake_resolve)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this run, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set HUB_TEST_DATABASE_URL to run these cases")
    name = f"hub_test_{secrets.token_hex(6)}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _reset_postgres(url: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Every test that uses the database runs once per engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def make_app(tmp_path, database_url):
    """Build an app on this test's database; extra settings override the defaults."""
    created = []

    def make(**settings):
        config = {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "ENCRYPTION_KEYS": settings.pop("ENCRYPTION_KEYS", None) or generate_key(),
        }
        config.update(settings)
        app = create_app(config)
        with app.app_context():
            migrations.migrate()
        created.append(app)
        return app

    yield make
    if not database.is_closed():
        database.close()


@pytest.fixture
def app(make_app, request):
    """The hub. Marked ``loopback``, it may call servers on 127.0.0.1 (as a self-hosted hub may
    be allowed to), for tests whose providers are live servers there."""
    if request.node.get_closest_marker("loopback"):
        return make_app(ALLOW_PRIVATE_ADDRESSES=True)
    return make_app()


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """This thread's provider session, new for each test: no kept-alive connection, and no
    setting a test gave it, reaches another test."""
    monkeypatch.setattr(transport, "_local", threading.local())


@pytest.fixture
def db(app):
    """An app context with an open database connection, for tests that touch models."""
    with app.app_context(), database.connection_context():
        yield database


@pytest.fixture
def in_db(app):
    """Run a function in an app context with a database connection (to arrange or inspect)."""

    def run(function, *args, **kwargs):
        with app.app_context(), database.connection_context():
            return function(*args, **kwargs)

    return run


@pytest.fixture
def client(app):
    return app.test_client()


class HubCliRunner(FlaskCliRunner):
    """Invokes the ``hub`` command group (not Flask's own) against the test app."""

    def invoke(self, cli=None, args=None, **kwargs):
        return super().invoke(cli or hub_cli, args, **kwargs)


@pytest.fixture
def runner(app):
    return HubCliRunner(app)


@pytest.fixture
def make_user(app):
    def make(name: str, *, superuser: bool = False, email: str | None = None):
        with app.app_context(), database.connection_context():
            return accounts.create_user(
                name, PASSWORD, email=email or f"{name}@example.org", is_superuser=superuser
            )

    return make


@pytest.fixture
def admin(make_user):
    return make_user("admin", superuser=True)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def login(app):
    """A test client signed in as ``name`` through ``POST /api/login``."""

    def sign_in(name: str):
        client = app.test_client()
        response = client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.json
        return client

    return sign_in


@pytest.fixture
def token_for(app):
    """An API token for ``name`` as ``Authorization`` headers."""

    def make(name: str) -> dict[str, str]:
        with app.app_context(), database.connection_context():
            new = accounts.create_token(accounts.get_user(name), "test")
        return {"Authorization": f"Bearer {new.plaintext}"}

    return make


# -- a server an attacker controls (tests/hostile.py) ----------------------------------------


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A real server on 127.0.0.1 that records every request and answers what the test
    scripts: Mallory's server, or a provider's."""
    server = Upstream()
    yield server
    server.stop()


# -- a provider with data operations (tests/support_provider.py) ------------------------------


@pytest.fixture
def files_app(make_app, monkeypatch):
    """An app with the test provider of tests/support_provider.py installed."""
    point = metadata.EntryPoint(
        name="testfiles", value="tests.support_provider", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    return make_app()


@pytest.fixture
def files_client(files_app, make_user):
    make_user("alice")
    client = files_app.test_client()
    client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    return client


@pytest.fixture
def files_integration(files_client):
    created = files_client.post(
        "/api/integrations", json={"name": "Files", "provider": "testfiles", "authType": "bearer"}
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    assert (
        files_client.post(
            f"/api/integrations/{ref}/connection", json={"token": "tok-123"}
        ).status_code
        == 200
    )
    return ref
