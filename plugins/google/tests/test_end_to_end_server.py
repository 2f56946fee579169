"""Through the hub's HTTP API against a real HTTP server on 127.0.0.1 that plays Google: connect
(the account's name shown), then export a presentation over 10 MB, which ``files.export`` refuses
with ``403 exportSizeLimitExceeded`` and the file's export link serves; and an export link that
points at another server is refused without the token reaching it.

The stand-in answers the token, userinfo and revocation endpoints and the Drive calls the plugin
makes with the recorded bodies of ``recorded/``, and plays the export links' host too, as
``docs.google.com`` does for Google. Every request is kept in :attr:`FakeGoogleServer.seen`,
headers included, so a test can tell what reached it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.testing import make_hub_app, signed_in_client

RECORDED = Path(__file__).parent / "recorded"
EXPORT_LIMIT = 10 * 1024 * 1024  # files.export's limit (Google's files.export reference)
CHUNK = 64 * 1024


def recorded(name: str) -> Any:
    """A recorded body by file name without ``.json``."""
    return json.loads((RECORDED / f"{name}.json").read_text())


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class DriveFile:
    """A native file the server holds: its metadata and its exports by MIME type. With
    ``links_to`` the metadata lists export links on that base URL (``None``: no links)."""

    meta: dict[str, Any]
    exports: dict[str, bytes]
    links_to: str | None = None


@dataclass
class FakeGoogleServer:
    """Google on ``base`` (``http://127.0.0.1:<port>``) until :meth:`stop`."""

    files: dict[str, DriveFile] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    access_token: str = recorded("token")["access_token"]

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [s.path for s in self.seen]

    # -- answers -------------------------------------------------------------------------------

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> tuple[int, dict, bytes]:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.seen.append(Seen(method, parts.path, query, dict(request.headers.items())))
        path = parts.path
        if method == "POST" and path == "/token":
            return _json(200, recorded("token"))
        if method == "POST" and path == "/revoke":
            return 200, {}, b""
        if not self._authorized(request):
            return _json(401, recorded("error_auth"))
        if path == "/v1/userinfo":
            return _json(200, recorded("userinfo"))
        if path.startswith("/drive/v3/files/"):
            return self._drive(path.removeprefix("/drive/v3/files/"), query)
        if path == "/feeds/download/Export":
            return self._export(query.get("id", ""), query.get("mimeType", ""), limit=None)
        return _json(404, recorded("error_not_found"))

    def _authorized(self, request: BaseHTTPRequestHandler) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"

    def _drive(self, rest: str, query: dict[str, str]) -> tuple[int, dict, bytes]:
        file_id, _, action = rest.partition("/")
        held = self.files.get(file_id)
        if held is None:
            return _json(404, recorded("error_not_found"))
        if action == "export":
            return self._export(file_id, query.get("mimeType", ""), limit=EXPORT_LIMIT)
        meta = dict(held.meta)
        if held.links_to is not None and "exportLinks" in query.get("fields", ""):
            # Like Google's, each link names the file and the format in its query.
            meta["exportLinks"] = {
                mime: f"{held.links_to}/feeds/download/Export?id={file_id}&mimeType={mime}"
                for mime in held.exports
            }
        return _json(200, meta)

    def _export(
        self, file_id: str, mime_type: str, *, limit: int | None
    ) -> tuple[int, dict, bytes]:
        held = self.files.get(file_id)
        if held is None or mime_type not in held.exports:
            return _json(404, recorded("error_not_found"))
        body = held.exports[mime_type]
        if limit is not None and len(body) > limit:
            return _json(403, recorded("error_export_too_large"))
        return 200, {"Content-Type": mime_type}, body


def _json(status: int, body: Any) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


def _handler_for(server: FakeGoogleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self._reply("POST")

        def _reply(self, method: str) -> None:
            status, headers, body = server.answer(self, method)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for start in range(0, len(body), CHUNK):
                self.wfile.write(body[start : start + CHUNK])

        def log_message(self, *args: Any) -> None:
            """Quiet: the tests read :attr:`FakeGoogleServer.seen` instead."""

    return Handler


# -- the tests ------------------------------------------------------------------------------------

DECK = "1BiGpReSeNtAtIoNzz"
LINKLESS = "1NoLiNkSdEcKqqqqqq"
ELSEWHERE = "1BiGdEcKeLsEwHeRe"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
BIG_DECK = b"PK\x03\x04" + bytes(range(256)) * (42 * 1024)  # 10.5 MiB, every byte value


def presentation(file_id: str, name: str) -> dict[str, Any]:
    return {"id": file_id, "name": name, "mimeType": "application/vnd.google-apps.presentation"}


@pytest.fixture
def google_server():
    server = FakeGoogleServer()
    yield server
    server.stop()


@pytest.fixture
def other_server():
    """A server that is not Google and not the integration's: it must never hear from the hub."""
    server = FakeGoogleServer()
    yield server
    server.stop()


@pytest.fixture
def hub(tmp_path, google_server):
    """A hub that may call loopback addresses, whose Google client is approved for the
    stand-in's token endpoint."""
    app = make_hub_app(
        tmp_path / "instance",
        GOOGLE_CLIENT_ID="123456789012-hub.apps.googleusercontent.com",
        GOOGLE_CLIENT_SECRET="GOCSPX-test-client-secret",
        ALLOW_PRIVATE_ADDRESSES=True,
        GOOGLE_CLIENT_ORIGINS=google_server.base,
    )
    return signed_in_client(app, "ada")


@pytest.fixture
def items(hub, google_server):
    """A Google integration pointed at the stand-in and connected: its items URL."""
    created = hub.post(
        "/api/integrations",
        json={
            "name": "Drive",
            "provider": "google",
            "tokenUri": f"{google_server.base}/token",
            "settings": {
                "endpoints": {name: google_server.base for name in ("drive", "userinfo", "revoke")}
            },
        },
    )
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["id"]
    started = hub.get(f"/api/integrations/{ref}/connect")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    callback = hub.get("/oauth2/callback", query_string={"state": state, "code": "4/0AeaYSHBcode"})
    assert callback.status_code == 303
    return f"/api/integrations/{ref}"


def test_the_connected_account_shows_its_name(hub, items):
    shown = hub.get(f"{items}/connection").get_json()

    assert (shown["status"], shown["email"], shown["displayName"]) == (
        "connected",
        "ada@example.com",
        "Ada Lovelace",
    )


def test_an_export_over_10_mb_is_served_by_the_export_link(hub, items, google_server):
    google_server.files[DECK] = DriveFile(
        presentation(DECK, "All hands"), {PPTX: BIG_DECK}, links_to=google_server.base
    )

    response = hub.get(f"{items}/services/drive/items/{DECK}/download")

    assert response.status_code == 200, response.get_json()
    assert hashlib.sha256(response.data).digest() == hashlib.sha256(BIG_DECK).digest()
    assert "filename*=UTF-8''All%20hands.pptx" in response.headers["Content-Disposition"]
    drive_calls = [p for p in google_server.paths() if p.startswith(("/drive", "/feeds"))]
    assert drive_calls == [f"/drive/v3/files/{DECK}", "/feeds/download/Export"]
    link_request = google_server.seen[-1]
    assert link_request.query == {"id": DECK, "mimeType": PPTX}
    assert link_request.headers["Authorization"] == f"Bearer {google_server.access_token}"


def test_the_stand_in_refuses_that_export_on_files_export(hub, items, google_server):
    """Without an export link, the hub can only ask files.export, which refuses over 10 MB."""
    google_server.files[LINKLESS] = DriveFile(presentation(LINKLESS, "Old deck"), {PPTX: BIG_DECK})

    response = hub.get(f"{items}/services/drive/items/{LINKLESS}/download")

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "export_too_large"
    assert google_server.paths()[-1] == f"/drive/v3/files/{LINKLESS}/export"


def test_an_export_link_on_another_server_is_refused_without_the_token(
    hub, items, google_server, other_server
):
    other_server.files[ELSEWHERE] = DriveFile(presentation(ELSEWHERE, "Bait"), {PPTX: b"x"})
    google_server.files[ELSEWHERE] = DriveFile(
        presentation(ELSEWHERE, "Bait"), {PPTX: b"x"}, links_to=other_server.base
    )

    response = hub.get(f"{items}/services/drive/items/{ELSEWHERE}/download")

    assert response.status_code == 502
    assert "not send the account's token" in response.get_json()["error"]["message"]
    assert other_server.seen == []
    assert google_server.paths()[-1] == f"/drive/v3/files/{ELSEWHERE}"
