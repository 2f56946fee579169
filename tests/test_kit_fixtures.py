"""The kit's fixtures (hub.pytest_plugin) as a plugin's tests use them: no conftest.py."""

from __future__ import annotations

import pytest

from hub import hookimpl
from hub.providers import Provider, Service

TOKEN_URL = "https://auth.example.org/token"
API = "https://api.example.org"


def make_oauth_integration(client) -> int:
    created = client.post(
        "/api/integrations",
        json={
            "name": "Example",
            "authType": "oauth2",
            "authUri": "https://auth.example.org/authorize",
            "tokenUri": TOKEN_URL,
            "apiBaseUri": API,
            "clientId": "c",
            "clientSecret": "s",
        },
    )
    ref = created.get_json()["id"]
    connected = client.post(
        f"/api/integrations/{ref}/connection",
        json={"accessToken": "old", "refreshToken": "r", "expiresIn": 3600},
    )
    assert connected.status_code == 200, connected.get_json()
    return ref


def test_the_fake_clock_expires_a_token(hub_client, hub_clock, requests_mock):
    ref = make_oauth_integration(hub_client)
    refresh = requests_mock.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3600})
    requests_mock.get(f"{API}/me", json={})

    hub_client.get(f"/api/integrations/{ref}/proxy/me")
    assert refresh.call_count == 0

    hub_clock.advance(3600)
    hub_client.get(f"/api/integrations/{ref}/proxy/me")

    assert refresh.call_count == 1
    assert requests_mock.last_request.headers["Authorization"] == "Bearer new"


def test_waits_between_retries_move_the_fake_clock(hub_client, hub_clock, requests_mock):
    ref = make_oauth_integration(hub_client)
    requests_mock.get(
        f"{API}/busy", [{"status_code": 503, "headers": {"Retry-After": "7"}}, {"json": {}}]
    )
    before = hub_clock()

    assert hub_client.get(f"/api/integrations/{ref}/proxy/busy").status_code == 200

    assert hub_clock.waits == [7.0]
    assert (hub_clock() - before).total_seconds() == 7


class OnePlugin:
    @staticmethod
    @hookimpl
    def hub_register_providers():
        return [Provider(name="solo", display_name="Solo", auth_types=("bearer",),
                         services=(Service("files", "Files"),))]  # fmt: skip


@pytest.mark.parametrize("hub_plugins", [[OnePlugin]])
def test_hub_plugins_loads_only_the_plugins_named(hub_app):
    registry = hub_app.extensions["hub"].registry
    assert registry.provider("solo") is not None
    assert sorted(p.name for p in registry.listing() if not p.builtin) == ["hub_test_plugin_0"]


def test_hub_login_signs_in_another_user(hub_login, hub_client):
    bob = hub_login("bob")
    assert bob.get("/api/me").get_json()["name"] == "bob"
    assert hub_client.get("/api/me").get_json()["name"] == "tester"
