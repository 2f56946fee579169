"""The sign-in page and the start page."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_start_page_sends_strangers_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_the_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="username">' in page and '<label for="password">' in page


def test_signing_in_with_the_form_opens_the_start_page(client, alice):
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/connections"
    assert "alice" in page.get_data(as_text=True)


def test_the_form_without_a_csrf_token_is_refused(client, alice):
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_a_wrong_password_shows_an_error_on_the_page(client, alice):
    response = client.post(
        "/login",
        data={"username": "alice", "password": "wrong-one", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 401
    assert "wrong" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/api/me", "/api/me"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(client, alice, target, expected):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_sign_out_needs_the_form_token(login, alice):
    client = login("alice")
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/api/me").status_code == 401


def test_errors_on_pages_are_html_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_the_stylesheet_is_served(client):
    response = client.get("/static/hub.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
