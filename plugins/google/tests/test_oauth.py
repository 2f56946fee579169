"""Connecting a Google account through the hub: consent, code exchange, profile, refresh that
keeps the refresh token, invalid_grant, revocation, and base URLs overridden per integration."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

REDIRECT_URI = "http://127.0.0.1:5000/oauth2/callback"
FIRST_REFRESH_TOKEN = "1//0gFirstRefreshToken"


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def form_of(request):
    return {k: v[0] for k, v in parse_qs(request.text).items()}


def connection(client, ref):
    return client.get(f"/api/integrations/{ref}/connection").get_json()


def refresh(client, ref):
    return client.post(f"/api/integrations/{ref}/connection/refresh")


# -- connecting -----------------------------------------------------------------------------------


def test_connect_asks_google_for_offline_access_with_consent_and_pkce(client, create):
    ref = create()

    started = client.get(f"/api/integrations/{ref}/connect")

    location = started.headers["Location"]
    assert location.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    params = query_of(location)
    assert (params["access_type"], params["prompt"], params["include_granted_scopes"]) == (
        "offline",
        "consent",
        "true",
    )
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43


def test_connect_uses_the_client_from_the_environment_and_the_fixed_redirect_uri(client, create):
    ref = create()

    params = query_of(client.get(f"/api/integrations/{ref}/connect").headers["Location"])

    assert params["client_id"] == "123456789012-hub.apps.googleusercontent.com"
    assert params["redirect_uri"] == REDIRECT_URI


def test_connect_asks_for_the_default_scopes(client, create):
    ref = create()

    params = query_of(client.get(f"/api/integrations/{ref}/connect").headers["Location"])

    assert params["scope"] == "openid email profile https://www.googleapis.com/auth/drive.readonly"


def test_the_code_is_exchanged_in_a_form_with_the_client_secret_and_verifier(
    create, connect, google
):
    connect(create())

    form = form_of(google.token.last_request)
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "4/0AeaYSHBrecordedcode"
    assert form["redirect_uri"] == REDIRECT_URI
    assert (form["client_id"], form["client_secret"]) == (
        "123456789012-hub.apps.googleusercontent.com",
        "GOCSPX-test-client-secret",
    )
    assert len(form["code_verifier"]) >= 43


def test_the_account_is_read_from_openid_userinfo(client, create, connect, google):
    ref = create()

    connect(ref)

    shown = connection(client, ref)
    assert (shown["status"], shown["externalId"], shown["email"], shown["displayName"]) == (
        "connected",
        "108234567890123456789",
        "ada@example.com",
        "Ada Lovelace",
    )
    sent = google.userinfo.last_request.headers["Authorization"]
    assert sent == "Bearer ya29.a0AfB_first-access-token"


def connect_granting_what_was_asked(client, ref, google):
    """Connect as Google would: the token grants the scopes the authorization asked for, and
    userinfo carries the name only when ``profile`` is among them (recorded shapes)."""
    started = client.get(f"/api/integrations/{ref}/connect")
    asked = query_of(started.headers["Location"])
    google.tokens({**google.answer("token")["json"], "scope": asked["scope"]})
    profile = "profile" in asked["scope"].split()
    google.mocker.get(
        "https://openidconnect.googleapis.com/v1/userinfo",
        json=google.answer("userinfo" if profile else "userinfo_without_profile")["json"],
    )
    return client.get(
        "/oauth2/callback",
        query_string={"state": asked["state"], "code": "4/0AeaYSHBcode", "scope": asked["scope"]},
    )


def test_the_account_shown_after_connecting_has_its_name(client, create, google):
    ref = create()

    connected = connect_granting_what_was_asked(client, ref, google)

    assert connected.status_code == 303
    assert connection(client, ref)["displayName"] == "Ada Lovelace"


def test_without_the_profile_scope_google_tells_no_name(client, create, google):
    ref = create(scope="openid email https://www.googleapis.com/auth/drive.readonly")

    connect_granting_what_was_asked(client, ref, google)

    shown = connection(client, ref)
    assert (shown["email"], shown["displayName"]) == ("ada@example.com", None)


def test_the_first_consent_brings_a_refresh_token(client, create, connect):
    ref = create()

    connect(ref)

    assert connection(client, ref)["hasRefreshToken"] is True


# -- refreshing -----------------------------------------------------------------------------------


def test_a_refresh_without_a_new_refresh_token_keeps_the_stored_one(
    client, create, connect, google
):
    ref = create()
    connect(ref)
    token = google.tokens("token_refreshed")

    first = refresh(client, ref)
    second = refresh(client, ref)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["hasRefreshToken"] is True
    sent = [form_of(r)["refresh_token"] for r in token.request_history]
    assert sent == [FIRST_REFRESH_TOKEN, FIRST_REFRESH_TOKEN]


def test_drive_is_called_with_the_refreshed_access_token(client, create, connect, google):
    ref = create()
    connect(ref)
    google.tokens("token_refreshed")
    listing = google.drives("drives_page2")

    refresh(client, ref)
    client.get(f"/api/integrations/{ref}/services/drive/items")

    assert listing.last_request.headers["Authorization"] == "Bearer ya29.a0AfB_second-access-token"


def test_invalid_grant_requires_reconnecting(client, create, connect, google):
    ref = create()
    connect(ref)
    google.tokens([google.answer("invalid_grant", 400)])

    response = refresh(client, ref)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reauth_required"
    assert connection(client, ref)["status"] == "needs_reauth"


def test_browsing_after_invalid_grant_explains_why_google_ends_connections(
    client, create, connect, google
):
    ref = create()
    connect(ref)
    google.tokens([google.answer("invalid_grant", 400)])
    refresh(client, ref)

    response = client.get(f"/api/integrations/{ref}/services/drive/items")

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "reauth_required"
    assert "six months" in error["message"] and "7 days" in error["message"]


def test_a_token_google_still_refuses_after_a_refresh_requires_reconnecting(drive, google):
    google.tokens("token_refreshed")
    google.folder("root", [google.answer("error_auth", 401)])

    response = drive.items(parent="root")

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reauth_required"


def test_reconnecting_after_invalid_grant_restores_the_connection(client, create, connect, google):
    ref = create()
    connect(ref)
    google.tokens([google.answer("invalid_grant", 400)])
    refresh(client, ref)
    google.tokens("token")

    connect(ref)

    assert connection(client, ref)["status"] == "connected"


# -- disconnecting --------------------------------------------------------------------------------


def test_disconnecting_revokes_the_grant_at_google(client, create, connect, google):
    ref = create()
    connect(ref)

    response = client.delete(f"/api/integrations/{ref}/connection")

    assert response.status_code in (200, 204)
    assert form_of(google.revoke.last_request)["token"] == FIRST_REFRESH_TOKEN


# -- base URLs overridden per integration ---------------------------------------------------------


OVERRIDES = {
    "authUri": "https://accounts.google.example.com/o/oauth2/v2/auth",
    "tokenUri": "https://oauth2.google.example.com/token",
    "settings": {
        "endpoints": {
            "drive": "https://drive.google.example.com",
            "userinfo": "https://openid.google.example.com",
            "revoke": "https://revoke.google.example.com",
        }
    },
}


# Test doubles of Google at other addresses: an administrator approved them for the hub's client.
APPROVED = ",".join(
    [
        "https://accounts.google.example.com",
        "https://oauth2.google.example.com",
        "https://revoke.google.example.com",
    ]
)


def test_authorization_goes_to_the_integrations_accounts_url(hub_app, client, create):
    hub_app.config["GOOGLE_CLIENT_ORIGINS"] = APPROVED
    ref = create(**OVERRIDES)

    location = client.get(f"/api/integrations/{ref}/connect").headers["Location"]

    assert location.startswith(OVERRIDES["authUri"] + "?")


def test_token_userinfo_drive_and_revoke_follow_the_integrations_urls(
    hub_app, client, create, connect, google, requests_mock
):
    hub_app.config["GOOGLE_CLIENT_ORIGINS"] = APPROVED
    token = requests_mock.post(OVERRIDES["tokenUri"], json=google.answer("token")["json"])
    userinfo = requests_mock.get(
        "https://openid.google.example.com/v1/userinfo", json=google.answer("userinfo")["json"]
    )
    drives = requests_mock.get("https://drive.google.example.com/drive/v3/drives", json={})
    revoke = requests_mock.post("https://revoke.google.example.com/revoke", text="")
    ref = create(**OVERRIDES)

    connect(ref)
    client.get(f"/api/integrations/{ref}/services/drive/items")
    client.delete(f"/api/integrations/{ref}/connection")

    assert [m.call_count for m in (token, userinfo, drives, revoke)] == [1, 1, 1, 1]


def test_a_refused_profile_lookup_names_the_scopes_it_needs(client, create, connect, google):
    google.mocker.get("https://openidconnect.googleapis.com/v1/userinfo", status_code=401)
    ref = create(scope="https://www.googleapis.com/auth/drive.readonly")

    failed = connect(ref)

    assert failed.status_code == 400
    assert "openid and email scopes" in failed.get_data(as_text=True)


# -- base URLs moved for the whole deployment -----------------------------------------------------


def test_hub_google_endpoints_moves_authorization_and_token(tmp_path, requests_mock):
    """An operator's ``HUB_GOOGLE_ENDPOINTS`` moves the authorize and token URLs (declared
    through the ``accounts`` and ``oauth2`` endpoints), and the hub-wide client goes there."""
    from hub.testing import make_hub_app, signed_in_client

    moved = {
        "accounts": "https://accounts.google.test",
        "oauth2": "https://oauth2.google.test",
        "userinfo": "https://openid.google.test",
    }
    app = make_hub_app(
        tmp_path / "moved",
        GOOGLE_CLIENT_ID="123456789012-hub.apps.googleusercontent.com",
        GOOGLE_CLIENT_SECRET="GOCSPX-test-client-secret",
        GOOGLE_ENDPOINTS=moved,
    )
    client = signed_in_client(app, "ada")
    token = requests_mock.post(
        "https://oauth2.google.test/token",
        json={"access_token": "ya29.moved", "expires_in": 3599, "token_type": "Bearer"},
    )
    requests_mock.get("https://openid.google.test/v1/userinfo", json={"sub": "1", "email": "a@b.c"})
    ref = client.post("/api/integrations", json={"name": "Drive", "provider": "google"}).get_json()[
        "id"
    ]

    started = client.get(f"/api/integrations/{ref}/connect")
    state = query_of(started.headers["Location"])["state"]
    callback = client.get("/oauth2/callback", query_string={"state": state, "code": "4/0Aea"})

    assert started.headers["Location"].startswith("https://accounts.google.test/o/oauth2/v2/auth?")
    assert (callback.status_code, token.call_count) == (303, 1)
    assert form_of(token.last_request)["client_id"] == "123456789012-hub.apps.googleusercontent.com"
