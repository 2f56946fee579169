"""hub.transport.send prepares a request itself for the hub's plain sessions: what reaches the
provider must be exactly what ``Session.request`` would have sent."""

from __future__ import annotations

import pytest
import requests

from hub import transport

URL = "https://api.example.org/v1/files"

CALLS = [
    {},
    {"headers": {"Accept": "application/json", "X-Request-Id": "abc"}},
    {"headers": {"User-Agent": "hub-test/1", "Accept-Encoding": None}},
    {"params": {"q": "a b", "page": "2"}, "headers": {"Authorization": "Bearer t0ken"}},
    {"json": {"name": "x", "n": [1, 2]}},
    {"data": b"raw bytes", "headers": {"Content-Type": "application/octet-stream"}},
    {"data": {"grant_type": "refresh_token"}, "auth": ("client", "s3cret")},
    {"auth": ("ümlaut".encode(), "pässword".encode())},
]


def seen(requests_mock) -> tuple[str, str, dict[str, str], bytes | str | None]:
    sent = requests_mock.last_request
    return sent.method, sent.url, dict(sent.headers), sent.body


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kwargs", CALLS)
def test_send_sends_what_session_request_sends(app, requests_mock, method, kwargs):
    requests_mock.register_uri(method, URL, json={"ok": True})
    with app.app_context():
        response = transport.send(method, URL, provider="Test", **dict(kwargs))
        assert response.json() == {"ok": True}
        ours = seen(requests_mock)
        transport.session().request(method, URL, allow_redirects=False, **dict(kwargs))
        assert ours == seen(requests_mock)


def test_a_session_with_more_to_merge_goes_the_usual_way(app, requests_mock):
    requests_mock.get(URL, json={})
    http = requests.Session()
    http.trust_env = False
    http.params = {"key": "from-session"}
    http.headers["X-Session"] = "1"
    assert not transport._plain(http, {})
    with app.app_context():
        transport.send("GET", URL, provider="Test", http=http, headers={"X-Call": "2"})
    sent = requests_mock.last_request
    assert sent.qs == {"key": ["from-session"]}
    assert (sent.headers["X-Session"], sent.headers["X-Call"]) == ("1", "2")


def test_the_hubs_session_is_plain_and_other_arguments_are_not():
    assert transport._plain(transport.session(), {"headers": {}, "params": {}, "json": None})
    assert not transport._plain(transport.session(), {"verify": False})
