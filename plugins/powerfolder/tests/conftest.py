"""Fixtures for the PowerFolder plugin's tests: the plugin loaded the way the hub loads it, a whole
hub for tests through its HTTP API, and the server's recorded answers (``fixtures/``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.testing import isolate, load_plugin, make_hub_app, provider_of, signed_in_client

FIXTURES = Path(__file__).parent / "fixtures"
SERVER = "https://pf.example.org"
CLIENT_ID = "hub-client"
CLIENT_SECRET = "pf-client-secret-value"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shell settings, no DNS, cheap password hashing (hub.testing.isolate)."""
    isolate(monkeypatch)


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry holding the built-ins and this plugin, loaded through its entry point."""
    return load_plugin("hub_powerfolder", name="powerfolder")


@pytest.fixture
def provider() -> Provider:
    """The validated ``powerfolder`` provider, as the registry holds it."""
    return provider_of("hub_powerfolder", "powerfolder")


@pytest.fixture
def recorded() -> Callable[[str], bytes]:
    """The bytes of a recorded server answer in ``tests/fixtures``."""
    return lambda name: (FIXTURES / name).read_bytes()


# -- a whole hub -----------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """A hub on a fresh database with the installed plugins, this one among them."""
    return make_hub_app(tmp_path / "instance")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser signed in to the hub."""
    return signed_in_client(app, "alice")


@pytest.fixture
def create(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Create a PowerFolder integration on ``SERVER``; keyword arguments change the body, and
    ``settings`` is merged into ``{"serverUrl": SERVER}``."""

    def make(**changes: Any) -> dict[str, Any]:
        settings = {"serverUrl": SERVER, **changes.pop("settings", {})}
        body = {
            "name": "PowerFolder",
            "provider": "powerfolder",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "settings": settings,
            **changes,
        }
        response = client.post("/api/integrations", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return make


@pytest.fixture
def connect(client: FlaskClient, recorded: Callable[[str], bytes]) -> Callable[..., Any]:
    """Run the OAuth flow through the hub for an integration: ``/connect``, the server's allow
    page (skipped: a redirect back with a code), ``/oauth2/callback``. The token endpoint
    answers ``token.json``; returns the token request the hub sent."""

    def run(integration: dict[str, Any], requests_mock: Any, token_path: str = "/oauth") -> Any:
        token = requests_mock.post(SERVER + token_path, content=recorded("token.json"))
        started = client.get(f"/api/integrations/{integration['id']}/connect")
        assert started.status_code == 302, started.get_json()
        location = started.headers["Location"]
        assert location.startswith(f"{SERVER}/oauth/allow?")
        state = parse_qs(urlsplit(location).query)["state"][0]
        done = client.get("/oauth2/callback", query_string={"state": state, "code": "pf-code"})
        assert done.status_code == 303, done.get_data(as_text=True)
        assert token.call_count == 1
        return token.last_request

    return run


@pytest.fixture
def oauth_integration(
    create: Callable[..., dict[str, Any]], connect: Callable[..., Any], requests_mock: Any
) -> dict[str, Any]:
    """A connected OAuth2 integration (access token ``pf-access-1``)."""
    integration = create()
    connect(integration, requests_mock)
    return integration


@pytest.fixture
def basic_integration(client: FlaskClient, create: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A connected integration with a username and password (``authType: basic``)."""
    integration = create(authType="basic", clientId=None, clientSecret=None)
    response = client.post(
        f"/api/integrations/{integration['id']}/connection",
        json={"username": "alice@example.org", "password": "pf password"},
    )
    assert response.status_code == 200, response.json
    return integration
