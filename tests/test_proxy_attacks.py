"""Attacks on the proxy, made the way an attacker makes them (SECURITY 28 and 33).

Mallory, an ordinary user, points a ``custom`` integration at a server she controls, gives it a
bearer credential, shares it with the administrator at ``use`` and waits for the administrator to
open the proxy URL. Her server is real (:class:`tests.hostile.Upstream`: a ``ThreadingHTTPServer``
on 127.0.0.1 that records every request it receives) and answers what each test scripts — HTML
with a script, its own permissive CSP and CORS, cookies, ``Clear-Site-Data``, ``Refresh``,
``Link``, SVG, XML, JavaScript, no ``Content-Type`` at all, redirects. What the administrator's
signed-in client gets back must never be able to run in the hub's origin.

The path attacks go through the same door: each hostile path is sent raw (the test client passes
the request URI to the hub exactly as written, as ``RAW_URI``), must be refused with ``400``, and
Mallory's server must have recorded nothing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pytest

from hub import context as hub_context
from hub import transport

from .hostile import Upstream

SANDBOX = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SCRIPT = b"<script>fetch('/api/tokens', {method: 'POST', body: '{}'})</script>"
HTML_PAGE = b"<!doctype html><html><body><h1>Quarterly report</h1>" + SCRIPT + b"</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'

# What a hostile provider adds to make its answer run, persist or reach further.
HOSTILE_HEADERS = {
    "Content-Security-Policy": "default-src * 'unsafe-inline' 'unsafe-eval'",
    "Content-Security-Policy-Report-Only": "default-src *",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": "*",
    "Cross-Origin-Opener-Policy": "unsafe-none",
    "Cross-Origin-Embedder-Policy": "unsafe-none",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Frame-Options": "ALLOWALL",
    "X-XSS-Protection": "0",
    "Strict-Transport-Security": "max-age=0",
    "Permissions-Policy": "camera=*, microphone=*",
    "Referrer-Policy": "unsafe-url",
    "Set-Cookie": "session=mallory; Path=/",
    "Clear-Site-Data": '"*"',
    "Refresh": "0; url=https://evil.example/phish",
    "Link": "<https://evil.example/x.js>; rel=preload; as=script",
    "Service-Worker-Allowed": "/",
    "WWW-Authenticate": 'Basic realm="Integration Hub"',
    "NEL": '{"report_to": "evil", "max_age": 31536000}',
    "Report-To": '{"group": "evil", "endpoints": [{"url": "https://evil.example/r"}]}',
    "Reporting-Endpoints": 'evil="https://evil.example/r"',
    "SourceMap": "https://evil.example/map",
    "X-SourceMap": "https://evil.example/map",
    "Alt-Svc": 'h2="evil.example:443"',
    "Origin-Agent-Cluster": "?0",
    "Content-Location": "https://evil.example/elsewhere",
    "Timing-Allow-Origin": "*",
    "X-Accel-Redirect": "/internal/etc/passwd",
    "X-Sendfile": "/etc/passwd",
    "Content-Disposition": "inline",
}
# What an API client needs and must still get.
DATA_HEADERS = {
    "ETag": '"v1"',
    "Last-Modified": "Tue, 05 Mar 2024 09:30:00 GMT",
    "Cache-Control": "private, max-age=60",
    "Retry-After": "30",
    "X-RateLimit-Remaining": "41",
    "X-Request-Id": "req-7",
    "Dropbox-API-Result": '{"name": "report.pdf"}',
    "Content-Language": "en",
}


# -- Mallory's setup -----------------------------------------------------------------------------


pytestmark = pytest.mark.loopback


@dataclass
class Attack:
    admin: Any  # the administrator's signed-in test client
    ref: int
    upstream: Upstream

    def open(self, path: str, **kwargs: Any) -> Any:
        return self.admin.open(f"/api/integrations/{self.ref}/proxy/{path}", **kwargs)


@pytest.fixture
def attack(make_user, login, upstream) -> Attack:
    """Mallory's integration, pointed at her server and shared with the administrator."""
    make_user("admin", superuser=True)
    make_user("mallory")
    mallory = login("mallory")
    created = mallory.post(
        "/api/integrations",
        json={
            "name": "Quarterly reports",
            "authType": "bearer",
            "apiBaseUri": upstream.base,
            "connectionMode": "shared",
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    credential = mallory.post(f"/api/integrations/{ref}/connection", json={"token": "mallory-tok"})
    assert credential.status_code == 200, credential.json
    shared = mallory.put(f"/api/integrations/{ref}/shares/admin", json={"access": "use"})
    assert shared.status_code == 200, shared.json
    return Attack(login("admin"), ref, upstream)


def assert_sandboxed(response: Any) -> None:
    for name, value in SANDBOX.items():
        assert response.headers.get_all(name) == [value], (name, response.headers.get_all(name))


def assert_no_provider_security_header(response: Any) -> None:
    hub_own = {name.lower() for name in SANDBOX} | {"content-disposition"}
    for name, value in HOSTILE_HEADERS.items():
        if name.lower() in hub_own:
            assert value not in response.headers.get_all(name), name
        else:
            assert name not in response.headers, name


# -- what the caller sends never reaches the provider (SECURITY 20) -----------------------------


def test_the_callers_hub_token_and_session_cookie_never_reach_the_provider(attack, app, token_for):
    attack.upstream.answer("v1/me", json={"me": "mallory"})
    headers = token_for("admin")
    hub_token = headers["Authorization"].removeprefix("Bearer ")
    cookie = attack.admin.get_cookie("session")

    by_session = attack.open("v1/me", headers={"Cookie": "theme=dark"})
    by_token = app.test_client().get(f"/api/integrations/{attack.ref}/proxy/v1/me", headers=headers)

    assert by_session.status_code == by_token.status_code == 200
    assert len(attack.upstream.seen) == 2
    for seen in attack.upstream.seen:
        assert seen.headers["Authorization"] == "Bearer mallory-tok"
        assert "Cookie" not in seen.headers
    assert not attack.upstream.received(hub_token)
    assert cookie is not None and not attack.upstream.received(cookie.value)


def test_an_answer_without_a_length_is_cut_at_the_bound(attack, app):
    app.config["PROXY_MAX_RESPONSE_BYTES"] = 1000
    attack.upstream.answer(
        "big", headers={"Content-Type": "text/plain"}, body=b"x" * 50_000, length=False
    )

    answer = attack.open("big")

    assert answer.status_code == 200
    assert len(answer.get_data()) <= 1000


# -- what a provider answers never runs in the hub's origin ------------------------------------


def test_an_html_page_with_a_script_is_a_sandboxed_attachment_without_the_providers_headers(
    attack,
):
    attack.upstream.answer(
        "report",
        headers={"Content-Type": "text/html; charset=utf-8", **HOSTILE_HEADERS, **DATA_HEADERS},
        body=HTML_PAGE,
    )

    response = attack.open("report")

    assert response.status_code == 200
    assert_sandboxed(response)
    assert response.headers["Content-Disposition"] == "attachment"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_no_provider_security_header(response)
    for name, value in DATA_HEADERS.items():  # API-useful headers still flow
        assert response.headers[name] == value, name
    assert response.data == HTML_PAGE  # the bytes are the provider's, untouched
    assert [r["headers"]["Authorization"] for r in attack.upstream.seen] == ["Bearer mallory-tok"]


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/html", HTML_PAGE),
        ("TEXT/HTML; charset=utf-8", HTML_PAGE),
        ("application/xhtml+xml", b'<html xmlns="http://www.w3.org/1999/xhtml">' + SCRIPT),
        ("image/svg+xml", SVG),
        ("application/xml", b'<?xml-stylesheet href="x.xsl"?><a/>'),
        ("text/xml", b"<a/>"),
        ("application/atom+xml", b"<feed/>"),
        ("text/xsl", b"<xsl:stylesheet/>"),
        ("application/javascript", b"fetch('/api/tokens', {method: 'POST'})"),
        ("text/javascript", b"alert(1)"),
        ("application/ecmascript", b"alert(1)"),
        ("application/pdf", b"%PDF-1.7 /JavaScript"),
        ("multipart/x-mixed-replace; boundary=x", b"--x\r\nContent-Type: text/html\r\n\r\n<b>"),
        ("application/x-shockwave-flash", b"FWS"),
        ("application/x-made-up", HTML_PAGE),
        ("text/plain, text/html", HTML_PAGE),
        ("html", HTML_PAGE),
    ],
)
def test_active_and_unknown_types_go_out_as_attachments(attack, content_type, body):
    attack.upstream.answer("file", headers={"Content-Type": content_type}, body=body)

    response = attack.open("file")

    assert response.status_code == 200
    assert_sandboxed(response)
    assert response.headers["Content-Disposition"] == "attachment"
    assert response.data == body


def test_an_answer_without_a_content_type_is_octet_stream_never_sniffed(attack):
    attack.upstream.answer("untyped", body=HTML_PAGE)

    response = attack.open("untyped")

    assert response.status_code == 200
    assert response.headers.get_all("Content-Type") == ["application/octet-stream"]
    assert_sandboxed(response)
    assert response.data == HTML_PAGE


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "application/vnd.api+json",
        "text/plain; charset=utf-8",
        "text/csv",
        "image/png",
        "image/jpeg",
        "video/mp4",
        "audio/mpeg",
        "application/octet-stream",
    ],
)
def test_passive_types_stay_inline_and_json_comes_through_unchanged(attack, content_type):
    body = json.dumps({"items": [{"id": 1, "name": "<script>x</script>"}]}).encode()
    attack.upstream.answer(
        "items", headers={"Content-Type": content_type, **DATA_HEADERS}, body=body
    )

    response = attack.open("items?page=2", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert "Content-Disposition" not in response.headers
    assert_sandboxed(response)
    assert response.data == body
    assert response.headers["X-RateLimit-Remaining"] == "41"
    assert attack.upstream.seen[-1]["path"] == "/base/items?page=2"


def test_the_providers_error_answers_are_sandboxed_too(attack):
    attack.upstream.answer(
        "broken",
        status=500,
        headers={"Content-Type": "text/html", **HOSTILE_HEADERS},
        body=HTML_PAGE,
    )

    response = attack.open("broken")

    assert response.status_code == 500
    assert_sandboxed(response)
    assert response.headers["Content-Disposition"] == "attachment"
    assert_no_provider_security_header(response)


def test_a_json_error_of_the_provider_passes_through_inline(attack):
    attack.upstream.answer(
        "missing",
        status=404,
        headers={"Content-Type": "application/json"},
        body=b'{"message": "no such report"}',
    )

    response = attack.open("missing")

    assert response.status_code == 404 and response.json == {"message": "no such report"}
    assert "Content-Disposition" not in response.headers
    assert_sandboxed(response)


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_a_502_naming_only_its_origin(attack, status):
    attack.upstream.answer(
        "go",
        status=status,
        headers={"Location": "https://evil.example:8443/steal?token=secret#x", **HOSTILE_HEADERS},
    )

    response = attack.open("go")

    assert response.status_code == 502
    assert "Location" not in response.headers and "Refresh" not in response.headers
    assert_sandboxed(response)
    error = response.json["error"]
    assert error["code"] == "upstream_redirect"
    assert f"answered {status}" in error["message"] and "Quarterly reports" not in error["message"]
    assert error["fields"] == {"location": "https://evil.example:8443"}
    assert "secret" not in response.get_data(as_text=True)
    assert len(attack.upstream.seen) == 1  # not followed


@pytest.mark.parametrize(
    "location, shown",
    [
        ("/base/reports/2?cursor=abc", "reports/2?cursor=abc"),
        ("next", "next"),  # relative to the path asked for
        ("{base}/a/b", "a/b"),
    ],
)
def test_a_redirect_under_the_base_names_the_hubs_proxy_path(attack, location, shown):
    attack.upstream.answer(
        "go", status=302, headers={"Location": location.format(base=attack.upstream.base)}
    )

    response = attack.open("go")

    assert response.status_code == 502 and "Location" not in response.headers
    assert response.json["error"]["code"] == "upstream_redirect"
    assert response.json["error"]["fields"] == {
        "location": f"/api/integrations/{attack.ref}/proxy/{shown}"
    }
    assert_sandboxed(response)
    assert [r["path"] for r in attack.upstream.seen] == ["/base/go"]


def test_a_redirect_out_of_the_base_path_on_the_same_server_names_only_the_origin(attack):
    attack.upstream.answer("go", status=301, headers={"Location": "/admin/keys"})

    response = attack.open("go")

    assert response.status_code == 502
    assert response.json["error"]["fields"] == {
        "location": f"http://127.0.0.1:{attack.upstream.port}"
    }


def test_a_304_passes_through_with_its_validators(attack):
    attack.upstream.answer(
        "cached", status=304, headers={"ETag": '"v1"', "Location": "https://evil.example/"}
    )

    response = attack.open("cached", headers={"If-None-Match": '"v1"'})

    assert response.status_code == 304
    assert response.headers["ETag"] == '"v1"'
    assert "Location" not in response.headers
    assert_sandboxed(response)
    assert attack.upstream.seen[0]["headers"]["If-None-Match"] == '"v1"'


# -- the hub's own answers on the proxy route ---------------------------------------------------


def test_the_hubs_own_errors_on_the_proxy_route_are_sandboxed(attack, client, monkeypatch):
    refused = attack.open("a/..;/x")
    assert refused.status_code == 400
    assert_sandboxed(refused)

    unknown = attack.admin.get("/api/integrations/999999/proxy/x")
    assert unknown.status_code == 404
    assert_sandboxed(unknown)

    anonymous = client.get(f"/api/integrations/{attack.ref}/proxy/x")
    assert anonymous.status_code == 401
    assert_sandboxed(anonymous)

    not_allowed = attack.open("x", method="TRACE")
    assert not_allowed.status_code == 405
    assert_sandboxed(not_allowed)

    attack.upstream.answer("slow", delay=1.0, body=b"late")
    quick = functools.partial(transport.send, timeout=(2.0, 0.2))
    monkeypatch.setattr(hub_context, "send", quick)
    timeout = attack.open("slow")
    assert timeout.status_code == 504
    assert_sandboxed(timeout)

    attack.upstream.stop()
    down = attack.open("anything")
    assert down.status_code == 502
    assert_sandboxed(down)


# -- paths that would leave the base (SECURITY 33) -------------------------------------------

ATTACK_PATHS = [
    "a/..;/secret",  # Java servers (PowerFolder, Tomcat) read "..;" as ".."
    "..;/secret",
    "a/..;jsessionid=1/secret",
    "a/.;/b",
    "a/..%3B/secret",
    "a/..%3b/secret",
    "..",
    "a/../../secret",
    "a/./b",
    "%2e%2e/secret",
    "%252e%252e/secret",
    "%25252e%25252e/secret",  # three rounds
    "%2525252e%2525252e/secret",  # four rounds
    "%" + "25" * 6 + "2e%" + "25" * 6 + "2e/secret",  # deeper than the bound
    "%c0%ae%c0%ae/secret",  # overlong UTF-8
    "%C0%AE%C0%AE/secret",
    "%e0%80%ae%e0%80%ae/secret",
    "%25c0%25ae%25c0%25ae/secret",  # overlong, itself encoded
    "\uff0e\uff0e/secret",  # full-width full stops, sent raw
    "%EF%BC%8E%EF%BC%8E/secret",  # the same, encoded
    "\u2025/secret",  # two dot leader: ".." after NFKC
    "\u2024\u2024/secret",  # one dot leader, twice
    "%u002e%u002e/secret",
    "..%20/secret",
    ".../secret",
    "a%2f..%2f..%2fsecret",
    "a%252f..%252fsecret",
    "a%5c..%5csecret",
    "a\\..\\secret",
    "a/%40evil.example",
    "x%00y",
    "x%c2%85y",  # NEL, a C1 control character
    "a/\uff0f../secret",  # full-width solidus
]


@pytest.mark.parametrize("path", ATTACK_PATHS)
def test_a_path_that_leaves_the_base_in_any_reading_is_refused_before_anything_is_sent(
    attack, path
):
    response = attack.open(path)

    assert response.status_code == 400, (path, response.status_code)
    assert response.json["error"]["code"] == "invalid"
    assert "path" in response.json["error"]["fields"]
    assert_sandboxed(response)
    assert attack.upstream.seen == []


# These never match the route (Werkzeug's path converter takes neither a decoded line break nor
# a leading "/"): 404, still sandboxed, and still nothing sent.
UNROUTABLE_PATHS = ["x%0d%0aHost:%20evil", "%2f%2fevil.example/x"]


@pytest.mark.parametrize("path", UNROUTABLE_PATHS)
def test_a_path_that_matches_no_route_is_404_and_nothing_is_sent(attack, path):
    response = attack.open(path)

    assert response.status_code == 404
    assert_sandboxed(response)
    assert attack.upstream.seen == []


@pytest.mark.parametrize(
    "path",
    [
        "a/file.v1.json",
        "a/.well-known/openid-configuration",
        "a/.hidden",
        "a..b/c",
        "v2/files/na%C3%AFve%20name.txt",
        "search/%25",  # an encoded percent sign: one round, then a fixed point
        "a;v=1/b",
        "",
    ],
)
def test_ordinary_paths_with_dots_and_encodings_still_reach_the_provider(attack, path):
    attack.upstream.answer(
        path.split("?", 1)[0], headers={"Content-Type": "application/json"}, body=b"{}"
    )

    response = attack.open(path)

    assert response.status_code == 200, response.data
    assert [r["path"] for r in attack.upstream.seen] == [f"/base/{path}"]
