"""``GET /api/integrations/{id}/connection/credentials``: refused in every case it must be,
audited and fresh when allowed (issue 18, item 2).

The attackers: a browser session (what a script in the hub's origin would ride), a token made
without scopes or without ``credentials:read``, a sharee asking for someone else's or the shared
connection, an ``edit`` sharee turning export on, a token limited to another integration.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from hub.db import database
from hub.models import AuditEvent, Connection
from tests.conftest import PASSWORD

AUTH = "https://auth.example.org/authorize"
TOKEN = "https://auth.example.org/token"
API = "https://api.example.org"


def oauth_integration(client, **extra) -> int:
    created = client.post(
        "/api/integrations",
        json={
            "name": "Files API",
            "authType": "oauth2",
            "authUri": AUTH,
            "tokenUri": TOKEN,
            "clientId": "hub-client",
            "clientSecret": "client-secret-value",
            "apiBaseUri": API,
            **extra,
        },
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def connect_by_hand(client, ref, access: str, refresh: str = "refresh-1") -> None:
    done = client.post(
        f"/api/integrations/{ref}/connection",
        json={"accessToken": access, "refreshToken": refresh, "expiresIn": 3600},
    )
    assert done.status_code == 200, done.json


def reader_token(client, *scopes: str, **extra) -> dict[str, str]:
    made = client.post(
        "/api/tokens",
        json={"name": "backend", "scopes": list(scopes or ["credentials:read"]), **extra},
    )
    assert made.status_code == 201, made.json
    return {"Authorization": f"Bearer {made.json['token']}"}


@pytest.fixture
def alice(make_user, login):
    make_user("alice")
    make_user("bob")
    return login("alice")


@pytest.fixture
def exported(alice):
    """Alice's per-user OAuth2 integration with export on, shared with bob at ``use``; both
    connected with their own tokens."""
    ref = oauth_integration(alice, credentialsExport=True)
    assert (
        alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"}).status_code == 200
    )
    connect_by_hand(alice, ref, "alice-access")
    return ref


def credentials(client, ref, headers):
    return client.get(f"/api/integrations/{ref}/connection/credentials", headers=headers)


def test_a_token_with_the_scope_reads_its_users_fresh_credentials(exported, alice, app):
    response = credentials(alice, exported, reader_token(alice))
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["holder"] == "user"
    assert body["credentials"]["type"] == "oauth2"
    assert body["credentials"]["accessToken"] == "alice-access"
    assert body["credentials"]["tokenType"] == "Bearer"
    assert body["credentials"]["expiresAt"].endswith("Z")
    assert "refresh" not in str(body).lower().replace("lastrefreshedat", "")
    with app.app_context(), database.connection_context():
        events = list(AuditEvent.select().where(AuditEvent.action == "connection.credentials.read"))
    assert len(events) == 1
    assert events[0].details["tokenName"] == "backend"
    assert "alice-access" not in str(events[0].details)


def test_export_is_off_by_default(alice):
    ref = oauth_integration(alice)
    connect_by_hand(alice, ref, "alice-access")
    response = credentials(alice, ref, reader_token(alice))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "credentials_export_off"
    assert "alice-access" not in response.get_data(as_text=True)


def test_a_session_or_a_token_without_the_scope_gets_nothing(exported, alice, token_for):
    for headers in (
        {},  # the browser session alice signed in with
        token_for("alice"),  # a token made without scopes: all rights, but not this one
        reader_token(alice, "data", "integrations:read", "connections:write"),
    ):
        response = credentials(alice, exported, headers)
        assert response.status_code == 403, headers
        assert response.json["error"]["code"] == "insufficient_scope"
        assert response.json["error"]["fields"] == {"scope": "credentials:read"}
        assert "alice-access" not in response.get_data(as_text=True)


def test_a_sharee_reads_only_their_own_connection(exported, login):
    bob = login("bob")
    headers = reader_token(bob)
    not_yet = credentials(bob, exported, headers)
    assert not_yet.status_code == 409
    assert not_yet.json["error"]["code"] == "not_connected"
    connect_by_hand(bob, exported, "bob-access")
    mine = credentials(bob, exported, headers)
    assert mine.json["credentials"]["accessToken"] == "bob-access"


def test_only_a_manager_reads_a_shared_connection(alice, login):
    ref = oauth_integration(alice, connectionMode="shared", credentialsExport=True)
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    connect_by_hand(alice, ref, "service-access")
    bob = login("bob")
    refused = credentials(bob, ref, reader_token(bob))
    assert refused.status_code == 403
    assert "service-access" not in refused.get_data(as_text=True)
    allowed = credentials(alice, ref, reader_token(alice))
    assert allowed.json["credentials"]["accessToken"] == "service-access"
    assert allowed.json["holder"] == "shared"


def test_only_a_manager_turns_export_on(alice, login):
    ref = oauth_integration(alice)
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    bob = login("bob")
    refused = bob.patch(f"/api/integrations/{ref}", json={"credentialsExport": True})
    assert refused.status_code == 403
    assert refused.json["error"]["fields"] == {"credentialsExport": "needs manage access"}
    assert alice.get(f"/api/integrations/{ref}").json["credentialsExport"] is False
    assert bob.patch(f"/api/integrations/{ref}", json={"name": "Renamed"}).status_code == 200
    turned = alice.patch(f"/api/integrations/{ref}", json={"credentialsExport": True})
    assert turned.status_code == 200 and turned.json["credentialsExport"] is True


def test_a_token_limited_to_another_integration_cannot_read(exported, alice):
    other = oauth_integration(alice, name="Other", credentialsExport=True)
    headers = reader_token(alice, integrations=[str(other)])
    response = credentials(alice, exported, headers)
    assert response.status_code == 404
    assert "alice-access" not in response.get_data(as_text=True)


def test_a_connection_that_needs_reauthorisation_gives_nothing(exported, alice, app):
    with app.app_context(), database.connection_context():
        Connection.update(status="needs_reauth").execute()
    response = credentials(alice, exported, reader_token(alice))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "reauth_required"


@pytest.mark.parametrize(
    "auth_type, values, expected",
    [
        ("bearer", {"token": "static-bearer"}, {"type": "bearer", "token": "static-bearer"}),
        (
            "basic",
            {"username": "svc", "password": "pässword"},
            {"type": "basic", "username": "svc", "password": "pässword"},
        ),
        (
            "apikey",
            {"apiKey": "k-123"},
            {"type": "apikey", "apiKey": "k-123", "in": "header", "name": "X-Api-Key"},
        ),
    ],
)
def test_stored_credentials_come_back_as_they_were_set(alice, auth_type, values, expected):
    created = alice.post(
        "/api/integrations",
        json={
            "name": "Static",
            "authType": auth_type,
            "apiBaseUri": API,
            "credentialsExport": True,
        },
    )
    ref = created.json["id"]
    assert alice.post(f"/api/integrations/{ref}/connection", json=values).status_code == 200
    response = credentials(alice, ref, reader_token(alice))
    assert response.status_code == 200, response.json
    assert response.json["credentials"] == expected


def test_an_expired_token_is_refreshed_first_and_works_at_the_provider(
    exported, alice, app, requests_mock
):
    """The provider accepts only the newest token: what the backend gets must be it."""
    with app.app_context(), database.connection_context():
        Connection.update(expires_at=dt.datetime(2020, 1, 1)).execute()
    requests_mock.post(
        TOKEN,
        json={"access_token": "fresh-access", "refresh_token": "refresh-2", "expires_in": 3600},
    )

    def provider_api(request, context):
        if request.headers.get("Authorization") != "Bearer fresh-access":
            context.status_code = 401
            return {"error": "invalid_token"}
        return {"ok": True}

    requests_mock.get(f"{API}/v1/files", json=provider_api)
    response = credentials(alice, exported, reader_token(alice))
    assert response.status_code == 200, response.json
    given = response.json["credentials"]
    import requests

    used = requests.get(
        f"{API}/v1/files", headers={"Authorization": f"{given['tokenType']} {given['accessToken']}"}
    )
    assert used.json() == {"ok": True}
    grants = [r for r in requests_mock.request_history if r.url == TOKEN]
    assert len(grants) == 1
    assert "refresh_token=refresh-1" in grants[0].text


def test_concurrent_reads_during_an_expiry_make_one_refresh(exported, alice, app, requests_mock):
    with app.app_context(), database.connection_context():
        Connection.update(expires_at=dt.datetime(2020, 1, 1)).execute()
    grants = []

    def slow_grant(request, context):
        grants.append(request.text)
        time.sleep(0.2)
        return {
            "access_token": f"fresh-{len(grants)}",
            "refresh_token": f"refresh-{len(grants) + 1}",
            "expires_in": 3600,
        }

    requests_mock.post(TOKEN, json=slow_grant)
    headers = reader_token(alice)
    barrier = threading.Barrier(10)
    answers, errors = [], []

    def read() -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = credentials(client, exported, headers)
            answers.append((response.status_code, response.json["credentials"]["accessToken"]))
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(grants) == 1
    assert answers == [(200, "fresh-1")] * 10
    with app.app_context(), database.connection_context():
        reads = AuditEvent.select().where(AuditEvent.action == "connection.credentials.read")
        assert reads.count() == 10


def test_the_credentials_are_never_in_the_other_answers(exported, alice, login, token_for):
    headers = token_for("alice")
    for path in ("", "/connection", "/connections"):
        text = alice.get(f"/api/integrations/{exported}{path}", headers=headers).get_data(
            as_text=True
        )
        assert "alice-access" not in text and "refresh-1" not in text
    assert PASSWORD  # the fixture users sign in with it


def csrf_of(page) -> str:
    return page.data.decode().split('name="csrf_token" value="')[1].split('"')[0]


def test_the_edit_form_turns_export_on_for_managers_only(alice, login):
    ref = oauth_integration(alice)
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    page = alice.get(f"/integrations/{ref}/edit")
    assert b'name="credentialsExport"' in page.data
    form = {
        "csrf_token": csrf_of(page),
        "provider": "custom",
        "name": "Files API",
        "slug": "files-api",
        "ownerId": "alice",
        "connectionMode": "per-user",
        "authType": "oauth2",
        "grantType": "authorization_code",
        "clientId": "hub-client",
        "authUri": AUTH,
        "tokenUri": TOKEN,
        "apiBaseUri": API,
        "credentialsExportShown": "1",
        "credentialsExport": "on",
    }
    saved = alice.post(f"/integrations/{ref}/edit", data=form)
    assert saved.status_code in (302, 303), saved.data[:2000]
    assert alice.get(f"/api/integrations/{ref}").json["credentialsExport"] is True
    bob = login("bob")
    bobs_page = bob.get(f"/integrations/{ref}/edit")
    assert b'name="credentialsExport"' not in bobs_page.data
    assert b'name="grantType"' not in bobs_page.data
    bobs_form = {
        k: v
        for k, v in form.items()
        if k not in ("credentialsExportShown", "credentialsExport", "grantType", "ownerId")
    }
    bobs_form.update(csrf_token=csrf_of(bobs_page), name="Renamed by bob")
    kept = bob.post(f"/integrations/{ref}/edit", data=bobs_form)
    assert kept.status_code in (302, 303), kept.data[:2000]
    after = alice.get(f"/api/integrations/{ref}").json
    assert after["name"] == "Renamed by bob" and after["credentialsExport"] is True
