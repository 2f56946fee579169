"""Credentials go only where they were made for (SECURITY 29, 30, 31), attacked from outside.

Mallory is an ordinary user; her server is real (:class:`tests.hostile.Upstream` on 127.0.0.1)
and records everything it receives. The administrator configured the hub's own OAuth clients.
Each test mounts an attack through the HTTP API and asserts what reached Mallory's server — the
administrator's client secret, a teammate's credential — not what the hub meant to send.
"""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import accounts, create_app
from hub.db import database
from hub.models import AuditEvent, Connection, Integration

from .conftest import PASSWORD
from .hostile import Answer, Upstream

HUB_SECRET = "hub-wide-google-secret"
PF_SECRET = "hub-wide-powerfolder-secret"
SHARED_TOKEN = "alice-shared-bearer-token"


@pytest.fixture
def mallory_server(upstream: Upstream) -> Upstream:
    return upstream


@pytest.fixture
def honest_server():
    server = Upstream()
    server.answer("v1/me", json={"me": "honest"})
    yield server
    server.stop()


@pytest.fixture
def app(make_app):
    """A self-hosted hub (loopback allowed) whose administrator set Google's and PowerFolder's
    OAuth clients for everyone."""
    return make_app(
        ALLOW_PRIVATE_ADDRESSES=True,
        GOOGLE_CLIENT_ID="hub-google-client",
        GOOGLE_CLIENT_SECRET=HUB_SECRET,
        POWERFOLDER_CLIENT_ID="hub-pf-client",
        POWERFOLDER_CLIENT_SECRET=PF_SECRET,
    )


@pytest.fixture
def mallory(make_user, login):
    make_user("mallory")
    return login("mallory")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def token_answer(access: str = "access-1") -> dict:
    return {"access_token": access, "token_type": "Bearer", "expires_in": 3600}


# -- SECURITY 29: the hub-wide OAuth client -------------------------------------------------------


@pytest.mark.parametrize(
    "override, field",
    [
        (lambda server: {"tokenUri": server + "/token"}, "tokenUri"),
        (lambda server: {"authUri": server + "/authorize"}, "authUri"),
        (lambda server: {"settings": {"endpoints": {"revoke": server}}}, "revokeUrl"),
    ],
    ids=["token", "authorize", "revoke-endpoint"],
)
def test_the_hub_client_cannot_be_pointed_at_a_server_a_user_chose(
    mallory, mallory_server, override, field
):
    body = {"name": "Drive", "provider": "google", **override(mallory_server.base)}

    created = mallory.post("/api/integrations", json=body)

    assert created.status_code == 400, created.json
    error = created.json["error"]
    assert error["code"] == "client_not_allowed"
    assert field in error["fields"] and "clientId" in error["fields"]
    assert "own clientId and clientSecret" in error["message"]
    assert mallory_server.seen == []


def test_a_row_that_points_elsewhere_never_sends_the_hub_client(
    app, mallory, mallory_server, requests_mock
):
    """An integration saved before the rule (or changed behind the API's back) pointing at
    Mallory's server: connecting, refreshing and disconnecting all refuse the hub's client."""
    requests_mock.real_http = True  # only Mallory's loopback server is reachable
    ref = mallory.post("/api/integrations", json={"name": "Drive", "provider": "google"}).json["id"]
    with app.app_context(), database.connection_context():
        Integration.update(
            token_uri=mallory_server.base + "/token",
            settings={"endpoints": {"revoke": mallory_server.base}},
        ).where(Integration.id == ref).execute()
        user = accounts.get_user("mallory")
        connection = Connection.create(
            integration=ref, user=user, holder=f"user:{user.principal_id}", status="connected"
        )
        connection.set_secret("access_token", "access-old")
        connection.set_secret("refresh_token", "refresh-old")
        connection.save()

    connect = mallory.get(f"/api/integrations/{ref}/connect")
    refresh = mallory.post(f"/api/integrations/{ref}/connection/refresh")
    disconnect = mallory.delete(f"/api/integrations/{ref}/connection")

    assert connect.status_code == 400 and connect.json["error"]["code"] == "client_not_allowed"
    assert refresh.status_code in (400, 502), refresh.json
    assert disconnect.status_code == 204
    assert mallory_server.seen == []


def test_an_integration_with_its_own_client_may_point_anywhere(mallory, mallory_server):
    """Her own client at her own server: the flow runs, and what arrives is her secret."""
    mallory_server.answer("token", json=token_answer())
    mallory_server.answer("v1/userinfo", json={"sub": "m-1", "email": "m@example.org"})
    created = mallory.post(
        "/api/integrations",
        json={
            "name": "Drive",
            "provider": "google",
            "clientId": "mallorys-client",
            "clientSecret": "mallorys-secret",
            "tokenUri": mallory_server.base + "/token",
            "settings": {"endpoints": {"userinfo": mallory_server.base}},
        },
    )
    assert created.status_code == 201, created.json
    started = mallory.get(f"/api/integrations/{created.json['id']}/connect")
    state = query_of(started.headers["Location"])["state"]

    done = mallory.get("/oauth2/callback", query_string={"state": state, "code": "c"})

    assert done.status_code == 303, done.get_data(as_text=True)
    token_request = next(r for r in mallory_server.seen if r.path == "/base/token")
    assert token_request.form["client_secret"] == "mallorys-secret"
    assert not mallory_server.received(HUB_SECRET)
    # Plain http to an allowed loopback address, without oauthlib's process-wide switch.
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_a_self_hosted_server_receives_the_hub_client_once_an_administrator_approved_it(
    app, mallory, mallory_server
):
    honest = Upstream()
    try:
        honest.answer("oauth/token", json=token_answer())
        app.config["POWERFOLDER_CLIENT_ORIGINS"] = honest.origin

        refused = mallory.post(
            "/api/integrations",
            json={
                "name": "PF",
                "provider": "powerfolder",
                "settings": {"serverUrl": mallory_server.base},
            },
        )
        approved = mallory.post(
            "/api/integrations",
            json={"name": "PF", "provider": "powerfolder", "settings": {"serverUrl": honest.base}},
        )
        assert approved.status_code == 201, approved.json
        started = mallory.get(f"/api/integrations/{approved.json['id']}/connect")
        state = query_of(started.headers["Location"])["state"]
        done = mallory.get("/oauth2/callback", query_string={"state": state, "code": "c"})
    finally:
        honest.stop()

    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "client_not_allowed"
    assert mallory_server.seen == []
    assert done.status_code == 303, done.get_data(as_text=True)
    assert honest.received(PF_SECRET)


def test_an_administrator_stores_approved_origins_with_the_client(make_user, login):
    make_user("root", superuser=True)
    admin = login("root")

    bad = admin.put(
        "/api/providers/infomaniak/credentials",
        json={"clientId": "c", "approvedOrigins": ["https://login.example.org/path"]},
    )
    good = admin.put(
        "/api/providers/infomaniak/credentials",
        json={"clientId": "c", "approvedOrigins": ["https://LOGIN.example.org:443/"]},
    )

    assert bad.status_code == 400 and "approvedOrigins" in bad.json["error"]["fields"]
    assert good.status_code == 200, good.json
    shown = admin.get("/api/providers/infomaniak/credentials").json
    assert (shown["source"], shown["approvedOrigins"]) == ("stored", ["https://login.example.org"])


def test_a_stored_client_goes_to_its_approved_origins_only(
    make_user, login, mallory, mallory_server
):
    make_user("root", superuser=True)
    admin = login("root")
    honest = Upstream()
    try:
        stored = admin.put(
            "/api/providers/infomaniak/credentials",
            json={
                "clientId": "ik",
                "clientSecret": "ik-secret",
                "approvedOrigins": [honest.origin],
            },
        )
        assert stored.status_code == 200 and stored.json["approvedOrigins"] == [honest.origin]
        to_mallory = mallory.post(
            "/api/integrations",
            json={
                "name": "IK",
                "provider": "infomaniak",
                "authType": "oauth2",
                "tokenUri": mallory_server.base + "/t",
            },
        )
        to_honest = mallory.post(
            "/api/integrations",
            json={
                "name": "IK2",
                "provider": "infomaniak",
                "authType": "oauth2",
                "tokenUri": honest.base + "/t",
            },
        )
    finally:
        honest.stop()

    assert to_mallory.status_code == 400
    assert to_mallory.json["error"]["code"] == "client_not_allowed"
    assert to_honest.status_code == 201, to_honest.json
    assert mallory_server.seen == []


def test_a_malformed_approved_origins_setting_stops_the_start(tmp_path, database_url):
    with pytest.raises(ValueError, match="HUB_POWERFOLDER_CLIENT_ORIGINS"):
        create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "DATABASE_URL": database_url,
                "SECRET_KEY": "k",
                "POWERFOLDER_CLIENT_ORIGINS": "pf.example.org",
            }
        )


# -- SECURITY 30: where credentials go needs manage -----------------------------------------------


@pytest.fixture
def shared_api(make_user, login, honest_server, mallory):
    """Alice's shared bearer integration at an honest server; Mallory has edit, Bob has use,
    Carol has manage."""
    for name in ("alice", "bob", "carol"):
        make_user(name)
    alice = login("alice")
    created = alice.post(
        "/api/integrations",
        json={
            "name": "Team API",
            "authType": "bearer",
            "connectionMode": "shared",
            "apiBaseUri": honest_server.base,
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    assert (
        alice.post(f"/api/integrations/{ref}/connection", json={"token": SHARED_TOKEN}).status_code
        == 200
    )
    for name, level in (("mallory", "edit"), ("bob", "use"), ("carol", "manage")):
        shared = alice.put(f"/api/integrations/{ref}/shares/{name}", json={"access": level})
        assert shared.status_code == 200, shared.json
    return ref, alice


@pytest.mark.parametrize(
    "change, field",
    [
        ({"apiBaseUri": "{server}"}, "apiBaseUri"),
        ({"settings": {"revokeUri": "{server}/revoke"}}, "settings.revokeUri"),
        ({"authType": "oauth2", "authUri": "{server}/a", "tokenUri": "{server}/t"}, "authUri"),
    ],
    ids=["apiBaseUri", "revokeUri", "oauth-urls"],
)
def test_an_edit_sharee_cannot_move_a_shared_credential(
    mallory, mallory_server, honest_server, shared_api, login, change, field
):
    ref, _ = shared_api
    body = {
        key: value.format(server=mallory_server.base)
        if isinstance(value, str)
        else {k: v.format(server=mallory_server.base) for k, v in value.items()}
        for key, value in change.items()
    }

    moved = mallory.patch(f"/api/integrations/{ref}", json=body)
    used = login("bob").get(f"/api/integrations/{ref}/proxy/v1/me")

    assert moved.status_code == 403, moved.json
    assert field in moved.json["error"]["fields"]
    assert "manage" in moved.json["error"]["message"]
    assert used.status_code == 200 and used.json == {"me": "honest"}
    assert mallory_server.seen == []
    assert honest_server.received(SHARED_TOKEN)


def test_an_edit_sharee_cannot_move_a_self_hosted_server(make_user, login, mallory, mallory_server):
    make_user("alice")
    alice = login("alice")
    created = alice.post(
        "/api/integrations",
        json={
            "name": "PF",
            "provider": "powerfolder",
            "clientId": "alices-client",
            "settings": {"serverUrl": "https://pf.example.org"},
        },
    )
    ref = created.json["id"]
    alice.put(f"/api/integrations/{ref}/shares/mallory", json={"access": "edit"})

    server = mallory.patch(
        f"/api/integrations/{ref}", json={"settings": {"serverUrl": mallory_server.base}}
    )
    token_path = mallory.patch(
        f"/api/integrations/{ref}",
        json={"settings": {"serverUrl": "https://pf.example.org", "tokenPath": "/oauth"}},
    )

    assert server.status_code == 403 and "settings.serverUrl" in server.json["error"]["fields"]
    assert token_path.status_code == 403
    assert "settings.tokenPath" in token_path.json["error"]["fields"]


def test_a_setting_a_plugin_declares_a_destination_needs_manage(
    files_app, files_client, files_integration, make_user
):
    make_user("mallory")
    ref = files_integration
    files_client.put(f"/api/integrations/{ref}/shares/mallory", json={"access": "edit"})
    mallory = files_app.test_client()
    mallory.post("/api/login", json={"username": "mallory", "password": PASSWORD})

    region = mallory.patch(
        f"/api/integrations/{files_integration}", json={"settings": {"region": "us"}}
    )
    label = mallory.patch(
        f"/api/integrations/{files_integration}", json={"settings": {"label": "x"}}
    )

    assert region.status_code == 403 and "settings.region" in region.json["error"]["fields"]
    assert label.status_code == 200, label.json


def test_an_edit_sharee_still_renames_and_changes_headers(mallory, shared_api):
    ref, _ = shared_api

    renamed = mallory.patch(
        f"/api/integrations/{ref}",
        json={"name": "Renamed", "headers": {"X-Team": "${integration.slug}"}},
    )

    assert renamed.status_code == 200, renamed.json
    assert renamed.json["name"] == "Renamed"


def test_moving_an_integration_ends_the_connections_made_for_the_old_address(
    app, login, shared_api, mallory_server
):
    """Carol (manage) moves it: nobody's credential is sent to the new address until they
    connect again; the audit log says what happened."""
    ref, alice = shared_api
    carol = login("carol")
    mallory_server.answer("v1/me", json={"me": "new"})

    moved = carol.patch(f"/api/integrations/{ref}", json={"apiBaseUri": mallory_server.base})
    status = alice.get(f"/api/integrations/{ref}/connection")
    used = login("bob").get(f"/api/integrations/{ref}/proxy/v1/me")

    assert moved.status_code == 200, moved.json
    assert status.json["status"] == "needs_reauth"
    assert "connect again" in status.json["lastError"]
    assert used.status_code == 409, used.json
    assert mallory_server.seen == []
    with app.app_context(), database.connection_context():
        row = Connection.get(Connection.integration == ref)
        assert (row.access_token, row.refresh_token, row.credentials) == (None, None, None)
        event = AuditEvent.get(AuditEvent.action == "integration.destination.change")
        assert event.details["newOrigins"] == [mallory_server.origin]
        assert event.details["connectionsEnded"] == 1

    # Alice reconnects, knowing where her credential now goes.
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "new-token"})
    again = login("bob").get(f"/api/integrations/{ref}/proxy/v1/me")
    assert again.status_code == 200 and again.json == {"me": "new"}
    assert mallory_server.received("new-token") and not mallory_server.received(SHARED_TOKEN)


def test_a_new_path_on_the_same_origin_keeps_the_connections(login, shared_api, honest_server):
    ref, _ = shared_api
    honest_server.answer("v2/v1/me", json={"me": "v2"})

    moved = login("carol").patch(
        f"/api/integrations/{ref}", json={"apiBaseUri": honest_server.base + "/v2"}
    )
    used = login("bob").get(f"/api/integrations/{ref}/proxy/v1/me")

    assert moved.status_code == 200, moved.json
    assert used.status_code == 200 and used.json == {"me": "v2"}


def test_the_edit_form_saves_for_an_edit_sharee_and_refuses_a_new_address(
    mallory, mallory_server, shared_api
):
    ref, _ = shared_api
    page = mallory.get(f"/integrations/{ref}/edit")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    base = mallory.get(f"/api/integrations/{ref}").json["apiBaseUri"]
    form = {
        "csrf_token": token,
        "name": "Team API",
        "slug": "team-api",
        "connectionMode": "shared",
        "authType": "bearer",
        "apiBaseUri": base,
        "settings.apiKeyHeader": "X-Api-Key",
        "settings.tokenAuth": "form",
        "settings.refreshMethod": "POST",
        "settings.pkce": "on",
    }

    same = mallory.post(f"/integrations/{ref}/edit", data=form)
    moved = mallory.post(
        f"/integrations/{ref}/edit", data={**form, "apiBaseUri": mallory_server.base}
    )

    assert same.status_code in (302, 303), same.get_data(as_text=True)
    assert moved.status_code == 403
    assert "needs manage access" in moved.get_data(as_text=True)
    assert "readonly" in page.get_data(as_text=True)


# -- SECURITY 31: settings that name a header ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "cookie",
        "AUTHORIZATION",
        "Transfer-Encoding",
        "content-length",
        "X Api",
        "X:Api",
        "Ключ",
    ],
)
def test_an_api_key_header_that_is_forbidden_or_not_a_token_is_refused_at_save(mallory, name):
    body = {
        "name": "Keys",
        "authType": "apikey",
        "apiBaseUri": "https://api.example.org",
        "settings": {"apiKeyHeader": name},
    }

    created = mallory.post("/api/integrations", json=body)
    ok = mallory.post("/api/integrations", json={**body, "settings": {"apiKeyHeader": "X-Key"}})
    changed = mallory.patch(
        f"/api/integrations/{ok.json['id']}", json={"settings": {"apiKeyHeader": name}}
    )

    for response in (created, changed):
        assert response.status_code == 400, response.json
        assert "settings.apiKeyHeader" in response.json["error"]["fields"]


def test_a_stored_forbidden_api_key_header_is_never_sent(app, mallory, mallory_server):
    mallory_server.answer("v1/me", json={})
    created = mallory.post(
        "/api/integrations",
        json={"name": "Keys", "authType": "apikey", "apiBaseUri": mallory_server.base},
    )
    ref = created.json["id"]
    mallory.post(f"/api/integrations/{ref}/connection", json={"apiKey": "the-key"})
    with app.app_context(), database.connection_context():
        Integration.update(settings={"apiKeyHeader": "Cookie"}).where(
            Integration.id == ref
        ).execute()

    answer = mallory.get(f"/api/integrations/{ref}/proxy/v1/me")

    assert answer.status_code == 400 and answer.json["error"]["code"] == "header_refused"
    assert mallory_server.seen == []


# -- a client secret never travels in a URL (RFC 6749 §2.3.1) ---------------------------------


def connect_own_client(client, upstream: Upstream, secret: str, settings: dict) -> int:
    """An OAuth2 integration with its own client whose every address is ``upstream``, connected
    through the real callback; its id. The token endpoint answers as scripted, else a grant."""
    if "/base/token" not in upstream.answers:
        upstream.answer("token", json={**token_answer(), "refresh_token": "refresh-1"})
    ref = client.post(
        "/api/integrations",
        json={
            "name": "Own client",
            "authType": "oauth2",
            "authUri": upstream.base + "/authorize",
            "tokenUri": upstream.base + "/token",
            "apiBaseUri": upstream.base + "/api",
            "clientId": "own-client",
            "clientSecret": secret,
            "settings": settings,
        },
    ).json["id"]
    state = query_of(client.get(f"/api/integrations/{ref}/connect").headers["Location"])["state"]
    answer = client.get("/oauth2/callback", query_string={"state": state, "code": "c"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return ref


@pytest.mark.parametrize("token_auth", ["form", "query", "json"])
def test_a_client_secret_is_never_written_into_a_url(mallory, upstream, token_auth):
    """A provider refreshing with GET (PowerFolder's older servers) or a token endpoint that
    identifies clients in the query: the server's access log, and every proxy in between, would
    keep a secret sent in the request line. What reached the server says it never was."""
    secret = "integration-own-client-secret"
    settings = {"tokenAuth": token_auth, "refreshMethod": "GET"}
    ref = connect_own_client(mallory, upstream, secret, settings)

    refreshed = mallory.post(f"/api/integrations/{ref}/connection/refresh")

    assert refreshed.status_code == 200, refreshed.json
    exchange, refresh = upstream.seen
    assert (exchange.method, refresh.method) == ("POST", "GET")
    assert query_of(refresh.path)["client_id"] == "own-client"
    assert query_of(refresh.path)["grant_type"] == "refresh_token"
    assert not any(secret in seen.path for seen in upstream.seen)
    assert exchange.carries(secret) == (token_auth != "query")


@pytest.mark.parametrize("revoke_auth", ["client", "bearer"])
def test_revocation_presents_the_token_as_the_provider_declares(mallory, upstream, revoke_auth):
    """RFC 7009 puts the token in a form body beside the client's credentials; a bearer
    revocation (Dropbox's POST /2/auth/token/revoke) sends the token alone, as its bearer."""
    upstream.answer("revoke", json=None, body=b"null")
    settings = {"revokeUri": upstream.base + "/revoke", "revokeAuth": revoke_auth}
    ref = connect_own_client(mallory, upstream, "own-secret", settings)

    assert mallory.delete(f"/api/integrations/{ref}/connection").status_code == 204

    revocation = upstream.seen[-1]
    assert (revocation.method, revocation.path) == ("POST", "/base/revoke")
    if revoke_auth == "bearer":
        assert revocation.headers["Authorization"] == "Bearer access-1"
        assert revocation.body == b"" and not revocation.carries("own-secret")
    else:
        assert revocation.form["token"] == "refresh-1"
        assert revocation.form["client_secret"] == "own-secret"


def test_a_refused_bearer_revocation_is_retried_with_a_fresh_token(mallory, upstream):
    """The provider expired the access token early (Dropbox's last four hours, whatever the hub
    stored): the revocation is refused, the hub refreshes once and revokes with the new token,
    so the grant does not outlive the disconnect."""
    tokens = iter(["access-1", "access-2"])
    upstream.answer_with(
        "token",
        lambda seen: Answer(
            200,
            {"Content-Type": "application/json"},
            json.dumps({**token_answer(next(tokens)), "refresh_token": "refresh-1"}).encode(),
        ),
    )
    upstream.answer_with(
        "revoke",
        lambda seen: Answer(200 if seen.headers.get("Authorization") == "Bearer access-2" else 401),
    )
    settings = {"revokeUri": upstream.base + "/revoke", "revokeAuth": "bearer"}
    ref = connect_own_client(mallory, upstream, "own-secret", settings)

    assert mallory.delete(f"/api/integrations/{ref}/connection").status_code == 204

    revocations = [s.headers["Authorization"] for s in upstream.seen if s.path == "/base/revoke"]
    assert revocations == ["Bearer access-1", "Bearer access-2"]
    with database.connection_context():
        event = AuditEvent.select().where(AuditEvent.action == "connection.delete").get()
    assert event.details["revoked"] is True
