"""Fixtures for the PowerFolder plugin's tests: the plugin loaded the way the hub loads it, a whole
hub for tests through its HTTP API, the server's recorded answers (``fixtures/``), and a small
PowerFolder server on 127.0.0.1 that records every request it receives."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.testing import isolate, load_plugin, make_hub_app, provider_of, signed_in_client

FIXTURES = Path(__file__).parent / "fixtures"
SERVER = "https://pf.example.org"
CLIENT_ID = "hub-client"
CLIENT_SECRET = "pf-client-secret-value"
# The live server's secret has characters that URL encoding changes, so a test looking for it in
# a request line also finds it encoded.
LIVE_SECRET = "pf secret/+&=é-value"
XML = {"Content-Type": 'application/xml; charset="utf-8"'}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shell settings, no DNS, cheap password hashing (hub.testing.isolate)."""
    isolate(monkeypatch)


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry holding the built-ins and this plugin, loaded through its entry point."""
    return load_plugin("hub_powerfolder", name="powerfolder")


@pytest.fixture
def provider() -> Provider:
    """The validated ``powerfolder`` provider, as the registry holds it."""
    return provider_of("hub_powerfolder", "powerfolder")


@pytest.fixture
def recorded() -> Callable[[str], bytes]:
    """The bytes of a recorded server answer in ``tests/fixtures``."""
    return lambda name: (FIXTURES / name).read_bytes()


# -- a whole hub -----------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """A hub on a fresh database with the installed plugins, this one among them."""
    return make_hub_app(tmp_path / "instance")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser signed in to the hub."""
    return signed_in_client(app, "alice")


@pytest.fixture
def create(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Create a PowerFolder integration on ``SERVER``; keyword arguments change the body, and
    ``settings`` is merged into ``{"serverUrl": SERVER}``."""

    def make(**changes: Any) -> dict[str, Any]:
        settings = {"serverUrl": SERVER, **changes.pop("settings", {})}
        body = {
            "name": "PowerFolder",
            "provider": "powerfolder",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "settings": settings,
            **changes,
        }
        response = client.post("/api/integrations", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return make


@pytest.fixture
def connect(client: FlaskClient, recorded: Callable[[str], bytes]) -> Callable[..., Any]:
    """Run the OAuth flow through the hub for an integration: ``/connect``, the server's allow
    page (skipped: a redirect back with a code), ``/oauth2/callback``. The token endpoint
    answers ``token.json``; returns the token request the hub sent."""

    def run(
        integration: dict[str, Any], requests_mock: Any, token_path: str = "/oauth/token"
    ) -> Any:
        token = requests_mock.post(SERVER + token_path, content=recorded("token.json"))
        started = client.get(f"/api/integrations/{integration['id']}/connect")
        assert started.status_code == 302, started.get_json()
        location = started.headers["Location"]
        assert location.startswith(f"{SERVER}/oauth/allow?")
        state = parse_qs(urlsplit(location).query)["state"][0]
        done = client.get("/oauth2/callback", query_string={"state": state, "code": "pf-code"})
        assert done.status_code == 303, done.get_data(as_text=True)
        assert token.call_count == 1
        return token.last_request

    return run


@pytest.fixture
def oauth_integration(
    create: Callable[..., dict[str, Any]], connect: Callable[..., Any], requests_mock: Any
) -> dict[str, Any]:
    """A connected OAuth2 integration (access token ``pf-access-1``)."""
    integration = create()
    connect(integration, requests_mock)
    return integration


@pytest.fixture
def basic_integration(client: FlaskClient, create: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A connected integration with a username and password (``authType: basic``)."""
    integration = create(authType="basic", clientId=None, clientSecret=None)
    response = client.post(
        f"/api/integrations/{integration['id']}/connection",
        json={"username": "alice@example.org", "password": "pf password"},
    )
    assert response.status_code == 200, response.json
    return integration


# -- a PowerFolder server on 127.0.0.1 -------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as it reached the live server: the request line exactly as sent."""

    method: str
    target: str  # path and query, as on the request line
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}


@dataclass(frozen=True)
class Reply:
    """What the live server answers."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    location: str | None = None


class LivePowerFolder:
    """A PowerFolder server as its clients see it (shapes in ``fixtures/README.md``).

    Tokens come from ``POST /oauth/token`` or ``POST /oauth`` (JSON bodies) and from the wiki's
    ``GET /oauth?grant_type=refresh_token&...``; ``/api/folders`` answers HTTP Basic only and
    refuses a bearer token with 401; WebDAV answers ``PROPFIND`` with the recorded multistatus
    documents and ``GET`` with file bytes. Every request is kept in :attr:`received`.
    """

    LISTINGS = {
        (): "propfind_root.xml",
        ("$mail_attachments",): "propfind_mail_attachments.xml",
        ("Team Docs",): "propfind_team_docs.xml",
        ("Empty",): "propfind_empty.xml",
    }
    FILES = {("$mail_attachments", "invoice (1)+copy.pdf"): b"%PDF-1\n"}

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.received: list[Received] = []
        self.codes: dict[str, str] = {}  # code -> the redirect_uri it was given for
        self.access: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.basic = "Basic " + base64.b64encode(b"alice@example.org:pf password").decode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_access_tokens(self) -> None:
        self.access.clear()

    # -- answers ---------------------------------------------------------------------------

    def answer(self, seen: Received) -> Reply:
        if seen.path == "/oauth/allow":
            return self._allow(seen)
        if seen.path in ("/oauth", "/oauth/token"):
            return self._token(seen)
        if seen.path == "/api/folders":
            # Documented for HTTP Basic only: a bearer token is refused.
            if seen.headers.get("Authorization") != self.basic:
                return Reply(401, b"Unauthorized")
            return Reply(200, (FIXTURES / "folders.json").read_bytes(), "application/json")
        if seen.path.startswith("/webdav/"):
            if not self._authorised(seen):
                return Reply(401, b"Unauthorized")
            where = tuple(unquote(s) for s in seen.path.removeprefix("/webdav/").split("/") if s)
            if seen.method == "PROPFIND" and where in self.LISTINGS:
                body = (FIXTURES / self.LISTINGS[where]).read_bytes()
                return Reply(207, body, 'application/xml; charset="utf-8"')
            if seen.method == "GET" and where in self.FILES:
                return Reply(200, self.FILES[where], "application/pdf")
        return Reply(404, b"Not Found")

    def _authorised(self, seen: Received) -> bool:
        given = seen.headers.get("Authorization", "")
        return given == self.basic or given.removeprefix("Bearer ") in self.access

    def _allow(self, seen: Received) -> Reply:
        """The user is signed in and clicks "Allow": back to the client with a code."""
        query = seen.query
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return Reply(400, b"unknown client")
        code = secrets.token_urlsafe(12)
        self.codes[code] = query["redirect_uri"]
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return Reply(302, location=back)

    def _token(self, seen: Received) -> Reply:
        if seen.method == "POST":
            params = json.loads(seen.body or b"{}")
            secret_ok = params.get("client_secret") == self.client_secret
        else:  # the wiki's refresh: the client id alone identifies the client
            params, secret_ok = seen.query, True
        grant = params.get("grant_type")
        if grant == "authorization_code":
            given_for = self.codes.pop(params.get("code"), None)
            valid = given_for is not None and given_for == params.get("redirect_uri")
        else:
            valid = grant == "refresh_token" and params.get("refresh_token") in self.refresh_tokens
        if not (valid and secret_ok and params.get("client_id") == self.client_id):
            return Reply(400, b'{"error": "invalid_grant"}', "application/json")
        self.access = {secrets.token_urlsafe(16)}
        answer: dict[str, Any] = {"access_token": next(iter(self.access)), "expires_in": 86400}
        if grant == "authorization_code":
            answer["refresh_token"] = secrets.token_urlsafe(16)
            self.refresh_tokens.add(answer["refresh_token"])
        return Reply(200, json.dumps(answer).encode(), "application/json")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        live = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Received(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                live.received.append(seen)
                reply = live.answer(seen)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.location:
                    self.send_header("Location", reply.location)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PROPFIND = _any

            def log_message(self, *args: Any) -> None:  # quiet: pytest shows failures
                pass

        return Handler


@pytest.fixture
def live_server() -> Iterator[LivePowerFolder]:
    """A PowerFolder server on 127.0.0.1 that knows the hub's client (``CLIENT_ID`` with
    ``LIVE_SECRET``)."""
    server = LivePowerFolder(CLIENT_ID, LIVE_SECRET)
    yield server
    server.stop()


@pytest.fixture
def live_app(tmp_path: Path) -> Flask:
    """A hub that may call a server on a private address (a self-hosted PowerFolder)."""
    return make_hub_app(tmp_path / "live", ALLOW_PRIVATE_ADDRESSES=True)


@pytest.fixture
def live_client(live_app: Flask) -> FlaskClient:
    """A browser signed in to :func:`live_app`."""
    return signed_in_client(live_app, "alice")


# -- the files service through the hub's API -------------------------------------------------


@pytest.fixture
def browse() -> Callable[..., Any]:
    """``browse(client, integration, parent=None, **query)``: ``GET …/services/files/items`` of
    ``parent`` (the top level when ``None``)."""

    def get(
        client: FlaskClient, integration: dict[str, Any], parent: str | None = None, **query: Any
    ) -> Any:
        if parent is not None:
            query["parent"] = parent
        url = f"/api/integrations/{integration['id']}/services/files/items"
        return client.get(url, query_string=query)

    return get


@pytest.fixture
def download_url() -> Callable[[dict[str, Any], str], str]:
    """``download_url(integration, item_id)``: the hub's download address of a file."""

    def url(integration: dict[str, Any], item_id: str) -> str:
        path = quote(item_id, safe="/")
        return f"/api/integrations/{integration['id']}/services/files/items/{path}/download"

    return url


@pytest.fixture
def propfind() -> Callable[..., Any]:
    """``propfind(requests_mock, path, body, status=207, headers=XML)``: the server's answer to
    ``PROPFIND {SERVER}/webdav/{path}`` (``path`` percent-encoded, as the plugin sends it)."""

    def answer(
        requests_mock: Any,
        path: str,
        body: bytes,
        status: int = 207,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return requests_mock.register_uri(
            "PROPFIND",
            f"{SERVER}/webdav/{path}",
            content=body,
            status_code=status,
            headers=XML if headers is None else headers,
        )

    return answer
