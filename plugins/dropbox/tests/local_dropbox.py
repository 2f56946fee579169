"""A stand-in for Dropbox on 127.0.0.1, behaving as Dropbox's API spec and SDKs say it does.

Two HTTP servers share one state, as ``api.dropboxapi.com`` and ``content.dropboxapi.com``:

- api: ``POST /oauth2/token`` (form body; the code, its PKCE S256 verifier, the redirect URI
  and the client checked; a refresh answers no new refresh token), ``POST /2/auth/token/revoke``
  (the token as bearer, no body), and the RPC routes ``users/get_current_account`` (no argument:
  no body, or ``null`` as JSON — a JSON Content-Type with an empty body is refused ``400`` as
  Dropbox does), ``files/list_folder`` (paged by ``limit``, cursors Dropbox-opaque),
  ``files/list_folder/continue`` and ``files/get_metadata``;
- content: ``POST /2/files/download``, its argument in ``Dropbox-API-Arg`` — refused ``400``
  unless it is ASCII JSON — with ``Range`` and the ``Dropbox-API-Result`` header.

Errors have Dropbox's shapes: ``409`` with a tagged ``error`` and its ``error_summary``, ``401``
``expired_access_token`` / ``invalid_access_token``, ``429`` with ``Retry-After`` and a
``RateLimitError`` body. Every request is kept in :attr:`LocalDropbox.seen`, headers and body
included, so a test can tell what reached Dropbox (and what did not: a client secret on
revocation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT = {
    "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
    "name": {"given_name": "Franz", "surname": "Ferdinand", "display_name": "Franz Ferdinand"},
    "email": "franz@example.com",
    "email_verified": True,
}
CLIENT_ID = "dbx-app-key"
CLIENT_SECRET = "dbx-app-secret"


@dataclass
class Seen:
    """One request a server received."""

    host: str  # "api" or "content"
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Node:
    """A file or folder of the account."""

    id: str
    path_display: str
    data: bytes | None = None  # None: a folder

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            ".tag": "folder" if self.data is None else "file",
            "name": self.name,
            "id": self.id,
            "path_lower": self.path_display.lower(),
            "path_display": self.path_display,
        }
        if self.data is not None:
            meta |= {"size": len(self.data), "server_modified": "2024-05-01T09:30:00Z"}
            meta |= {"client_modified": "2024-05-01T09:30:00Z", "rev": "015f1e2b3c4d5e6f7"}
        return meta


@dataclass
class LocalDropbox:
    """The account's tree, the grants issued, and what the servers saw."""

    api: str = ""
    content: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)  # by path_lower
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> challenge, uri
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> "ok" | "expired"
    refresh_tokens: set[str] = field(default_factory=set)
    throttle: dict[str, list[int]] = field(default_factory=dict)  # route -> Retry-After values
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the account ---------------------------------------------------------------------------

    def add(self, path_display: str, data: bytes | None = None) -> Node:
        """A file (``data``) or a folder at ``path_display``; its id, Dropbox-like."""
        node = Node("id:" + secrets.token_urlsafe(12), path_display, data)
        self.nodes[path_display.lower()] = node
        return node

    def issue_code(self, challenge: str, redirect_uri: str) -> str:
        """The code Dropbox gives the browser after consent to an authorization with PKCE."""
        code = "dbx-code-" + secrets.token_urlsafe(8)
        self.codes[code] = (challenge, redirect_uri)
        return code

    def issue_token(self) -> str:
        """An access token, as the App Console's "Generate" button gives one."""
        return str(self._access()["access_token"])

    def expire_tokens(self) -> None:
        """Every access token issued so far is now past its four hours."""
        for token in self.tokens:
            self.tokens[token] = "expired"

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    # -- answers ---------------------------------------------------------------------------------

    def answer(self, host: str, request: BaseHTTPRequestHandler, body: bytes) -> Any:
        headers = {k: v for k, v in request.headers.items()}
        with self.lock:
            self.seen.append(Seen(host, request.command, request.path, headers, body))
        if request.command != "POST":
            return _text(405, "Dropbox's API takes POST only")
        if host == "api" and request.path == "/oauth2/token":
            return self._token(parse_qs(body.decode("ascii")), headers)
        token_error = self._refused(headers)
        if token_error is not None:
            return token_error
        route = request.path.removeprefix("/2/")
        waits = self.throttle.get(route)
        if waits:
            wait = waits.pop(0)
            error = {"reason": {".tag": "too_many_requests"}, "retry_after": wait}
            answer = _json(429, {"error_summary": "too_many_requests/..", "error": error})
            answer[1]["Retry-After"] = str(wait)
            return answer
        if host == "content":
            return self._download(headers) if route == "files/download" else _text(404, "")
        if route == "auth/token/revoke":
            return self._revoke(headers, body)
        argument = _rpc_argument(headers, body, route)
        if isinstance(argument, tuple):
            return argument  # the 400 Dropbox gives an argument it cannot decode
        if route == "users/get_current_account":
            return _json(200, ACCOUNT)
        if route == "files/list_folder":
            return self._list(str(argument.get("path")), 0, int(argument.get("limit") or 2000))
        if route == "files/list_folder/continue":
            return self._continue(str(argument.get("cursor")))
        if route == "files/get_metadata":
            node = self._lookup(str(argument.get("path")))
            return _json(200, node.metadata()) if node else _path_error("not_found")
        return _text(404, f"Unknown API function: {route!r}")

    def _token(self, form: dict[str, list[str]], headers: dict[str, str]) -> Any:
        given = {k: v[0] for k, v in form.items()}
        if (given.get("client_id"), given.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return _json(400, {"error": "invalid_client"})
        if given.get("grant_type") == "authorization_code":
            challenge, uri = self.codes.pop(given.get("code", ""), ("", ""))
            verifier = given.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge or (
                given.get("redirect_uri") != uri
            ):
                return _json(400, {"error": "invalid_grant"})
            refresh = "dbx-refresh-" + secrets.token_urlsafe(8)
            self.refresh_tokens.add(refresh)
            return _json(200, self._access() | {"refresh_token": refresh})
        if given.get("grant_type") == "refresh_token":
            if given.get("refresh_token") not in self.refresh_tokens:
                return _json(400, {"error": "invalid_grant"})
            return _json(200, self._access())  # no new refresh token, as Dropbox
        return _json(400, {"error": "unsupported_grant_type"})

    def _access(self) -> dict[str, Any]:
        token = "sl.u." + secrets.token_urlsafe(16)
        self.tokens[token] = "ok"
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 14400,
            "scope": "account_info.read files.content.read files.metadata.read",
            "uid": "12345",
            "account_id": ACCOUNT["account_id"],
        }

    def _refused(self, headers: dict[str, str]) -> Any:
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        state = self.tokens.get(token)
        if state == "ok":
            return None
        tag = "expired_access_token" if state == "expired" else "invalid_access_token"
        return _json(401, {"error_summary": f"{tag}/..", "error": {".tag": tag}})

    def _revoke(self, headers: dict[str, str], body: bytes) -> Any:
        if body:
            return _text(400, "token/revoke takes no argument")
        token = headers["Authorization"].removeprefix("Bearer ")
        self.tokens.pop(token, None)
        self.refresh_tokens.clear()  # ends the grant: every token of the refresh token
        return _json(200, None)

    def _lookup(self, path: str) -> Node | None:
        if path.startswith("id:"):
            return next((n for n in self.nodes.values() if n.id == path), None)
        return self.nodes.get(path.lower())

    def _list(self, path: str, offset: int, limit: int) -> Any:
        if path and not path.startswith(("/", "id:")):
            return _path_error("malformed_path")
        folder = "" if path == "" else None
        if folder is None:
            node = self._lookup(path)
            if node is None:
                return _path_error("not_found")
            if node.data is not None:
                return _path_error("not_folder")
            folder = node.path_display.lower()
        children = sorted(
            (n for key, n in self.nodes.items() if key.rsplit("/", 1)[0] == folder),
            key=lambda n: n.name.lower(),
        )
        page = children[offset : offset + limit]
        cursor = base64.urlsafe_b64encode(
            json.dumps({"f": folder, "o": offset + len(page), "l": limit}).encode()
        ).decode()
        entries = [n.metadata() for n in page]
        more = offset + len(page) < len(children)
        return _json(200, {"entries": entries, "cursor": cursor, "has_more": more})

    def _continue(self, cursor: str) -> Any:
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            folder, offset, limit = str(state["f"]), int(state["o"]), int(state["l"])
        except (ValueError, KeyError, TypeError):
            return _json(409, {"error_summary": "reset/..", "error": {".tag": "reset"}})
        node = self.nodes.get(folder) if folder else None
        return self._list(node.id if node else "", offset, limit)

    def _download(self, headers: dict[str, str]) -> Any:
        raw = headers.get("Dropbox-API-Arg", "")
        # http.server reads header bytes as ISO-8859-1: raw UTF-8 shows up as non-ASCII here.
        if not raw.isascii() or "\x7f" in raw:
            return _text(400, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON')
        try:
            argument = json.loads(raw)
        except ValueError:
            return _text(400, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON')
        node = self._lookup(str(argument.get("path")))
        if node is None:
            return _path_error("not_found")
        if node.data is None:
            return _path_error("not_file")
        data, status, extra = node.data, 200, {}
        wanted = headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
            if start >= len(data):
                return 416, {"Content-Range": f"bytes */{len(data)}"}, b""
            status, extra = 206, {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
            data = data[start : end + 1]
        result = json.dumps(node.metadata(), ensure_ascii=True)
        answer = {"Content-Type": "application/octet-stream", "Dropbox-API-Result": result}
        return status, answer | extra, data


def _rpc_argument(headers: dict[str, str], body: bytes, route: str) -> Any:
    """The JSON argument of an RPC call, or the ``400`` Dropbox answers instead."""
    json_type = headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
    if not body:
        if json_type:  # Dropbox: a JSON Content-Type needs a JSON body (``null`` at least)
            return _text(400, f'Error in call to API function "{route}": request body: '
                         "could not decode input as JSON")  # fmt: skip
        return {}
    if not json_type:
        return _text(400, f'Error in call to API function "{route}": Bad HTTP "Content-Type"')
    try:
        value = json.loads(body)
    except ValueError:
        return _text(400, f'Error in call to API function "{route}": could not decode input')
    return value if isinstance(value, dict) else {}


def _path_error(tag: str) -> Any:
    error = {".tag": "path", "path": {".tag": tag}}
    return _json(409, {"error_summary": f"path/{tag}/..", "error": error})


def _json(status: int, body: Any) -> Any:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _text(status: int, text: str) -> Any:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()


def _handler(dropbox: LocalDropbox, host: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(self.rfile.read(length))

        def do_GET(self) -> None:
            self._reply(b"")

        def _reply(self, body: bytes) -> None:
            status, headers, data = dropbox.answer(host, self, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            """Quiet: tests read :attr:`LocalDropbox.seen`."""

    return Handler


@contextmanager
def running() -> Iterator[LocalDropbox]:
    """A :class:`LocalDropbox` served on two ports of 127.0.0.1 until the block ends."""
    dropbox = LocalDropbox()
    servers = {
        host: ThreadingHTTPServer(("127.0.0.1", 0), _handler(dropbox, host))
        for host in ("api", "content")
    }
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    dropbox.api = f"http://127.0.0.1:{servers['api'].server_address[1]}"
    dropbox.content = f"http://127.0.0.1:{servers['content'].server_address[1]}"
    try:
        yield dropbox
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)
