"""A local Microsoft on 127.0.0.1 for end-to-end tests: the identity platform's authorize and
token endpoints and the Graph calls the plugin makes, behaving as Microsoft documents, plus a
separate download host (another port: another origin) that serves pre-authenticated URLs.

- ``/{tenant}/oauth2/v2.0/authorize`` redirects back with a code bound to the PKCE challenge;
  ``/{tenant}/oauth2/v2.0/token`` checks the verifier, and every refresh answers a NEW refresh
  token and refuses the old one from then on (rotation). ``refuse_refresh`` makes the next
  refreshes fail with a recorded error (``interaction_required``, AADSTS50076).
- Graph wants a current access token (else ``401 InvalidAuthenticationToken``), pages
  ``/me/drive/root/children`` by ``$top`` with ``@odata.nextLink`` carrying a ``$skiptoken``,
  answers ``/content`` with ``302`` to the download host, and plays throttling
  (``throttle``: answers to give before the next Graph answers).
- Every request is kept in ``seen`` (method, path, query, headers).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from recorded_graph import recorded

DRIVE = "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV_tpd"
# The root of the local drive: eight files, each "{n}.txt" holding its name repeated.
FILES = {f"01LOCAL{n:02d}": (f"file-{n:02d}.txt", f"file {n:02d}\n".encode() * 3) for n in range(8)}


@dataclass
class Seen:
    """One request a server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)


class Server:
    """A threaded HTTP server on 127.0.0.1 whose answers come from :meth:`answer`."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError


class DownloadHost(Server):
    """Serves ``/download/{item}?tempauth=...`` as SharePoint's and OneDrive's hosts do: the URL
    is the grant (no Authorization needed), ``Range: bytes=a-b`` honoured."""

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        item = seen.path.removeprefix("/download/")
        if item not in FILES or seen.query.get("tempauth") != "v1.local-grant":
            return 401, {}, b""
        body = FILES[item][1]
        wanted = seen.headers.get("Range", "")
        if wanted.startswith("bytes=") and "-" in wanted:
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            part = body[first : last + 1]
            headers = {"Content-Range": f"bytes {first}-{last}/{len(body)}"}
            return 206, {**headers, "Content-Type": "text/plain"}, part
        return 200, {"Content-Type": "text/plain"}, body


class Microsoft(Server):
    """The identity platform and Graph on one origin."""

    def __init__(self, download_host: str) -> None:
        self.download_host = download_host
        self.numbers = itertools.count(1)
        self.codes: dict[str, str] = {}  # code -> PKCE challenge
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refused_refresh_tokens: list[str] = []
        self.refuse_refresh: dict[str, Any] | None = None
        self.throttle: list[tuple[int, str]] = []  # (status, Retry-After) answered first
        super().__init__()

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far is refused from now on (401)."""
        self.access_tokens.clear()

    def refreshes(self) -> list[Seen]:
        return [s for s in self.seen if s.form.get("grant_type") == "refresh_token"]

    def graph_calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/v1.0/")]

    # -- answers ---------------------------------------------------------------------------------

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        _tenant, _, rest = seen.path.lstrip("/").partition("/")
        if rest == "oauth2/v2.0/authorize":
            return self._authorize(seen)
        if rest == "oauth2/v2.0/token" and seen.method == "POST":
            return self._token(seen.form)
        if seen.path.startswith("/v1.0/"):
            return self._graph(seen)
        return _json(404, recorded("error_not_found"))

    def _authorize(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        code = f"M.C{next(self.numbers)}_BAY.local-code"
        self.codes[code] = seen.query.get("code_challenge", "")
        back = urlencode({"code": code, "state": seen.query.get("state", "")})
        return 302, {"Location": f"{seen.query['redirect_uri']}?{back}"}, b""

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if form.get("grant_type") == "authorization_code":
            challenge = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if challenge != base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
                return _json(400, recorded("token_invalid_grant"))
            return self._grant()
        if form.get("grant_type") == "refresh_token":
            if self.refuse_refresh is not None:
                return _json(400, self.refuse_refresh)
            token = form.get("refresh_token", "")
            if token not in self.refresh_tokens:
                self.refused_refresh_tokens.append(token)
                return _json(400, recorded("token_invalid_grant"))
            self.refresh_tokens.discard(token)  # rotation: the old one is spent
            return self._grant()
        return _json(400, {"error": "unsupported_grant_type"})

    def _grant(self) -> tuple[int, dict[str, str], bytes]:
        n = next(self.numbers)
        answer = dict(recorded("token"))
        answer["access_token"] = f"eyJ0eXAi.local-access-{n}"
        answer["refresh_token"] = f"0.AAAA.local-refresh-{n}"
        self.access_tokens.add(answer["access_token"])
        self.refresh_tokens.add(answer["refresh_token"])
        return _json(200, answer)

    def _graph(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        bearer = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.access_tokens:
            return _json(401, recorded("error_auth"))
        if self.throttle:
            status, wait = self.throttle.pop(0)
            return _json(status, recorded("error_throttled"), {"Retry-After": wait})
        path = unquote(seen.path.removeprefix("/v1.0"))
        if path == "/me":
            return _json(200, recorded("me"))
        if path == "/me/drive/root/children":
            return self._children(seen.query)
        if path == "/me/drive/sharedWithMe":
            return _json(200, {"value": []})
        prefix = f"/drives/{DRIVE}/items/"
        item, _, action = path.removeprefix(prefix).partition("/")
        if not path.startswith(prefix) or item not in FILES:
            return _json(404, recorded("error_not_found"))
        if action == "content":
            grant = f"{self.download_host}/download/{item}?tempauth=v1.local-grant"
            return 302, {"Location": grant}, b""
        return _json(200, _entry(item))

    def _children(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        top = int(query.get("$top", "200"))
        start = int(base64.urlsafe_b64decode(query.get("$skiptoken", "MA==")).decode())
        ids = sorted(FILES)
        body: dict[str, Any] = {"value": [_entry(i) for i in ids[start : start + top]]}
        if start + top < len(ids):
            token = base64.urlsafe_b64encode(str(start + top).encode()).decode()
            body["@odata.nextLink"] = (
                f"{self.url}/v1.0/me/drive/root/children?$top={top}&$skiptoken={token}"
            )
        return _json(200, body)


def _entry(item: str) -> dict[str, Any]:
    name, body = FILES[item]
    return {
        "id": item,
        "name": name,
        "size": len(body),
        "file": {"mimeType": "text/plain"},
        "lastModifiedDateTime": "2024-05-05T12:00:00Z",
        "parentReference": {"driveId": DRIVE, "driveType": "business", "id": "01LOCALROOT"},
    }


def _json(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._reply("GET", b"")

        def do_POST(self) -> None:
            self._reply("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _reply(self, method: str, body: bytes) -> None:
            parts = urlsplit(self.path)
            seen = Seen(
                method,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                dict(self.headers.items()),
                {k: v[0] for k, v in parse_qs(body.decode()).items()},
            )
            server.seen.append(seen)
            status, headers, payload = server.answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            """Quiet: tests read ``seen``."""

    return Handler


@contextmanager
def running() -> Iterator[tuple[Microsoft, DownloadHost]]:
    """A local Microsoft and its download host, stopped afterwards."""
    downloads = DownloadHost()
    microsoft = Microsoft(downloads.url)
    try:
        yield microsoft, downloads
    finally:
        microsoft.stop()
        downloads.stop()
