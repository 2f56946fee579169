"""Signing in and out, API tokens, and login throttling."""

from __future__ import annotations

import re

import argon2
import pytest

from hub import accounts
from tests.conftest import PASSWORD


def test_login_starts_a_session_that_me_recognises(client, alice):
    response = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json["name"] == "alice"
    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json["name"] == "alice" and me.json["isSuperuser"] is False
    assert "passwordHash" not in me.json and "password_hash" not in me.json


def test_the_session_cookie_is_httponly_and_samesite_lax(client, alice):
    response = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_wrong_password_is_401_without_saying_which_part_was_wrong(client, alice):
    wrong = client.post("/api/login", json={"username": "alice", "password": "nope-nope"})
    unknown = client.post("/api/login", json={"username": "mallory", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"


def test_login_validates_its_body(client):
    response = client.post("/api/login", json={"username": "alice", "pasword": "x"})
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"password": "required", "pasword": "unknown field"}


def test_login_refuses_wrong_types(client):
    response = client.post("/api/login", json={"username": 42, "password": "x"})
    assert response.status_code == 400
    assert "username" in response.json["error"]["fields"]


def test_login_refuses_a_body_that_is_not_json(client):
    response = client.post(
        "/api/login", data="username=alice", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (400, 403)
    assert response.json["error"]["code"] in ("invalid", "csrf_failed")


def test_me_without_credentials_is_401_in_the_error_shape(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "not_authenticated"


def test_logout_ends_the_session(login, alice):
    client = login("alice")
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/me").status_code == 401


def test_a_password_change_signs_out_existing_sessions(app, login, alice):
    from hub import accounts
    from hub.db import database

    client = login("alice")
    with app.app_context(), database.connection_context():
        accounts.set_password(accounts.get_user("alice"), "a brand new password")
    assert client.get("/api/me").status_code == 401


# -- throttling --------------------------------------------------------------------------------


def test_repeated_failures_for_a_name_are_throttled(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=3)
    make_user("alice")
    client = app.test_client()
    for _ in range(3):
        assert (
            client.post(
                "/api/login", json={"username": "alice", "password": "bad-bad-bad"}
            ).status_code
            == 401
        )
    blocked = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0


def test_throttling_one_name_leaves_other_names_alone(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=2)
    make_user("alice")
    make_user("bob")
    client = app.test_client()
    for _ in range(2):
        client.post("/api/login", json={"username": "alice", "password": "bad-bad-bad"})
    assert (
        client.post("/api/login", json={"username": "bob", "password": PASSWORD}).status_code == 200
    )


def test_many_failures_from_one_address_are_throttled(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=4)
    make_user("alice")
    client = app.test_client()
    for n in range(4):
        client.post("/api/login", json={"username": f"guess{n}", "password": "bad-bad-bad"})
    assert (
        client.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code
        == 429
    )


def test_a_success_clears_earlier_failures(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=3)
    make_user("alice")
    client = app.test_client()
    for _ in range(2):
        client.post("/api/login", json={"username": "alice", "password": "bad-bad-bad"})
    assert (
        client.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code
        == 200
    )
    for _ in range(2):
        client.post("/api/login", json={"username": "alice", "password": "bad-bad-bad"})
    assert (
        client.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code
        == 200
    )


# -- API tokens --------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_authenticates(login, app, alice):
    client = login("alice")
    created = client.post("/api/tokens", json={"name": "laptop"})
    assert created.status_code == 201
    token = created.json["token"]
    assert token.startswith("hub_")
    listed = client.get("/api/tokens").json
    assert [t["name"] for t in listed["items"]] == ["laptop"]
    assert token not in str(listed)
    anonymous = app.test_client()
    me = anonymous.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["name"] == "alice"


def test_passwords_are_hashed_with_argon2id_at_a_slow_cost():
    """SECURITY 25: the hub's own hasher (the tests swap in a cheap one; the hash made when
    hub.accounts was imported shows the real parameters)."""
    parameters = argon2.extract_parameters(accounts._DUMMY_HASH)

    assert parameters.type is argon2.Type.ID
    # OWASP's floor for Argon2id: 19 MiB of memory, two passes.
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2


def test_tokens_are_stored_only_as_hashes(login, app, alice):
    from hub.db import database
    from hub.models import ApiToken

    token = login("alice").post("/api/tokens", json={"name": "ci"}).json["token"]
    with app.app_context(), database.connection_context():
        row = ApiToken.get()
        assert token not in (row.token_hash, row.prefix)
        assert token[4:] not in row.token_hash


def test_a_wrong_token_is_401(client, alice):
    response = client.get("/api/me", headers={"Authorization": "Bearer hub_not-a-real-token"})
    assert response.status_code == 401
    assert "token" in response.json["error"]["message"]


def test_a_revoked_token_stops_working(login, app, alice):
    client = login("alice")
    created = client.post("/api/tokens", json={"name": "old"}).json
    assert client.delete(f"/api/tokens/{created['id']}").status_code == 204
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert app.test_client().get("/api/me", headers=headers).status_code == 401


def test_delete_tokens_revokes_the_calling_token(app, token_for, alice):
    headers = token_for("alice")
    client = app.test_client()
    assert client.delete("/api/tokens", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_delete_tokens_without_a_token_names_the_problem(login, alice):
    response = login("alice").delete("/api/tokens")
    assert response.status_code == 400
    assert "Authorization" in response.json["error"]["fields"]


def test_nobody_can_revoke_someone_elses_token(login, alice, bob):
    created = login("alice").post("/api/tokens", json={"name": "mine"}).json
    assert login("bob").delete(f"/api/tokens/{created['id']}").status_code == 404


def test_an_expired_token_is_refused(login, app, alice):
    import datetime as dt

    from hub.db import database
    from hub.models import ApiToken

    created = login("alice").post("/api/tokens", json={"name": "short", "expiresInDays": 1}).json
    with app.app_context(), database.connection_context():
        ApiToken.update(expires_at=dt.datetime(2020, 1, 1)).execute()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert app.test_client().get("/api/me", headers=headers).status_code == 401


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 3}])
def test_a_token_needs_a_proper_name(login, alice, body):
    response = login("alice").post("/api/tokens", json=body)
    assert response.status_code == 400
    assert "name" in response.json["error"]["fields"]


# -- CSRF on the JSON API ----------------------------------------------------------------------


def test_a_cross_site_origin_is_refused_for_session_requests(login, alice):
    response = login("alice").post(
        "/api/tokens", json={"name": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "csrf_failed"


def test_a_form_encoded_post_with_a_session_is_refused(login, alice):
    response = login("alice").post(
        "/api/tokens", data={"name": "x"}, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "csrf_failed"


def test_a_form_encoded_post_with_a_csrf_token_header_is_accepted(login, alice):
    client = login("alice")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/api/logout", data="", content_type="text/plain", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 204


def test_a_bodiless_post_with_a_session_is_accepted(login, alice):
    assert login("alice").post("/api/logout").status_code == 204


def test_token_requests_need_no_csrf_defence(app, token_for, alice):
    response = app.test_client().post(
        "/api/tokens",
        json={"name": "x"},
        headers={**token_for("alice"), "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 201


def test_a_bearer_token_wins_over_the_session_cookie(login, token_for, alice, bob):
    client = login("alice")
    me = client.get("/api/me", headers=token_for("bob"))
    assert me.json["name"] == "bob"
