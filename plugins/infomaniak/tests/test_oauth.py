"""Connecting an Infomaniak account through the hub's OAuth routes, against a recorded login
server: the authorization request, the token exchange, the profile, refresh and revocation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

LOGIN = "https://login.infomaniak.com"
TOKEN = f"{LOGIN}/token"
API = "https://api.infomaniak.com"
REDIRECT = "http://127.0.0.1:5000/oauth2/callback"


def authorize_query(client, integration):
    response = client.get(f"/api/integrations/{integration['id']}/connect")
    assert response.status_code == 302, response.get_json()
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connection(client, integration):
    return client.get(f"/api/integrations/{integration['id']}/connection").get_json()


def refresh(client, integration):
    return client.post(f"/api/integrations/{integration['id']}/connection/refresh")


def form(request):
    return {k: v[0] for k, v in parse_qs(request.text).items()}


def token_requests(requests_mock):
    return [r for r in requests_mock.request_history if r.url == TOKEN and r.method == "POST"]


def hours_from_now(timestamp):
    expires = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (expires - dt.datetime.now(dt.UTC)).total_seconds() / 3600


# -- authorization -----------------------------------------------------------------------------


def test_connecting_sends_the_user_to_infomaniaks_login_server(client, oauth_integration):
    location, query = authorize_query(client, oauth_integration())

    assert location.startswith(f"{LOGIN}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == "ik-client"
    assert query["redirect_uri"] == REDIRECT
    assert query["scope"] == "user_info drive workspace:mail"
    assert query["access_type"] == "offline"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43


def test_the_scope_can_be_changed_per_integration(client, oauth_integration):
    integration = oauth_integration(scope="user_info drive")

    assert authorize_query(client, integration)[1]["scope"] == "user_info drive"


def test_an_integrations_own_client_wins_over_the_environment(client, oauth_integration):
    integration = oauth_integration(clientId="team-client", clientSecret="team-secret")

    assert authorize_query(client, integration)[1]["client_id"] == "team-client"


def test_the_login_server_can_be_overridden(app, client, oauth_integration, connect, requests_mock):
    # A test double of Infomaniak's login server that an administrator approved for the client.
    app.config["INFOMANIAK_CLIENT_ORIGINS"] = "https://login.preprod.example.com"
    integration = oauth_integration(
        authUri="https://login.preprod.example.com/authorize",
        tokenUri="https://login.preprod.example.com/token",
    )

    location, _ = authorize_query(client, integration)
    done = connect(integration, token_url="https://login.preprod.example.com/token")

    assert location.startswith("https://login.preprod.example.com/authorize?")
    assert done.status_code == 303
    assert any(
        r.url == "https://login.preprod.example.com/token" for r in requests_mock.request_history
    )


# -- token exchange ----------------------------------------------------------------------------


def test_the_code_is_exchanged_in_a_form_with_the_pkce_verifier(
    client, oauth_integration, connect, requests_mock
):
    integration = oauth_integration()

    assert connect(integration).status_code == 303

    (exchange,) = token_requests(requests_mock)
    body = form(exchange)
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (body["grant_type"], body["code"], body["redirect_uri"]) == (
        "authorization_code",
        "ik-code",
        REDIRECT,
    )
    assert (body["client_id"], body["client_secret"]) == ("ik-client", "ik-client-secret")
    verifier = hashlib.sha256(body["code_verifier"].encode()).digest()
    assert len(base64.urlsafe_b64encode(verifier).rstrip(b"=")) == 43


def test_a_token_with_expires_in_expires_then(client, oauth_integration, connect):
    integration = oauth_integration()
    connect(integration, token="token.json")

    status = connection(client, integration)

    assert status["status"] == "connected" and status["hasRefreshToken"] is True
    assert 1.9 < hours_from_now(status["expiresAt"]) <= 2.0


def test_a_token_without_expires_in_is_not_given_a_guessed_expiry(
    client, oauth_integration, connect
):
    integration = oauth_integration()
    connect(integration, token="token_without_expires_in.json")

    status = connection(client, integration)

    assert status["status"] == "connected" and status["expiresAt"] is None
    assert status["hasRefreshToken"] is True


def test_the_profile_names_the_connected_account(client, oauth_integration, connect):
    integration = oauth_integration()
    connect(integration)

    status = connection(client, integration)

    assert (status["externalId"], status["email"], status["displayName"]) == (
        "1234567",
        "ada@lovelace-labs.ch",
        "Ada Lovelace",
    )
    assert status["scope"] == "user_info drive workspace:mail"


def test_the_v1_profile_can_be_chosen(client, oauth_integration, connect, requests_mock):
    integration = oauth_integration(settings={"profilePath": "/1/profile"})

    done = connect(integration, profile_url=f"{API}/1/profile", profile="profile_v1.json")

    assert done.status_code == 303
    assert connection(client, integration)["externalId"] == "1234567"
    assert not any(r.url == f"{API}/2/profile" for r in requests_mock.request_history)


def test_a_401_on_the_profile_explains_the_user_info_scope(
    client, oauth_integration, requests_mock, recorded
):
    integration = oauth_integration()
    requests_mock.post(TOKEN, json=recorded("token.json"))
    requests_mock.get(
        f"{API}/2/profile", status_code=401, json=recorded("error_not_authorized.json")
    )
    _, query = authorize_query(client, integration)

    done = client.get("/oauth2/callback", query_string={"state": query["state"], "code": "c"})

    assert done.status_code == 400 and "user_info" in done.get_data(as_text=True)
    assert connection(client, integration)["status"] == "not_connected"


def test_a_refused_consent_stores_nothing(client, oauth_integration, requests_mock):
    integration = oauth_integration()
    _, query = authorize_query(client, integration)

    done = client.get(
        "/oauth2/callback", query_string={"state": query["state"], "error": "access_denied"}
    )

    assert done.status_code == 400 and not requests_mock.called
    assert connection(client, integration)["status"] == "not_connected"


# -- refresh -----------------------------------------------------------------------------------


def test_a_rotated_refresh_token_replaces_the_old_one(
    client, oauth_integration, connect, requests_mock, recorded
):
    integration = oauth_integration()
    connect(integration)
    requests_mock.post(TOKEN, json=recorded("refresh_rotated.json"))

    assert refresh(client, integration).status_code == 200
    assert refresh(client, integration).status_code == 200

    first, second = (form(r) for r in token_requests(requests_mock)[1:])
    assert (first["grant_type"], first["refresh_token"]) == ("refresh_token", "ik-refresh-1")
    assert first["client_id"] == "ik-client"
    assert second["refresh_token"] == "ik-refresh-2"


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(
    client, oauth_integration, connect, requests_mock, recorded
):
    integration = oauth_integration()
    connect(integration)
    requests_mock.post(TOKEN, json=recorded("refresh_not_rotated.json"))

    refresh(client, integration)
    refresh(client, integration)

    assert [form(r)["refresh_token"] for r in token_requests(requests_mock)[1:]] == [
        "ik-refresh-1",
        "ik-refresh-1",
    ]
    assert connection(client, integration)["hasRefreshToken"] is True


def test_invalid_grant_on_refresh_asks_to_connect_again(
    client, oauth_integration, connect, requests_mock, recorded
):
    integration = oauth_integration()
    connect(integration)
    requests_mock.post(TOKEN, status_code=400, json=recorded("token_invalid_grant.json"))

    response = refresh(client, integration)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reauth_required"
    assert connection(client, integration)["status"] == "needs_reauth"


def test_a_401_from_the_api_refreshes_the_token_and_retries(
    client, oauth_integration, connect, requests_mock, recorded
):
    integration = oauth_integration()
    connect(integration, token="token_without_expires_in.json")
    requests_mock.post(TOKEN, json=recorded("refresh_rotated.json"))
    drives = f"{API}/2/drive/users/current/drives"
    requests_mock.get(
        drives,
        [
            {"status_code": 401, "json": recorded("error_not_authorized.json")},
            {"json": recorded("drives.json")},
        ],
    )

    response = client.get(f"/api/integrations/{integration['id']}/services/kdrive/items")

    assert response.status_code == 200, response.get_json()
    calls = [r for r in requests_mock.request_history if r.url.startswith(drives)]
    assert [c.headers["Authorization"] for c in calls] == [
        "Bearer ik-access-1",
        "Bearer ik-access-2",
    ]


# -- revocation --------------------------------------------------------------------------------


def test_disconnecting_revokes_the_token_with_a_delete(
    client, oauth_integration, connect, requests_mock
):
    integration = oauth_integration()
    connect(integration)
    requests_mock.delete(TOKEN, json={"result": "success", "data": True})

    response = client.delete(f"/api/integrations/{integration['id']}/connection")

    assert response.status_code == 204
    revocation = requests_mock.last_request
    assert (revocation.method, revocation.url) == ("DELETE", TOKEN)
    assert revocation.headers["Authorization"].startswith("Bearer ik-")


def test_the_delete_revocation_is_authorised_with_the_access_token(
    client, oauth_integration, connect, requests_mock
):
    integration = oauth_integration()
    connect(integration)
    requests_mock.delete(TOKEN, json={"result": "success", "data": True})

    client.delete(f"/api/integrations/{integration['id']}/connection")

    assert requests_mock.last_request.headers["Authorization"] == "Bearer ik-access-1"


def test_revocation_follows_an_overridden_revoke_endpoint(
    app, client, oauth_integration, connect, requests_mock
):
    app.config["INFOMANIAK_CLIENT_ORIGINS"] = "https://login.preprod.example.com"
    revoke = "https://login.preprod.example.com/token"
    integration = oauth_integration(settings={"endpoints": {"revoke": revoke}})
    connect(integration)
    requests_mock.delete(revoke, json={"result": "success", "data": True})

    client.delete(f"/api/integrations/{integration['id']}/connection")

    assert (requests_mock.last_request.method, requests_mock.last_request.url) == ("DELETE", revoke)
