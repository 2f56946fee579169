"""The proxy (DESIGN §8, SECURITY 16-20): hostile paths fail closed, credentials only go to the
API base URL, headers are filtered both ways, and upstream failures are clear."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from hub.proxy import relative_path, target_url
from tests.support_provider import API

BASE = "https://files.example.org/v1"

HOSTILE = [
    "https://evil.example/x",
    "http://evil.example/x",
    "//evil.example/x",
    "/etc/passwd",
    "\\\\evil.example\\x",
    "..\\..\\x",
    "a\\b",
    "user@evil.example/x",
    "@evil.example",
    "..",
    "../x",
    "a/../../x",
    "a/./b",
    "%2e%2e/x",
    "%2E%2E/x",
    ".%2e/x",
    "%252e%252e/x",
    "a%2f..%2f..%2fx",
    "a%2Fb",
    "%2f%2fevil.example",
    "a%5c..%5cx",
    "x%00y",
    "x\ny",
    "x%0d%0aHost:%20evil",
    "x\ty",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "gopher://evil.example",
    "a/%40evil.example",
    "a/%2e%2e/%2e%2e/x",
    "a/..;/x",
    "..;jsessionid=1/x",
    "%25252e%25252e/x",
    "%c0%ae%c0%ae/x",
    "\uff0e\uff0e/x",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_a_hostile_path_is_refused(path):
    with pytest.raises(Exception) as refused:
        target_url(BASE, path, "")
    assert "refused" in str(refused.value)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("users", f"{BASE}/users"),
        ("users/42/files", f"{BASE}/users/42/files"),
        ("files/na%C3%AFve%20name.txt", f"{BASE}/files/na%C3%AFve%20name.txt"),
        ("a..b/c", f"{BASE}/a..b/c"),
        ("", f"{BASE}/"),
    ],
)
def test_a_relative_path_stays_under_the_base(path, expected):
    assert target_url(BASE, path, "") == expected


def test_the_query_string_is_passed_as_sent():
    assert target_url(BASE, "search", "q=a%20b&x=1") == f"{BASE}/search?q=a%20b&x=1"


def test_relative_path_returns_the_path_unchanged():
    assert relative_path("a/b%20c") == "a/b%20c"


# -- through the HTTP API ------------------------------------------------------------------------


def proxy(client, ref, path, **kwargs):
    return client.open(f"/api/integrations/{ref}/proxy/{path}", **kwargs)


def test_a_get_is_forwarded_with_credentials_and_streamed_back(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/users/me", json={"id": 1}, headers={"X-Upstream": "yes"})
    response = proxy(files_client, files_integration, "users/me?full=1")
    assert response.status_code == 200 and json.loads(response.data) == {"id": 1}
    sent = requests_mock.last_request
    assert sent.url == f"{API}/users/me?full=1"
    assert sent.headers["Authorization"] == "Bearer tok-123"
    assert response.headers["X-Upstream"] == "yes"


@pytest.mark.parametrize(
    "path", ["%2e%2e/secret", "..%2fsecret", "%2F%2Fevil.example/x", "a%5c..%5cb"]
)
def test_hostile_paths_are_refused_over_http(files_client, files_integration, requests_mock, path):
    response = proxy(files_client, files_integration, path)
    assert response.status_code in (400, 404)  # refused by the checks, or matches no route
    assert not requests_mock.called


def test_the_callers_cookies_and_authorization_are_never_forwarded(
    app, files_client, files_integration, requests_mock, token_for
):
    requests_mock.get(f"{API}/echo", json={})
    files_client.set_cookie("tracking", "cookie-value", domain="localhost")
    proxy(
        files_client,
        files_integration,
        "echo",
        headers={"X-Custom": "drop-me", "Accept": "application/json"},
    )
    sent = requests_mock.last_request.headers
    assert "Cookie" not in sent and "X-Custom" not in sent
    assert sent["Accept"] == "application/json"
    assert sent["Authorization"] == "Bearer tok-123"


def test_set_cookie_and_hop_by_hop_headers_are_stripped(
    files_client, files_integration, requests_mock
):
    requests_mock.get(
        f"{API}/x",
        text="ok",
        headers={
            "Set-Cookie": "session=upstream",
            "Connection": "close",
            "Keep-Alive": "timeout=5",
            "X-Kept": "1",
        },
    )
    response = proxy(files_client, files_integration, "x")
    assert "Set-Cookie" not in response.headers
    assert "Keep-Alive" not in response.headers
    assert response.headers["X-Kept"] == "1"


def test_a_redirect_is_never_followed(files_client, files_integration, requests_mock):
    requests_mock.get(
        f"{API}/go", status_code=302, headers={"Location": "https://evil.example/steal"}
    )
    evil = requests_mock.get("https://evil.example/steal", text="stolen")
    response = proxy(files_client, files_integration, "go")
    # never relayed as the hub's own redirect either (SECURITY 28): 502, the other origin only
    assert response.status_code == 502 and "Location" not in response.headers
    assert response.json["error"]["code"] == "upstream_redirect"
    assert response.json["error"]["fields"] == {"location": "https://evil.example"}
    assert not evil.called


def test_a_body_and_method_are_passed_through(files_client, files_integration, requests_mock):
    requests_mock.put(f"{API}/items/1", status_code=201, json={"ok": True})
    response = proxy(files_client, files_integration, "items/1", method="PUT", json={"name": "x"})
    assert response.status_code == 201
    assert requests_mock.last_request.json() == {"name": "x"}


def test_an_upstream_error_status_is_passed_through(files_client, files_integration, requests_mock):
    requests_mock.get(f"{API}/missing", status_code=404, json={"message": "nope"})
    response = proxy(files_client, files_integration, "missing")
    assert response.status_code == 404 and json.loads(response.data) == {"message": "nope"}


def test_an_upstream_timeout_is_504_naming_the_provider(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/slow", exc=requests.ReadTimeout)
    response = proxy(files_client, files_integration, "slow")
    assert response.status_code == 504 and "Test Files" in response.json["error"]["message"]


def test_an_unreachable_upstream_is_502_naming_the_provider(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/down", exc=requests.ConnectionError)
    response = proxy(files_client, files_integration, "down")
    assert response.status_code == 502 and "Test Files" in response.json["error"]["message"]


def test_idempotent_requests_are_retried_on_503(
    files_client, files_integration, requests_mock, monkeypatch
):
    monkeypatch.setattr("hub.context.time.sleep", lambda seconds: None)
    requests_mock.get(
        f"{API}/flaky", [{"status_code": 503, "headers": {"Retry-After": "1"}}, {"json": {"ok": 1}}]
    )
    assert proxy(files_client, files_integration, "flaky").status_code == 200
    assert requests_mock.call_count == 2


def test_a_post_is_not_retried(files_client, files_integration, requests_mock, monkeypatch):
    monkeypatch.setattr("hub.context.time.sleep", lambda seconds: None)
    requests_mock.post(f"{API}/create", status_code=503)
    response = proxy(files_client, files_integration, "create", method="POST", json={})
    assert response.status_code == 503 and requests_mock.call_count == 1


def test_an_answer_over_the_size_bound_is_refused(
    files_app, files_client, files_integration, requests_mock
):
    files_app.config["PROXY_MAX_RESPONSE_BYTES"] = 10
    requests_mock.get(f"{API}/big", text="x" * 100, headers={"Content-Length": "100"})
    response = proxy(files_client, files_integration, "big")
    assert response.status_code == 502


def test_a_base_url_on_a_private_address_is_refused_at_call_time(
    files_client, files_integration, requests_mock, monkeypatch
):
    monkeypatch.setattr("hub.netguard.resolve_host", lambda host: ["10.0.0.5"])
    response = proxy(files_client, files_integration, "anything")
    assert response.status_code == 502
    assert not requests_mock.called


def test_a_401_triggers_one_refresh_and_one_retry(files_client, requests_mock):
    created = files_client.post(
        "/api/integrations",
        json={"name": "OAuth files", "provider": "testfiles", "clientId": "cid"},
    ).json
    ref = created["id"]
    files_client.post(
        f"/api/integrations/{ref}/connection",
        json={"accessToken": "old-access", "refreshToken": "refresh-1", "expiresIn": 3600},
    )
    requests_mock.post(
        "https://auth.example.org/token",
        json={"access_token": "new-access", "token_type": "Bearer"},
    )
    requests_mock.get(
        f"{API}/me",
        [{"status_code": 401, "json": {}}, {"json": {"id": 7}}],
    )
    response = proxy(files_client, ref, "me")
    assert response.status_code == 200 and json.loads(response.data) == {"id": 7}
    calls = [
        (r.method, r.url, r.headers.get("Authorization")) for r in requests_mock.request_history
    ]
    assert calls[0][2] == "Bearer old-access"
    assert calls[1][1] == "https://auth.example.org/token"
    assert calls[2][2] == "Bearer new-access"


def test_a_second_401_after_refresh_is_returned_not_looped(files_client, requests_mock):
    created = files_client.post(
        "/api/integrations",
        json={"name": "OAuth files", "provider": "testfiles", "clientId": "cid"},
    ).json
    ref = created["id"]
    files_client.post(
        f"/api/integrations/{ref}/connection",
        json={"accessToken": "a", "refreshToken": "r", "expiresIn": 3600},
    )
    requests_mock.post(
        "https://auth.example.org/token", json={"access_token": "b", "token_type": "Bearer"}
    )
    requests_mock.get(f"{API}/me", status_code=401, json={})
    assert proxy(files_client, ref, "me").status_code == 401
    assert requests_mock.call_count == 3


def test_header_templates_are_expanded_and_injection_refused(
    files_client, files_integration, requests_mock, app
):
    from hub.db import database
    from hub.models import User

    files_client.patch(
        f"/api/integrations/{files_integration}", json={"headers": {"X-User": "${user.email}"}}
    )
    requests_mock.get(f"{API}/who", json={})
    proxy(files_client, files_integration, "who")
    assert requests_mock.last_request.headers["X-User"] == "alice@example.org"
    with app.app_context(), database.connection_context():
        User.update(email="alice@example.org\r\nX-Evil: 1").execute()
    response = proxy(files_client, files_integration, "who")
    assert response.status_code == 400 and response.json["error"]["code"] == "header_refused"
    assert requests_mock.call_count == 1


def test_basic_credentials_outside_latin1_are_sent_as_utf8(files_client, requests_mock):
    created = files_client.post(
        "/api/integrations",
        json={"name": "Basic", "authType": "basic", "apiBaseUri": "https://api.example.org"},
    ).json
    files_client.post(
        f"/api/integrations/{created['id']}/connection",
        json={"username": "用户", "password": "密码"},
    )
    requests_mock.get("https://api.example.org/me", json={})
    assert proxy(files_client, created["id"], "me").status_code == 200
    expected = base64.b64encode("用户:密码".encode()).decode()
    assert requests_mock.last_request.headers["Authorization"] == f"Basic {expected}"


def test_provider_cookies_are_never_kept_between_requests(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/login-ish", text="ok", headers={"Set-Cookie": "sid=secret; Path=/"})
    proxy(files_client, files_integration, "login-ish")
    proxy(files_client, files_integration, "login-ish")
    assert "Cookie" not in requests_mock.last_request.headers
