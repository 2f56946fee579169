"""The OAuth2 flow through the HTTP API, against a token endpoint played by requests-mock.

Covers SECURITY 1-8, 10-13: state handling, PKCE, fixed redirect URI, iss, denial, token
endpoint client authentication, rotation, invalid_grant and back-off.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.db import database
from hub.models import AuditEvent, Connection

AUTH = "https://auth.example.org/authorize"
TOKEN = "https://auth.example.org/token"
REDIRECT = "http://127.0.0.1:5000/oauth2/callback"
SECRET = "client-secret-value"
CODE = "authorization-code-value"


@pytest.fixture
def alice_client(login, alice):
    return login("alice")


def make_integration(client, **changes):
    body = {
        "name": "Example",
        "authType": "oauth2",
        "authUri": AUTH,
        "tokenUri": TOKEN,
        "clientId": "hub-client",
        "clientSecret": SECRET,
        "scope": "files:read profile",
        "apiBaseUri": "https://api.example.org",
        **changes,
    }
    response = client.post("/api/integrations", json=body)
    assert response.status_code == 201, response.json
    return response.json


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def begin(client, integration):
    response = client.get(f"/api/integrations/{integration['id']}/connect")
    assert response.status_code == 302, response.get_json()
    return query_of(response.headers["Location"])


def token_answer(**extra):
    return {"access_token": "access-1", "token_type": "Bearer", "expires_in": 3600, **extra}


def connect(client, integration, requests_mock, answer=None):
    requests_mock.post(TOKEN, json=answer or token_answer(refresh_token="refresh-1"))
    params = begin(client, integration)
    response = client.get("/oauth2/callback", query_string={"state": params["state"], "code": CODE})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def stored(app, integration_id):
    with app.app_context(), database.connection_context():
        return Connection.get(Connection.integration == integration_id)


# -- authorize -------------------------------------------------------------------------------


def test_connect_redirects_with_state_pkce_and_the_fixed_redirect_uri(alice_client):
    params = begin(alice_client, make_integration(alice_client))
    assert params["response_type"] == "code"
    assert params["client_id"] == "hub-client"
    assert params["redirect_uri"] == REDIRECT
    assert params["scope"] == "files:read profile"
    assert len(params["state"]) >= 43  # 256 bits, URL-safe base64
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43


def test_each_connect_gets_a_new_state(alice_client):
    integration = make_integration(alice_client)
    assert begin(alice_client, integration)["state"] != begin(alice_client, integration)["state"]


def test_pkce_can_be_switched_off_for_a_provider_that_refuses_it(alice_client):
    params = begin(alice_client, make_integration(alice_client, settings={"pkce": False}))
    assert "code_challenge" not in params


def test_a_provider_adds_its_authorize_parameters(alice_client):
    alice_client.application.config["GOOGLE_CLIENT_ID"] = "google-client"
    created = alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    params = begin(alice_client, created.json)
    assert params["access_type"] == "offline" and params["prompt"] == "consent"
    assert params["client_id"] == "google-client"
    assert params["scope"] == "openid email profile https://www.googleapis.com/auth/drive.readonly"
    assert params["redirect_uri"] == REDIRECT


def test_missing_client_credentials_are_a_clear_error_before_any_redirect(alice_client):
    created = alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    response = alice_client.get(f"/api/integrations/{created.json['id']}/connect")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "client_not_configured"
    assert "HUB_GOOGLE_CLIENT_ID" in response.json["error"]["message"]


def test_stored_provider_credentials_are_used(alice_client, login, admin):
    login("admin").put(
        "/api/providers/google/credentials", json={"clientId": "stored-id", "clientSecret": "s"}
    )
    created = alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    assert begin(alice_client, created.json)["client_id"] == "stored-id"


def test_an_api_token_caller_gets_a_one_time_connect_link(app, alice_client, token_for):
    integration = make_integration(alice_client)
    response = app.test_client().get(
        f"/api/integrations/{integration['id']}/connect", headers=token_for("alice")
    )
    assert response.status_code == 200
    link = response.json["connectUrl"]
    assert link.startswith("http://127.0.0.1:5000/oauth2/start?link=")
    path = link.removeprefix("http://127.0.0.1:5000")
    opened = alice_client.get(path)
    assert opened.status_code == 302
    assert opened.headers["Location"].startswith(AUTH)
    assert alice_client.get(path).status_code == 400  # one time only


def test_a_connect_link_is_refused_to_another_user(app, alice_client, token_for, login, bob):
    integration = make_integration(alice_client)
    link = (
        app.test_client()
        .get(f"/api/integrations/{integration['id']}/connect", headers=token_for("alice"))
        .json["connectUrl"]
    )
    response = login("bob").get(link.removeprefix("http://127.0.0.1:5000"))
    assert response.status_code == 400


# -- callback --------------------------------------------------------------------------------


def test_the_callback_exchanges_the_code_and_stores_encrypted_tokens(
    app, alice_client, requests_mock
):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer(refresh_token="refresh-1"))
    params = begin(alice_client, integration)
    response = alice_client.get(
        "/oauth2/callback", query_string={"state": params["state"], "code": CODE}
    )
    assert response.status_code == 303
    form = parse_qs(requests_mock.last_request.text)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == [CODE]
    assert form["redirect_uri"] == [REDIRECT]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"][0].encode()).digest())
    assert challenge.decode().rstrip("=") == params["code_challenge"]
    connection = stored(app, integration["id"])
    assert connection.status == "connected"
    assert "access-1" not in connection.access_token and "refresh-1" not in connection.refresh_token
    status = alice_client.get(f"/api/integrations/{integration['id']}/connection").json
    assert status["status"] == "connected" and status["hasRefreshToken"] is True


def test_the_done_page_tells_the_opener_and_closes(alice_client, requests_mock):
    response = connect(alice_client, make_integration(alice_client), requests_mock)
    page = alice_client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "postMessage" in text and "window.close()" in text
    assert 'data-origin="http://127.0.0.1:5000"' in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]
    assert CODE not in text


@pytest.mark.parametrize(
    "mode, check",
    [
        ("form", lambda r: parse_qs(r.text)["client_secret"] == [SECRET]),
        (
            "basic",
            lambda r: (
                r.headers["Authorization"].startswith("Basic ") and "client_secret" not in r.text
            ),
        ),
        (
            "query",
            lambda r: (
                parse_qs(urlsplit(r.url).query)["client_id"] == ["hub-client"]
                and SECRET not in r.url
                and SECRET not in (r.text or "")
            ),
        ),
        (
            "json",
            lambda r: (
                json.loads(r.text)["client_secret"] == SECRET
                and json.loads(r.text)["grant_type"] == "authorization_code"
            ),
        ),
    ],
)
def test_every_token_endpoint_client_authentication(alice_client, requests_mock, mode, check):
    integration = make_integration(alice_client, settings={"tokenAuth": mode})
    connect(alice_client, integration, requests_mock)
    assert check(requests_mock.last_request)


def test_a_missing_expires_in_uses_the_default_lifetime(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    answer = {"access_token": "a", "token_type": "Bearer"}
    connect(alice_client, integration, requests_mock, answer)
    connection = stored(app, integration["id"])
    lifetime = connection.expires_at - connection.last_refreshed_at
    assert 3590 <= lifetime.total_seconds() <= 3600


@pytest.mark.parametrize("state", [None, "", "unknown-state-value"])
def test_a_missing_or_unknown_state_is_400_and_asks_no_token(alice_client, requests_mock, state):
    requests_mock.post(TOKEN, json=token_answer())
    make_integration(alice_client)
    query = {"code": CODE} if state is None else {"state": state, "code": CODE}
    response = alice_client.get("/oauth2/callback", query_string=query)
    assert response.status_code == 400
    assert not requests_mock.called


def test_a_replayed_state_is_refused(alice_client, requests_mock):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    assert (
        alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"}).status_code
        == 303
    )
    again = alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert requests_mock.call_count == 1


def test_an_expired_state_is_refused(app, alice_client, requests_mock):
    import datetime as dt

    from hub.models import OAuthTransaction

    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    with app.app_context(), database.connection_context():
        OAuthTransaction.update(expires_at=dt.datetime(2020, 1, 1)).execute()
    response = alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert not requests_mock.called


def test_a_state_from_another_browser_session_is_refused(alice_client, login, requests_mock):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    other_browser = login("alice")
    response = other_browser.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 400
    assert not requests_mock.called


def test_a_callback_opened_in_another_users_session_is_refused(
    alice_client, login, bob, requests_mock
):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    response = login("bob").get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 400
    assert not requests_mock.called


def test_a_wrong_issuer_is_refused(app, alice_client, requests_mock):
    integration = make_integration(alice_client, settings={"issuer": "https://auth.example.org"})
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    response = alice_client.get(
        "/oauth2/callback",
        query_string={"state": state, "code": "x", "iss": "https://evil.example.org"},
    )
    assert response.status_code == 400
    assert not requests_mock.called


def test_the_right_issuer_is_accepted(alice_client, requests_mock):
    integration = make_integration(alice_client, settings={"issuer": "https://auth.example.org"})
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]
    response = alice_client.get(
        "/oauth2/callback",
        query_string={"state": state, "code": "x", "iss": "https://auth.example.org"},
    )
    assert response.status_code == 303


def test_a_denial_is_shown_and_stores_nothing(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    state = begin(alice_client, integration)["state"]
    response = alice_client.get(
        "/oauth2/callback",
        query_string={
            "state": state,
            "error": "access_denied",
            "error_description": "User said no",
        },
    )
    assert response.status_code == 400
    assert "access_denied" in response.get_data(as_text=True)
    assert not requests_mock.called
    with app.app_context(), database.connection_context():
        assert not Connection.select().exists()


def test_the_return_path_comes_from_the_transaction_never_the_callback(alice_client, requests_mock):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    start = alice_client.get(
        f"/api/integrations/{integration['id']}/connect",
        query_string={"returnTo": "https://evil.example/"},
    )
    state = query_of(start.headers["Location"])["state"]
    response = alice_client.get(
        "/oauth2/callback",
        query_string={"state": state, "code": "x", "returnTo": "https://evil.example/"},
    )
    page = alice_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "evil.example" not in page


def test_a_token_endpoint_answering_html_is_a_clear_failure(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, text="<html>Sign in</html>", headers={"Content-Type": "text/html"})
    state = begin(alice_client, integration)["state"]
    response = alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 400
    assert "HTML" in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert not Connection.select().exists()


def test_secrets_never_reach_logs_or_pages(alice_client, requests_mock, caplog):
    caplog.set_level(logging.DEBUG)
    integration = make_integration(alice_client)
    response = connect(alice_client, integration, requests_mock)
    page = alice_client.get(response.headers["Location"]).get_data(as_text=True)
    status = alice_client.get(f"/api/integrations/{integration['id']}/connection").get_data(
        as_text=True
    )
    for secret in (SECRET, "access-1", "refresh-1", CODE):
        assert secret not in caplog.text
        assert secret not in page and secret not in status


# -- refresh ---------------------------------------------------------------------------------


def expire(app, integration_id):
    import datetime as dt

    with app.app_context(), database.connection_context():
        Connection.update(expires_at=dt.datetime(2020, 1, 1)).where(
            Connection.integration == integration_id
        ).execute()


def test_a_token_inside_the_skew_window_is_refreshed_before_it_is_used(
    app, alice_client, requests_mock
):
    """SECURITY 11: an hour-long token with 60 s left (the skew is 120 s) is refreshed ahead
    of time; the provider never sees the token that is about to expire."""
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    with app.app_context(), database.connection_context():
        Connection.update(
            last_refreshed_at=dt.datetime.utcnow() - dt.timedelta(seconds=3540),
            expires_at=dt.datetime.utcnow() + dt.timedelta(seconds=60),
        ).where(Connection.integration == integration["id"]).execute()
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2"))
    api = requests_mock.get("https://api.example.org/v1/me", json={"me": True})

    answer = alice_client.get(f"/api/integrations/{integration['id']}/proxy/v1/me")

    assert answer.status_code == 200
    assert parse_qs(requests_mock.request_history[-2].text)["grant_type"] == ["refresh_token"]
    assert [r.headers["Authorization"] for r in api.request_history] == ["Bearer access-2"]


def test_a_short_lived_token_is_refreshed_at_half_its_lifetime_not_on_every_call(
    app, alice_client, requests_mock
):
    """A 30-second token (shorter than twice the 120 s window) is used until half of it is
    gone, then refreshed once."""
    integration = make_integration(alice_client)
    connect(
        alice_client, integration, requests_mock, token_answer(refresh_token="r", expires_in=30)
    )
    refresh = requests_mock.post(TOKEN, json=token_answer(access_token="access-2", expires_in=30))
    requests_mock.get("https://api.example.org/v1/me", json={"me": True})
    proxied = f"/api/integrations/{integration['id']}/proxy/v1/me"

    fresh = [alice_client.get(proxied).status_code for _ in range(3)]
    calls_while_fresh = refresh.call_count
    with app.app_context(), database.connection_context():  # 20 of its 30 seconds are gone
        Connection.update(
            last_refreshed_at=dt.datetime.utcnow() - dt.timedelta(seconds=20),
            expires_at=dt.datetime.utcnow() + dt.timedelta(seconds=10),
        ).where(Connection.integration == integration["id"]).execute()
    late = alice_client.get(proxied)

    assert fresh == [200, 200, 200] and calls_while_fresh == 0
    assert late.status_code == 200 and refresh.call_count == 1


def test_a_refresh_with_a_new_refresh_token_replaces_the_old(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2", refresh_token="refresh-2"))
    response = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert response.status_code == 200, response.json
    form = parse_qs(requests_mock.last_request.text)
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-1"]
    connection = stored(app, integration["id"])
    with app.app_context():
        assert connection.get_secret("refresh_token").reveal() == "refresh-2"
        assert connection.get_secret("access_token").reveal() == "access-2"


def test_a_refresh_without_a_refresh_token_keeps_the_old_one(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2"))
    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    with app.app_context():
        assert stored(app, integration["id"]).get_secret("refresh_token").reveal() == "refresh-1"


def test_a_get_refresh_sends_its_parameters_in_the_query(alice_client, requests_mock):
    integration = make_integration(
        alice_client, settings={"refreshMethod": "GET", "tokenAuth": "json"}
    )
    connect(alice_client, integration, requests_mock)
    requests_mock.get(TOKEN, json=token_answer(access_token="access-2"))
    response = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert response.status_code == 200, response.json
    request = requests_mock.last_request
    assert request.method == "GET"
    query = parse_qs(urlsplit(request.url).query)
    assert query["grant_type"] == ["refresh_token"] and query["refresh_token"] == ["refresh-1"]
    assert query["client_id"] == ["hub-client"]


def test_invalid_grant_needs_reauth_is_audited_and_stops_retrying(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=400, json={"error": "invalid_grant"})
    response = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "reauth_required"
    calls = requests_mock.call_count
    again = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert again.status_code == 409 and requests_mock.call_count == calls
    assert (
        alice_client.get(f"/api/integrations/{integration['id']}").json["status"] == "needs_reauth"
    )
    with app.app_context(), database.connection_context():
        assert AuditEvent.select().where(AuditEvent.action == "connection.needs_reauth").exists()


def test_other_refresh_failures_back_off(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=503, text="down")
    first = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert first.status_code == 502
    calls = requests_mock.call_count
    second = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert second.status_code == 502 and second.json["error"]["code"] == "refresh_backoff"
    assert requests_mock.call_count == calls


def test_reconnecting_after_needs_reauth_works(app, alice_client, requests_mock):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, status_code=400, json={"error": "invalid_grant"})
    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    connect(alice_client, integration, requests_mock)
    assert alice_client.get(f"/api/integrations/{integration['id']}").json["status"] == "connected"


def test_disconnect_revokes_at_the_provider(alice_client, requests_mock):
    revoke = "https://auth.example.org/revoke"
    integration = make_integration(alice_client, settings={"revokeUri": revoke})
    connect(alice_client, integration, requests_mock)
    requests_mock.post(revoke, status_code=200)
    assert (
        alice_client.delete(f"/api/integrations/{integration['id']}/connection").status_code == 204
    )
    form = parse_qs(requests_mock.last_request.text)
    assert form["token"] == ["refresh-1"] and form["token_type_hint"] == ["refresh_token"]


def test_disconnect_succeeds_when_revocation_fails(alice_client, requests_mock):
    revoke = "https://auth.example.org/revoke"
    integration = make_integration(alice_client, settings={"revokeUri": revoke})
    connect(alice_client, integration, requests_mock)
    requests_mock.post(revoke, status_code=500)
    assert (
        alice_client.delete(f"/api/integrations/{integration['id']}/connection").status_code == 204
    )


def test_refresh_due_refreshes_expiring_tokens(app, alice_client, requests_mock, runner):
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    expire(app, integration["id"])
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2"))
    result = runner.invoke(args=["refresh", "--due"])
    assert result.exit_code == 0, result.output
    assert "1 refreshed" in result.output
    assert parse_qs(requests_mock.last_request.text)["grant_type"] == ["refresh_token"]
    again = runner.invoke(args=["refresh", "--due"])
    assert "0 refreshed" in again.output


def test_lifecycle_hooks_follow_the_connection(app, alice_client, requests_mock, monkeypatch):
    events = []
    registry = app.extensions["hub"].registry
    monkeypatch.setattr(
        registry, "notify", lambda hook, **kw: events.append((hook, kw["event"].status))
    )
    integration = make_integration(alice_client)
    connect(alice_client, integration, requests_mock)
    requests_mock.post(TOKEN, json=token_answer(access_token="access-2"))
    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    requests_mock.post(TOKEN, status_code=400, json={"error": "invalid_grant"})
    alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    alice_client.delete(f"/api/integrations/{integration['id']}/connection")
    assert events == [
        ("hub_connection_connected", "connected"),
        ("hub_connection_refreshed", "connected"),
        ("hub_connection_refresh_failed", "needs_reauth"),
        ("hub_connection_disconnected", "not_connected"),
    ]


def test_a_profile_lookup_fills_the_connected_account(app, alice_client, requests_mock):
    alice_client.application.config["INFOMANIAK_CLIENT_ID"] = "ik-client"
    created = alice_client.post(
        "/api/integrations",
        json={"name": "kDrive", "provider": "infomaniak", "authType": "oauth2"},
    )
    integration = created.json
    requests_mock.post("https://login.infomaniak.com/token", json=token_answer(refresh_token="r"))
    requests_mock.get(
        "https://api.infomaniak.com/2/profile",
        json={
            "result": "success",
            "data": {"id": 42, "email": "a@ik.example", "display_name": "A"},
        },
    )
    state = begin(alice_client, integration)["state"]
    response = alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 303
    status = alice_client.get(f"/api/integrations/{integration['id']}/connection").json
    assert (status["externalId"], status["email"], status["displayName"]) == (
        "42",
        "a@ik.example",
        "A",
    )


def test_a_401_on_the_profile_explains_the_missing_scope_and_stores_nothing(
    app, alice_client, requests_mock
):
    alice_client.application.config["INFOMANIAK_CLIENT_ID"] = "ik-client"
    integration = alice_client.post(
        "/api/integrations",
        json={"name": "kDrive", "provider": "infomaniak", "authType": "oauth2"},
    ).json
    requests_mock.post("https://login.infomaniak.com/token", json=token_answer())
    requests_mock.get("https://api.infomaniak.com/2/profile", status_code=401, json={})
    state = begin(alice_client, integration)["state"]
    response = alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    assert response.status_code == 400
    assert "user_info" in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert not Connection.select().exists()


def test_a_lost_grant_tells_why_the_provider_ends_grants(app, alice_client, requests_mock):
    alice_client.application.config["GOOGLE_CLIENT_ID"] = "google-client"
    integration = alice_client.post(
        "/api/integrations", json={"name": "Drive", "provider": "google"}
    ).json
    requests_mock.post("https://oauth2.googleapis.com/token", json=token_answer(refresh_token="r"))
    requests_mock.get(
        "https://openidconnect.googleapis.com/v1/userinfo", json={"sub": "1", "email": "a@b.c"}
    )
    state = begin(alice_client, integration)["state"]
    alice_client.get("/oauth2/callback", query_string={"state": state, "code": "x"})
    requests_mock.post(
        "https://oauth2.googleapis.com/token", status_code=400, json={"error": "invalid_grant"}
    )
    response = alice_client.post(f"/api/integrations/{integration['id']}/connection/refresh")
    assert response.status_code == 409
    assert "six months" in response.json["error"]["message"]
    status = alice_client.get(f"/api/integrations/{integration['id']}/connection").json
    assert "six months" in status["lastError"]
