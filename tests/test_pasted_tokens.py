"""Access tokens pasted by hand, without a refresh token: Refresh is
``409 no_refresh_token`` and leaves them connected; they are used past their expiry until the
provider refuses them, and only that 401 makes them ``needs_reauth``, with the reason."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.db import database
from hub.models import Connection, Integration
from hub.tokens import ensure_fresh
from tests.test_oauth import TOKEN, make_integration
from tests.test_web_pages import post, signed_in, text

API = "https://api.example.org/v1/me"


@pytest.fixture
def alice_client(login, alice):
    return login("alice")


@pytest.fixture
def pasted(alice_client):
    """An OAuth2 integration whose connection is an access token pasted by hand."""
    integration = make_integration(alice_client)
    response = alice_client.post(
        f"/api/integrations/{integration['id']}/connection",
        json={"accessToken": "pasted-1", "expiresIn": 3600},
    )
    assert response.status_code == 200, response.json
    return integration


def status_of(client, integration):
    return client.get(f"/api/integrations/{integration['id']}/connection").json


def proxy(client, integration):
    return client.get(f"/api/integrations/{integration['id']}/proxy/v1/me")


def set_expiry(app, integration, seconds_from_now):
    with app.app_context(), database.connection_context():
        Connection.update(
            expires_at=dt.datetime.utcnow() + dt.timedelta(seconds=seconds_from_now)
        ).where(Connection.integration == integration["id"]).execute()


def test_refresh_of_a_pasted_token_is_409_and_it_stays_connected(
    alice_client, pasted, requests_mock
):
    token = requests_mock.post(TOKEN, json={"access_token": "never"})

    response = alice_client.post(f"/api/integrations/{pasted['id']}/connection/refresh")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "no_refresh_token"
    assert not token.called
    after = status_of(alice_client, pasted)
    assert (after["status"], after["lastError"], after["hasRefreshToken"]) == (
        "connected",
        None,
        False,
    )


def test_the_pages_refresh_button_explains_and_leaves_it_connected(
    app, alice_client, pasted, requests_mock
):
    token = requests_mock.post(TOKEN, json={"access_token": "never"})
    browser = signed_in(app, "alice")

    response = post(browser, f"/integrations/{pasted['id']}/refresh", follow_redirects=True)

    assert "has no refresh token" in text(response)
    assert not token.called
    assert status_of(alice_client, pasted)["status"] == "connected"


@pytest.mark.parametrize("seconds_left", [60, -600], ids=["about-to-expire", "expired"])
def test_a_pasted_token_is_used_past_its_expiry_until_the_provider_refuses_it(
    app, alice_client, pasted, requests_mock, seconds_left
):
    set_expiry(app, pasted, seconds_left)
    token = requests_mock.post(TOKEN, json={"access_token": "never"})
    api = requests_mock.get(API, json={"me": True})

    responses = [proxy(alice_client, pasted).status_code for _ in range(2)]

    assert responses == [200, 200]
    assert [r.headers["Authorization"] for r in api.request_history] == ["Bearer pasted-1"] * 2
    assert not token.called
    assert status_of(alice_client, pasted)["status"] == "connected"


def test_only_a_401_from_the_provider_makes_a_pasted_token_need_reauth(
    alice_client, pasted, requests_mock
):
    token = requests_mock.post(TOKEN, json={"access_token": "never"})
    api = requests_mock.get(API, status_code=401, json={})

    response = proxy(alice_client, pasted)

    assert response.status_code == 409
    assert response.json["error"]["code"] == "reauth_required"
    assert api.call_count == 1 and not token.called
    after = status_of(alice_client, pasted)
    assert after["status"] == "needs_reauth"
    assert "401" in after["lastError"] and "no refresh token" in after["lastError"]


def test_a_401_to_a_token_already_replaced_by_hand_keeps_the_new_one(
    app, alice_client, pasted, requests_mock
):
    """Dedup by the token the caller saw: a 401 to the old token does not end a connection
    whose token someone pasted anew meanwhile."""
    with app.app_context(), database.connection_context():
        seen = Connection.get(Connection.integration == pasted["id"])
    alice_client.post(
        f"/api/integrations/{pasted['id']}/connection", json={"accessToken": "pasted-2"}
    )
    registry = app.extensions["hub"].registry
    with app.test_request_context(), database.connection_context():
        integration = Integration.get_by_id(pasted["id"])
        provider = registry.provider(integration.provider)
        current = ensure_fresh(provider, integration, seen, replace=True, refused=True)
        assert current.get_secret("access_token").reveal() == "pasted-2"
    assert status_of(alice_client, pasted)["status"] == "connected"
