"""Fixtures for the Infomaniak plugin's tests: the plugin loaded the way the hub loads it, a
whole hub with a signed-in user, and Infomaniak's recorded answers (``fixtures/``) served by
requests-mock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.testing import (
    import_beside,
    isolate,
    load_plugin,
    make_hub_app,
    provider_of,
    signed_in_client,
)

import_beside(__file__, "local_infomaniak")
RECORDED = Path(__file__).parent / "fixtures"


LOGIN = "https://login.infomaniak.com"
CLIENT_ID = "ik-client"
CLIENT_SECRET = "ik-client-secret"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shell settings, no DNS, cheap password hashing (hub.testing.isolate)."""
    isolate(monkeypatch)


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off waits of retried requests, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("hub.context.time.sleep", recorded.append)
    return recorded


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry holding the built-ins and this plugin, loaded through its entry point."""
    return load_plugin("hub_infomaniak", name="infomaniak")


@pytest.fixture
def provider() -> Provider:
    """The validated ``infomaniak`` provider, as the registry holds it."""
    return provider_of("hub_infomaniak", "infomaniak")


@pytest.fixture
def recorded() -> Callable[[str], Any]:
    """Read a recorded answer: ``.json`` files decoded, anything else as bytes."""

    def read(name: str) -> Any:
        path = RECORDED / name
        return json.loads(path.read_text("utf-8")) if name.endswith(".json") else path.read_bytes()

    return read


@pytest.fixture
def serve(requests_mock: Any, recorded: Callable[[str], Any]) -> Callable[..., Any]:
    """``serve(url, {value: fixture}, param="cursor")``: answer GET ``url`` with the recorded
    answer chosen by a query parameter (``None``: the parameter is absent)."""

    def register(url: str, answers: dict[str | None, str], param: str = "cursor") -> Any:
        def answer(request: Any, context: Any) -> Any:
            values = parse_qs(urlsplit(request.url).query).get(param)  # case kept, unlike .qs
            name = answers.get(values[0] if values else None)
            if name is None:
                context.status_code = 404
                return recorded("error_object_not_found.json")
            return recorded(name)

        return requests_mock.get(url, json=answer)

    return register


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """A whole hub on a fresh database, installed plugins loaded, with an Infomaniak OAuth
    client configured as ``HUB_INFOMANIAK_CLIENT_ID`` / ``_SECRET`` would."""
    return make_hub_app(
        tmp_path, INFOMANIAK_CLIENT_ID=CLIENT_ID, INFOMANIAK_CLIENT_SECRET=CLIENT_SECRET
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client signed in as a new user."""
    return signed_in_client(app)


@pytest.fixture
def create_integration(client: FlaskClient) -> Callable[..., dict]:
    """Create an ``infomaniak`` integration with the given fields; return its JSON."""

    def create(**fields: Any) -> dict:
        body = {"name": "Infomaniak", "provider": "infomaniak", **fields}
        response = client.post("/api/integrations", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create


@pytest.fixture
def oauth_integration(create_integration: Callable[..., dict]) -> Callable[..., dict]:
    """Create an ``infomaniak`` integration that connects with OAuth2; return its JSON."""

    def create(**fields: Any) -> dict:
        return create_integration(**{"authType": "oauth2", **fields})

    return create


@pytest.fixture
def bearer(client: FlaskClient, create_integration: Callable[..., dict]) -> str:
    """An integration connected with a personal API token; its id."""
    integration = create_integration(authType="bearer")
    response = client.post(
        f"/api/integrations/{integration['id']}/connection", json={"token": "personal-token"}
    )
    assert response.status_code == 200, response.get_json()
    return integration["id"]


@pytest.fixture
def connect(
    client: FlaskClient, requests_mock: Any, recorded: Callable[[str], Any]
) -> Callable[..., Any]:
    """``connect(integration, token=..., profile=...)``: run the OAuth flow through the hub's
    routes (``/connect``, then ``/oauth2/callback``) against a recorded login server and
    profile; return the callback's response."""

    def run(
        integration: dict,
        *,
        token: str = "token.json",
        token_url: str = f"{LOGIN}/token",
        profile_url: str = "https://api.infomaniak.com/2/profile",
        profile: str = "profile_v2.json",
    ) -> Any:
        requests_mock.post(token_url, json=recorded(token))
        requests_mock.get(profile_url, json=recorded(profile))
        start = client.get(f"/api/integrations/{integration['id']}/connect")
        assert start.status_code == 302, start.get_json()
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        return client.get("/oauth2/callback", query_string={"state": state, "code": "ik-code"})

    return run
