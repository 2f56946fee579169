"""Cozy's ``token_mode: get`` (``tokenAuth: get``): the code exchange and the refresh as GET
requests with every parameter in the query — against a server on loopback that accepts nothing
else — and the client secret in no log line of the hub's and with the hub's own client nowhere."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.db import database
from hub.models import Connection
from tests.conftest import PASSWORD
from tests.hostile import Answer

SECRET = "get-mode-client-secret"


pytestmark = pytest.mark.loopback


def token_endpoint(seen) -> Answer:
    """Only GET, and only with the client's id and secret in the query."""
    if seen.method != "GET":
        return Answer(405, body=b'{"error": "invalid_request"}')
    query = parse_qs(urlsplit(seen.path).query)
    if query.get("client_id") != ["cozy-client"] or query.get("client_secret") != [SECRET]:
        return Answer(401, body=b'{"error": "invalid_client"}')
    grant = query.get("grant_type", [""])[0]
    number = {"authorization_code": 1, "refresh_token": 2}.get(grant)
    if number is None:
        return Answer(400, body=b'{"error": "unsupported_grant_type"}')
    body = {
        "access_token": f"access-{number}",
        "refresh_token": f"refresh-{number}",
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    return Answer(200, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def test_a_get_only_token_endpoint_connects_and_refreshes(make_user, login, upstream, app, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.answer_with("token", token_endpoint)
    make_user("alice")
    alice = login("alice")
    created = alice.post(
        "/api/integrations",
        json={
            "name": "Cozy-like",
            "authType": "oauth2",
            "authUri": f"{upstream.base}/authorize",
            "tokenUri": f"{upstream.base}/token",
            "clientId": "cozy-client",
            "clientSecret": SECRET,
            "apiBaseUri": upstream.base,
            "settings": {"tokenAuth": "get", "pkce": False},
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    started = alice.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    back = alice.get("/oauth2/callback", query_string={"state": state, "code": "the-code"})
    assert back.status_code == 303, back.data[:500]
    assert alice.get(f"/api/integrations/{ref}/connection").json["status"] == "connected"

    refreshed = alice.post(f"/api/integrations/{ref}/connection/refresh")
    assert refreshed.status_code == 200, refreshed.json
    with app.app_context(), database.connection_context():
        stored = Connection.get(Connection.integration == ref)
        assert stored.get_secret("access_token").reveal() == "access-2"

    grants = [s for s in upstream.seen if s.path.startswith("/base/token")]
    assert [s.method for s in grants] == ["GET", "GET"]
    sent = [parse_qs(urlsplit(s.path).query) for s in grants]
    assert sent[0]["grant_type"] == ["authorization_code"] and sent[0]["code"] == ["the-code"]
    assert sent[1]["grant_type"] == ["refresh_token"] and sent[1]["refresh_token"] == ["refresh-1"]
    assert all(g.body == b"" for g in grants)
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record.name


def test_the_hubs_own_client_never_goes_into_a_url(make_app, make_user, upstream):
    """With the hub-wide client (approved for this server, so only the URL rule stands in the
    way), tokenAuth get is refused before anything is sent: only an integration's own client
    may be written into a URL."""
    hub = make_app(
        ALLOW_PRIVATE_ADDRESSES=True,
        CUSTOM_CLIENT_ID="hub-custom-client",
        CUSTOM_CLIENT_SECRET="hub-custom-secret",
        CUSTOM_CLIENT_ORIGINS=upstream.origin,
    )
    make_user("mallory")
    mallory = hub.test_client()
    signed = mallory.post("/api/login", json={"username": "mallory", "password": PASSWORD})
    assert signed.status_code == 200
    created = mallory.post(
        "/api/integrations",
        json={
            "name": "Into a URL",
            "authType": "oauth2",
            "authUri": f"{upstream.base}/authorize",
            "tokenUri": f"{upstream.base}/token",
            "apiBaseUri": upstream.base,
            "settings": {"tokenAuth": "get"},
        },
    )
    assert created.status_code == 201, created.json
    started = mallory.get(f"/api/integrations/{created.json['id']}/connect")
    assert started.status_code == 400
    assert started.json["error"]["code"] == "client_not_allowed"
    assert "URL" in started.json["error"]["message"]
    assert upstream.seen == []
