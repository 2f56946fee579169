"""Lifecycle hooks tell the truth: a plugin installed like any other records
what each ``hub_connection_*`` hook receives, and every payload's connection fields equal the
stored row after the change; ``hub_connection_disconnected`` reports ``not_connected``."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata

import pytest

from hub import plugins as plugin_module
from hub.db import database
from hub.models import Connection
from hub.plugins import ENTRY_POINT_GROUP
from tests.test_oauth import CODE, TOKEN, begin, token_answer

PROFILE = "https://rec.example.org/me"

RECORDER = """
from hub import hookimpl
from hub.providers import OAuth2Settings, ProfileLookup, Provider, Service

calls = []


@hookimpl
def hub_register_providers():
    return [
        Provider(
            name="recorded",
            display_name="Recorded",
            auth_types=("oauth2",),
            oauth2=OAuth2Settings(
                authorize_url="https://auth.example.org/authorize",
                token_url="https://auth.example.org/token",
            ),
            endpoints={"api": "https://rec.example.org"},
            api_endpoint="api",
            profile=ProfileLookup("api", "/me", "id", email_field="email", name_field="name"),
            services=(Service("files", "Files"),),
        )
    ]


@hookimpl
def hub_connection_connected(event):
    calls.append(("hub_connection_connected", event))


@hookimpl
def hub_connection_refreshed(event):
    calls.append(("hub_connection_refreshed", event))


@hookimpl
def hub_connection_refresh_failed(event):
    calls.append(("hub_connection_refresh_failed", event))


@hookimpl
def hub_connection_disconnected(event):
    calls.append(("hub_connection_disconnected", event))
"""


@pytest.fixture
def recorder(tmp_path, monkeypatch):
    """The recording plugin, found through an entry point as an installed plugin would be."""
    folder = tmp_path / "recorder_plugin"
    folder.mkdir()
    (folder / "hub_event_recorder.py").write_text(textwrap.dedent(RECORDER))
    monkeypatch.syspath_prepend(str(folder))
    point = metadata.EntryPoint(
        name="hub_event_recorder", value="hub_event_recorder", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    yield
    sys.modules.pop("hub_event_recorder", None)


@pytest.fixture
def app(recorder, make_app):
    return make_app()


@pytest.fixture
def calls(app):
    return sys.modules["hub_event_recorder"].calls


@pytest.fixture
def alice_client(login, alice):
    return login("alice")


@pytest.fixture
def integration(alice_client):
    response = alice_client.post(
        "/api/integrations",
        json={
            "name": "Recorded",
            "provider": "recorded",
            "clientId": "rec-client",
            "clientSecret": "rec-secret",
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def oauth_connect(client, integration, requests_mock, **answer):
    requests_mock.post(TOKEN, json=token_answer(refresh_token="refresh-1", **answer))
    requests_mock.get(PROFILE, json={"id": 42, "email": "a@rec.example", "name": "A"})
    state = begin(client, integration)["state"]
    response = client.get("/oauth2/callback", query_string={"state": state, "code": CODE})
    assert response.status_code == 303, response.get_data(as_text=True)


def row_fields(app, integration) -> dict | None:
    with app.app_context(), database.connection_context():
        row = Connection.get_or_none(Connection.integration == integration["id"])
    if row is None:
        return None
    return {
        "holder": row.holder,
        "status": row.status,
        "external_id": row.external_id,
        "email": row.email,
        "error": row.last_error,
    }


def event_fields(event) -> dict:
    return {
        "holder": event.holder,
        "status": event.status,
        "external_id": event.external_id,
        "email": event.email,
        "error": event.error,
    }


def last(calls, hook):
    assert calls and calls[-1][0] == hook, [c[0] for c in calls]
    event = calls[-1][1]
    return event


def check_matches_row(app, integration, alice, event):
    assert (event.integration_id, event.integration_slug, event.provider) == (
        integration["id"],
        integration["slug"],
        "recorded",
    )
    assert event.user_name == "alice"
    assert event_fields(event) == row_fields(app, integration)


def test_connected_by_the_oauth_flow(app, calls, alice, alice_client, integration, requests_mock):
    oauth_connect(alice_client, integration, requests_mock)

    event = last(calls, "hub_connection_connected")
    check_matches_row(app, integration, alice, event)
    assert (event.status, event.external_id, event.email) == ("connected", "42", "a@rec.example")


def test_connected_by_pasting_a_token(app, calls, alice, alice_client, integration):
    alice_client.post(
        f"/api/integrations/{integration['id']}/connection", json={"accessToken": "pasted"}
    )

    event = last(calls, "hub_connection_connected")
    check_matches_row(app, integration, alice, event)
    assert event.status == "connected"


def test_refreshed(app, calls, alice, alice_client, integration, requests_mock):
    oauth_connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2"))

    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")

    event = last(calls, "hub_connection_refreshed")
    check_matches_row(app, integration, alice, event)
    assert (event.status, event.error) == ("connected", None)


def test_refresh_failed_with_an_error(app, calls, alice, alice_client, integration, requests_mock):
    oauth_connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=500, text="down")

    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")

    event = last(calls, "hub_connection_refresh_failed")
    check_matches_row(app, integration, alice, event)
    assert event.status == "error" and event.error


def test_refresh_failed_the_grant_is_gone(
    app, calls, alice, alice_client, integration, requests_mock
):
    oauth_connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=400, json={"error": "invalid_grant"})

    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")

    event = last(calls, "hub_connection_refresh_failed")
    check_matches_row(app, integration, alice, event)
    assert event.status == "needs_reauth" and "invalid_grant" in event.error


def test_a_pasted_token_refused_by_the_provider(
    app, calls, alice, alice_client, integration, requests_mock
):
    alice_client.post(
        f"/api/integrations/{integration['id']}/connection", json={"accessToken": "pasted"}
    )
    requests_mock.get("https://rec.example.org/files", status_code=401, json={})

    alice_client.get(f"/api/integrations/{integration['id']}/proxy/files")

    event = last(calls, "hub_connection_refresh_failed")
    check_matches_row(app, integration, alice, event)
    assert event.status == "needs_reauth" and "401" in event.error


def test_a_refused_refresh_asked_for_a_pasted_token_is_no_event(
    app, calls, alice_client, integration
):
    alice_client.post(
        f"/api/integrations/{integration['id']}/connection", json={"accessToken": "pasted"}
    )
    before = len(calls)

    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")

    assert len(calls) == before


def test_disconnected_reports_the_status_after_removal(
    app, calls, alice, alice_client, integration, requests_mock
):
    oauth_connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=400, json={"error": "invalid_grant"})
    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")

    response = alice_client.delete(f"/api/integrations/{integration['id']}/connection")

    assert response.status_code == 204
    event = last(calls, "hub_connection_disconnected")
    assert row_fields(app, integration) is None
    shown = alice_client.get(f"/api/integrations/{integration['id']}/connection").json
    assert event.status == shown["status"] == "not_connected"
    assert event.error is None
    assert (event.holder, event.external_id, event.email, event.user_name) == (
        f"user:{alice.principal_id}",
        "42",
        "a@rec.example",
        "alice",
    )
