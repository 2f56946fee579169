"""Moving PowerFolder's server for a whole deployment (``HUB_POWERFOLDER_ENDPOINTS``).

Every URL of the declaration derives from the ``server`` endpoint, so an operator who points it
elsewhere (a staging server, the one self-hosted server every integration uses, a recording
server in tests) moves the allow page, the token requests and the WebDAV calls together; before,
the OAuth2 URLs named ``{serverUrl}`` and tokens kept going to each integration's own server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.addresses import declared_oauth_origins
from hub.models import Integration
from hub.testing import make_hub_app, signed_in_client

SERVER = "https://pf.example.org"
STAGING = "https://pf-staging.example.org"


@pytest.fixture
def staging_app(tmp_path: Path) -> Flask:
    """A hub whose operator moved PowerFolder's ``server`` endpoint to ``STAGING``."""
    return make_hub_app(tmp_path / "staging", POWERFOLDER_ENDPOINTS=json.dumps({"server": STAGING}))


@pytest.fixture
def staging_client(staging_app: Flask) -> FlaskClient:
    """A browser signed in to :func:`staging_app`."""
    return signed_in_client(staging_app, "alice")


def create(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    """An OAuth2 integration whose ``serverUrl`` is ``SERVER`` (the override wins over it)."""
    body = {
        "name": "PowerFolder",
        "provider": "powerfolder",
        "clientId": "hub-client",
        "clientSecret": "pf-client-secret-value",
        "settings": {"serverUrl": SERVER},
        **changes,
    }
    response = client.post("/api/integrations", json=body)
    assert response.status_code == 201, response.json
    return response.json


def connect(
    client: FlaskClient, integration: dict[str, Any], requests_mock: Any, recorded: Callable
) -> tuple[str, Any]:
    """``/connect`` then the callback; the allow page's address and the token request."""
    token = requests_mock.post(f"{STAGING}/oauth/token", content=recorded("token.json"))
    started = client.get(f"/api/integrations/{integration['id']}/connect")
    location = started.headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    done = client.get("/oauth2/callback", query_string={"state": state, "code": "pf-code"})
    assert done.status_code == 303, done.get_data(as_text=True)
    return location, token


def test_the_allow_page_and_the_token_request_go_to_the_operators_server(
    staging_client, requests_mock, recorded
):
    integration = create(staging_client)

    location, token = connect(staging_client, integration, requests_mock, recorded)

    assert location.startswith(f"{STAGING}/oauth/allow?")
    assert token.call_count == 1


def test_webdav_goes_to_the_operators_server_with_the_token_it_issued(
    staging_client, requests_mock, recorded
):
    integration = create(staging_client)
    connect(staging_client, integration, requests_mock, recorded)
    body = recorded("propfind_root.xml")
    root = requests_mock.register_uri(
        "PROPFIND", f"{STAGING}/webdav/", content=body, status_code=207
    )

    page = staging_client.get(f"/api/integrations/{integration['id']}/services/files/items")

    assert page.status_code == 200, page.json
    assert root.last_request.headers["Authorization"] == "Bearer pf-access-1"
    assert not [r for r in requests_mock.request_history if r.hostname == "pf.example.org"]


def test_the_hubs_own_client_may_go_to_the_operators_server(staging_app):
    # As if the plugin had declared that server: no HUB_POWERFOLDER_CLIENT_ORIGINS needed.
    provider = staging_app.extensions["hub"].registry.provider("powerfolder")
    integration = Integration(provider="powerfolder", auth_type="oauth2", settings={})

    assert STAGING in declared_oauth_origins(provider, integration)


def test_without_an_override_the_integrations_server_is_used(client, create, requests_mock):
    integration = create()

    location = client.get(f"/api/integrations/{integration['id']}/connect").headers["Location"]

    assert location.startswith(f"{SERVER}/oauth/allow?")
