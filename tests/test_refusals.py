"""A provider says which refused refreshes end a grant, and why, in its own words
(``OAuth2Settings.reauth_errors`` / ``explain_refusal``): Microsoft's ``interaction_required``
and its AADSTS codes, played by a recording token endpoint on 127.0.0.1."""

from __future__ import annotations

from importlib import metadata

import pytest

from hub import hookimpl
from hub import plugins as plugin_module
from hub.plugins import ENTRY_POINT_GROUP
from hub.providers import OAuth2Settings, Provider, Service, Setting
from tests.conftest import PASSWORD

REFRESH = "refresh-token-that-must-not-show"


def explain(error: str, description: str | None) -> str | None:
    if description and "AADSTS50076" in description:
        return "your organisation now asks for multi-factor sign-in: connect again"
    if error == "crash":
        raise RuntimeError(description)
    if error == "echo":
        return f"the provider said: {description}"
    return None


class Strict:
    @staticmethod
    @hookimpl
    def hub_register_providers() -> list[Provider]:
        return [
            Provider(
                name="strict",
                display_name="Strict",
                auth_types=("oauth2",),
                oauth2=OAuth2Settings(
                    authorize_url="{server}/authorize",
                    token_url="{server}/token",
                    reauth_errors=("interaction_required",),
                    explain_refusal=explain,
                ),
                settings=(Setting("server", "Server", type="url", required=True),),
                endpoints={"api": "{server}"},
                api_endpoint="api",
                services=(Service("files", "Files"),),
            )
        ]


@pytest.fixture
def client(make_app, make_user, monkeypatch):
    point = metadata.EntryPoint(
        name="strict", value="tests.test_refusals:Strict", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    make_user("alice")
    client = app.test_client()
    client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    return client


def connected(client, upstream) -> int:
    ref = client.post(
        "/api/integrations",
        json={
            "name": "Strict",
            "provider": "strict",
            "clientId": "c",
            "clientSecret": "s",
            "settings": {"server": upstream.base},
        },
    ).json["id"]
    answer = client.post(
        f"/api/integrations/{ref}/connection",
        json={"accessToken": "a", "refreshToken": REFRESH, "expiresIn": 3600},
    )
    assert answer.status_code == 200, answer.json
    return ref


def refuse(upstream, error: str, description: str) -> None:
    upstream.answer("token", status=400, json={"error": error, "error_description": description})


def test_an_error_the_provider_names_ends_the_grant_with_its_sentence(client, upstream):
    ref = connected(client, upstream)
    refuse(upstream, "interaction_required", f"AADSTS50076: MFA required. Token {REFRESH}")

    refreshed = client.post(f"/api/integrations/{ref}/connection/refresh")

    assert refreshed.status_code == 409 and refreshed.json["error"]["code"] == "reauth_required"
    assert "multi-factor sign-in" in refreshed.json["error"]["message"]
    status = client.get(f"/api/integrations/{ref}/connection").json
    assert status["status"] == "needs_reauth"
    assert "multi-factor sign-in" in status["lastError"]
    assert REFRESH not in str(refreshed.json) + str(status)


def test_a_sentence_echoing_the_secret_is_redacted(client, upstream):
    ref = connected(client, upstream)
    refuse(upstream, "echo", f"bad token {REFRESH}")

    client.post(f"/api/integrations/{ref}/connection/refresh")

    status = client.get(f"/api/integrations/{ref}/connection").json
    assert REFRESH not in status["lastError"] and "[redacted]" in status["lastError"]
    assert status["status"] == "error"  # 'echo' does not end the grant


def test_a_failing_explanation_falls_back_to_the_hubs_sentence(client, upstream):
    ref = connected(client, upstream)
    refuse(upstream, "crash", "boom")

    refreshed = client.post(f"/api/integrations/{ref}/connection/refresh")

    assert refreshed.status_code == 502
    assert "crash" in client.get(f"/api/integrations/{ref}/connection").json["lastError"]


def test_an_error_not_named_keeps_the_grant(client, upstream):
    ref = connected(client, upstream)
    refuse(upstream, "temporarily_unavailable", "try later")

    client.post(f"/api/integrations/{ref}/connection/refresh")

    assert client.get(f"/api/integrations/{ref}/connection").json["status"] == "error"
