"""The Demo server's OAuth2 endpoints and file API, through Flask's test client."""

from __future__ import annotations

import re

from hub_demo import CLIENT_ID, server

# As in conftest.py (which tests cannot import under --import-mode=importlib).
VERIFIER = "v" * 43 + "-demo-verifier"
REDIRECT = "http://hub.test/oauth2/callback"


def consent_id(page: str) -> str:
    match = re.search(r'name="consent" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_consent_page_is_labelled_and_self_contained(demo):
    shown = demo.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "code_challenge": server.s256(VERIFIER),
            "code_challenge_method": "S256",
        },
    )
    assert shown.status_code == 200
    assert "Demo" in shown.text and "Allow" in shown.text and "Deny" in shown.text
    assert "http" not in shown.text.split("<body>")[1].replace("http://hub.test", "")
    assert "<script" not in shown.text


def test_unknown_client_is_not_redirected(demo):
    shown = demo.get(
        "/authorize",
        query_string={"response_type": "code", "client_id": "evil", "redirect_uri": REDIRECT},
    )
    assert shown.status_code == 400
    assert "Location" not in shown.headers


def test_pkce_is_required(demo):
    answered = demo.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "s",
        },
    )
    assert answered.status_code == 302
    assert "error=invalid_request" in answered.headers["Location"]
    plain = demo.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "code_challenge": VERIFIER,
            "code_challenge_method": "plain",
        },
    )
    assert "error=invalid_request" in plain.headers["Location"]


def test_deny_returns_access_denied(authorize):
    assert authorize("deny") == {"error": "access_denied", "state": "st4te"}


def test_consent_is_single_use(demo, authorize):
    shown = demo.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "code_challenge": server.s256(VERIFIER),
            "code_challenge_method": "S256",
        },
    )
    consent = consent_id(shown.text)
    assert (
        demo.post("/authorize", data={"consent": consent, "decision": "allow"}).status_code == 302
    )
    assert (
        demo.post("/authorize", data={"consent": consent, "decision": "allow"}).status_code == 400
    )


def test_code_exchange_verifier_and_single_use(authorize, token, demo):
    back = authorize()
    assert back["state"] == "st4te"
    wrong = token(
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier="w" * 50,
    )
    assert wrong.status_code == 400 and wrong.json["error"] == "invalid_grant"

    back = authorize()
    missing = token(grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT)
    assert missing.status_code == 400

    back = authorize()
    good = token(
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert good.status_code == 200, good.json
    assert good.json["token_type"] == "Bearer" and good.json["expires_in"] == 3600
    assert good.headers["Cache-Control"] == "no-store"
    bearer = {"Authorization": f"Bearer {good.json['access_token']}"}
    assert demo.get("/userinfo", headers=bearer).json == {
        "sub": "demo-user",
        "email": "demo@example.invalid",
        "name": "Demo User",
    }

    again = token(
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"
    # A code used twice ends what it granted.
    assert demo.get("/userinfo", headers=bearer).status_code == 401


def test_wrong_client_secret_is_refused(authorize, demo):
    back = authorize()
    answered = demo.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
            "client_id": CLIENT_ID,
            "client_secret": "nope",
        },
    )
    assert answered.status_code == 401 and answered.json["error"] == "invalid_client"


def exchange(authorize, token):
    back = authorize()
    return token(
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    ).json


def test_refresh_rotates(authorize, token, demo):
    first = exchange(authorize, token)
    second = token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert second.json["access_token"] != first["access_token"]
    reused = token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.json["error"] == "invalid_grant"
    third = token(grant_type="refresh_token", refresh_token=second.json["refresh_token"])
    assert third.status_code == 200


def test_token_lifetime_is_configurable(monkeypatch):
    monkeypatch.setenv("HUB_DEMO_TOKEN_LIFETIME", "5")
    assert server.token_lifetime() == 5
    monkeypatch.setenv("HUB_DEMO_TOKEN_LIFETIME", "soon")
    assert server.token_lifetime() == 3600


def test_expired_access_token_is_refused(authorize, token, demo, monkeypatch):
    tokens = exchange(authorize, token)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert demo.get("/userinfo", headers=bearer).status_code == 200
    later = server.time.time() + 3601
    monkeypatch.setattr(server.time, "time", lambda: later)
    expired = demo.get("/userinfo", headers=bearer)
    assert expired.status_code == 401
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


def test_revoke_ends_the_grant(authorize, token, demo):
    tokens = exchange(authorize, token)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    revoked = token(token=tokens["refresh_token"])
    assert revoked.status_code == 400  # /token needs a grant type: revoke is elsewhere
    answered = demo.post(
        "/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": "demo-secret",
        },
    )
    assert answered.status_code == 200
    assert demo.get("/userinfo", headers=bearer).status_code == 401
    refreshed = token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 400


def test_revoke_all(authorize, token, demo):
    tokens = exchange(authorize, token)
    assert demo.post("/demo/revoke-all", json={}).json == {"revoked": 1}
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert demo.get("/userinfo", headers=bearer).status_code == 401


def test_files_api(authorize, token, demo):
    bearer = {"Authorization": f"Bearer {exchange(authorize, token)['access_token']}"}
    assert demo.get("/api/list").status_code == 401
    top = demo.get("/api/list", query_string={"parent": "root"}, headers=bearer).json
    assert [e["name"] for e in top["entries"]] == ["Photos", "Reports", "Welcome.txt"]
    paged = demo.get("/api/list", query_string={"parent": "Photos", "limit": 2}, headers=bearer)
    assert len(paged.json["entries"]) == 2 and paged.json["next"] == "2"
    rest = demo.get(
        "/api/list", query_string={"parent": "Photos", "cursor": "2"}, headers=bearer
    ).json
    assert len(rest["entries"]) == 1 and rest["next"] is None
    deep = demo.get("/api/list", query_string={"parent": "Reports/2026"}, headers=bearer).json
    assert deep["path"] == [
        {"id": "Reports", "name": "Reports"},
        {"id": "Reports/2026", "name": "2026"},
    ]
    assert demo.get("/api/list", query_string={"parent": "Nope"}, headers=bearer).status_code == 404

    data = server.FILES["Reports/2026/report.csv"][1]
    whole = demo.get("/api/content/Reports/2026/report.csv", headers=bearer)
    assert whole.status_code == 200 and whole.data == data
    part = demo.get(
        "/api/content/Reports/2026/report.csv", headers={**bearer, "Range": "bytes=0-9"}
    )
    assert part.status_code == 206 and part.data == data[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(data)}"
    tail = demo.get("/api/content/Welcome.txt", headers={**bearer, "Range": "bytes=-5"})
    assert tail.data == server.WELCOME[-5:]
    outside = demo.get("/api/content/Welcome.txt", headers={**bearer, "Range": "bytes=9999-"})
    assert outside.status_code == 416
    png = demo.get("/api/content/Photos/sea.png", headers=bearer)
    assert png.data.startswith(b"\x89PNG") and png.mimetype == "image/png"
    assert demo.get("/api/content/Photos", headers=bearer).status_code == 404
