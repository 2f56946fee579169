"""Client-credentials grants (issue 18, item 5): what may use them, and the token's life.

The real authorization server's view is in ``tests/test_e2e_oauth.py`` (oidc-provider with a
client allowed only this grant); here the rules around it, with the token endpoint recorded by
requests-mock.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest

from hub.db import database
from hub.models import Connection
from hub.tokens import due_connections

TOKEN = "https://auth.example.org/token"
MACHINE = {
    "name": "Reports API",
    "authType": "oauth2",
    "grantType": "client_credentials",
    "connectionMode": "shared",
    "authUri": "https://auth.example.org/authorize",
    "tokenUri": TOKEN,
    "clientId": "reports-client",
    "clientSecret": "reports-secret",
    "scope": "reports.read",
    "apiBaseUri": "https://api.example.org",
}


@pytest.fixture
def alice(make_user, login):
    make_user("alice")
    make_user("bob")
    return login("alice")


def machine(client, **changes) -> int:
    created = client.post("/api/integrations", json={**MACHINE, **changes})
    assert created.status_code == 201, created.json
    return created.json["id"]


def token_answers(requests_mock, *tokens: str) -> None:
    requests_mock.post(
        TOKEN,
        [{"json": {"access_token": t, "token_type": "Bearer", "expires_in": 3600}} for t in tokens],
    )


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"connectionMode": "per-user"}, "connectionMode"),
        ({"clientId": None, "clientSecret": None}, "clientId"),
        ({"clientSecret": None}, "clientSecret"),
        ({"grantType": "password"}, "grantType"),
    ],
)
def test_a_client_credentials_integration_needs_a_shared_connection_and_its_own_client(
    alice, changes, field
):
    body = {k: v for k, v in {**MACHINE, **changes}.items() if v is not None}
    response = alice.post("/api/integrations", json=body)
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["fields"]


def test_a_non_oauth_integration_has_no_client_credentials_grant(alice):
    response = alice.post(
        "/api/integrations",
        json={
            "name": "Keys",
            "authType": "apikey",
            "grantType": "client_credentials",
            "connectionMode": "shared",
            "apiBaseUri": "https://api.example.org",
        },
    )
    assert response.status_code == 400
    assert "grantType" in response.json["error"]["fields"]


def test_the_hubs_own_client_is_never_used_for_a_client_credentials_grant(
    make_app, make_user, login, monkeypatch, requests_mock
):
    """Anyone may create an integration: with the hub's client this grant would hand them a
    token of the hub's own application."""
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_ID", "hub-google-client")
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_SECRET", "hub-google-secret")
    make_app()
    make_user("mallory")
    mallory = login("mallory")
    response = mallory.post(
        "/api/integrations",
        json={
            "name": "Hub's app",
            "provider": "google",
            "authType": "oauth2",
            "grantType": "client_credentials",
            "connectionMode": "shared",
        },
    )
    assert response.status_code == 400
    assert {"clientId", "clientSecret"} <= set(response.json["error"]["fields"])
    assert requests_mock.request_history == []


def test_connecting_fetches_the_token_with_the_integrations_client(alice, requests_mock):
    ref = machine(alice)
    token_answers(requests_mock, "machine-1")
    response = alice.get(f"/api/integrations/{ref}/connect")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "connected"
    assert response.json["holder"] == "shared"
    sent = parse_qs(requests_mock.last_request.text)
    assert sent == {
        "grant_type": ["client_credentials"],
        "scope": ["reports.read"],
        "client_id": ["reports-client"],
        "client_secret": ["reports-secret"],
    }


def test_the_token_endpoint_mode_applies(alice, requests_mock):
    ref = machine(alice, settings={"tokenAuth": "basic"})
    token_answers(requests_mock, "machine-1")
    assert alice.get(f"/api/integrations/{ref}/connect").status_code == 200
    request = requests_mock.last_request
    assert request.headers["Authorization"].startswith("Basic ")
    assert "client_secret" not in request.text


def test_a_token_caller_is_connected_at_once_not_sent_a_link(alice, requests_mock, token_for):
    ref = machine(alice)
    token_answers(requests_mock, "machine-1")
    response = alice.get(f"/api/integrations/{ref}/connect", headers=token_for("alice"))
    assert response.status_code == 200
    assert "connectUrl" not in response.json


def test_only_a_manager_connects_it(alice, login, requests_mock):
    ref = machine(alice)
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    token_answers(requests_mock, "machine-1")
    response = login("bob").get(f"/api/integrations/{ref}/connect")
    assert response.status_code == 403
    assert requests_mock.request_history == []


def test_the_connect_page_connects_it_too(alice, requests_mock):
    ref = machine(alice)
    token_answers(requests_mock, "machine-1")
    page = alice.get(f"/integrations/{ref}/connect")
    assert page.status_code == 200
    assert b"is connected" in page.data
    assert alice.get(f"/api/integrations/{ref}/connection").json["status"] == "connected"


def test_an_expiring_token_is_fetched_again_when_used_and_found_by_the_refresher(
    alice, app, requests_mock
):
    ref = machine(alice)
    token_answers(requests_mock, "machine-1", "machine-2")
    alice.get(f"/api/integrations/{ref}/connect")
    with app.app_context(), database.connection_context():
        Connection.update(expires_at=dt.datetime(2020, 1, 1)).execute()
        assert [c.integration_id for c in due_connections(dt.timedelta(seconds=60))] == [ref]
    requests_mock.get("https://api.example.org/v1/reports", json={"ok": True})
    assert alice.get(f"/api/integrations/{ref}/proxy/v1/reports").status_code == 200
    used = requests_mock.last_request
    assert used.headers["Authorization"] == "Bearer machine-2"
    grants = [r for r in requests_mock.request_history if r.url == TOKEN]
    assert [parse_qs(g.text)["grant_type"] for g in grants] == [["client_credentials"]] * 2


def test_a_refused_token_is_replaced_once(alice, requests_mock):
    ref = machine(alice)
    token_answers(requests_mock, "machine-1", "machine-2")
    alice.get(f"/api/integrations/{ref}/connect")
    requests_mock.get(
        "https://api.example.org/v1/reports",
        [{"status_code": 401, "json": {"error": "invalid_token"}}, {"json": {"ok": True}}],
    )
    assert alice.get(f"/api/integrations/{ref}/proxy/v1/reports").status_code == 200
    assert requests_mock.last_request.headers["Authorization"] == "Bearer machine-2"


def test_changing_the_grant_needs_manage_and_drops_the_connection(alice, login, requests_mock):
    ref = machine(alice)
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    token_answers(requests_mock, "machine-1")
    alice.get(f"/api/integrations/{ref}/connect")
    refused = login("bob").patch(
        f"/api/integrations/{ref}", json={"grantType": "authorization_code"}
    )
    assert refused.status_code == 403
    assert refused.json["error"]["fields"] == {"grantType": "needs manage access"}
    changed = alice.patch(f"/api/integrations/{ref}", json={"grantType": "authorization_code"})
    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "not_connected"


def test_a_link_made_before_the_grant_changed_opens_no_consent_page(alice, token_for):
    """A one-time connect link from when the integration asked users for consent: once it uses
    a client-credentials grant, opening the link sends nobody to the provider."""
    ref = machine(alice, grantType="authorization_code")
    link = alice.get(f"/api/integrations/{ref}/connect", headers=token_for("alice")).json
    assert "connectUrl" in link
    alice.patch(f"/api/integrations/{ref}", json={"grantType": "client_credentials"})
    opened = alice.get(link["connectUrl"].split("127.0.0.1:5000", 1)[-1])
    assert opened.status_code == 400
    assert b"client-credentials grant" in opened.data
    assert "Location" not in opened.headers
