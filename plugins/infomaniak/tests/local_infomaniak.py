"""A stand-in for Infomaniak on 127.0.0.1, behaving as Infomaniak's own clients show it does.

One HTTP server plays the three hosts (paths do not overlap):

- login: ``GET /authorize`` refuses any scope outside Infomaniak's list with ``invalid_scope``
  (so a request for ``kdrive`` or ``mail`` fails, as at Infomaniak); ``POST /token`` checks the
  code, the PKCE verifier (S256) and the redirect URI, and answers the token with the granted
  ``scope``;
- api: ``/2/profile`` needs ``user_info``; the kDrive routes need ``drive`` and answer a token
  without it ``403 all_scopes`` naming the scope; the drive list, folder records (``with=path``)
  and listings come from the recorded fixtures of the ``Level 1/…/Level 8`` chain;
- mail: the routes need ``workspace:mail``; a folder's messages come in short pages (two threads
  whatever ``limit`` asks) chained by ``resource_next``, null on the last page.

Every request is recorded (method, path, query), so a test can count what an operation cost.
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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
REAL_SCOPES = frozenset(
    {"user_info", "drive", "workspace:mail", "workspace:calendar", "workspace:contact", "kchat"}
)
DRIVE = 140946
MAILBOX = "3b1f4f0e-8a2c-4c57-9d1e-2f6a7b8c9d01"
ARCHIVE = "eJxzLCjKTM4sAQAJ2QJj"
NOTES = b"Notes on the engine\n"
DISPOSITION = (
    'attachment; filename="R_sum_ _final_.txt"; '
    "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.txt"
)
ARCHIVE_PAGES = {0: "archive_offset0.json", 2: "archive_offset2.json", 4: "archive_offset4.json"}


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


@dataclass
class Infomaniak:
    """The server's state: issued codes and tokens, and every request it received."""

    url: str = ""
    tokens: dict[str, set[str]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def personal_token(self, *scopes: str) -> str:
        """A personal API token carrying ``scopes``, as made in the Manager."""
        token = "personal-" + secrets.token_urlsafe(8)
        self.tokens[token] = set(scopes)
        return token

    def calls(self, prefix: str = "/") -> list[str]:
        """The paths of the requests received so far under ``prefix``."""
        with self.lock:
            return [path for _, path, _ in self.requests if path.startswith(prefix)]

    def forget_calls(self) -> None:
        with self.lock:
            self.requests.clear()


class Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``Infomaniak.requests`` instead."""

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def state(self) -> Infomaniak:
        return self.server.state

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, description: str, **context: Any) -> None:
        error: dict[str, Any] = {"code": code, "description": description}
        if context:
            error["context"] = context
        self._answer(status, {"result": "error", "error": error})

    def _scopes(self) -> set[str] | None:
        value = self.headers.get("Authorization", "")
        return self.state.tokens.get(value.removeprefix("Bearer ")) if value else None

    def _needs(self, scope: str) -> bool:
        """Whether the bearer token has ``scope``; answers the refusal itself when not."""
        granted = self._scopes()
        if granted is None:
            self._error(401, "not_authorized", "Authorization required")
            return False
        if scope not in granted:
            self._error(
                403,
                "all_scopes",
                f'This method require this specific scope:"{scope}"',
                scopes=[scope],
            )
            return False
        return True

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.state.lock:
            self.state.requests.append((self.command, parts.path, query))
        return parts.path, query

    # -- routes --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/authorize":
            return self._authorize(query)
        if path == "/2/profile":
            if self._needs("user_info"):
                self._answer(200, recorded("profile_v2.json"))
            return None
        if path.startswith(("/2/drive", "/3/drive")):
            return self._kdrive(path) if self._needs("drive") else None
        if path.startswith("/api/"):
            return self._mail(path, query) if self._needs("workspace:mail") else None
        return self._error(404, "object_not_found", "No route")

    def do_POST(self) -> None:
        path, _ = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != "/token":
            return self._error(404, "object_not_found", "No route")
        return self._token(form)

    def _authorize(self, query: dict[str, list[str]]) -> None:
        one = {k: v[0] for k, v in query.items()}
        redirect, state = one.get("redirect_uri", ""), one.get("state", "")
        requested = one.get("scope", "").split()
        unknown = [s for s in requested if s not in REAL_SCOPES]
        if unknown:
            where = f"{redirect}?" + urlencode(
                {"error": "invalid_scope", "error_description": " ".join(unknown), "state": state}
            )
        else:
            code = secrets.token_urlsafe(12)
            self.state.codes[code] = {
                "challenge": one.get("code_challenge", ""),
                "redirect_uri": redirect,
                "scope": " ".join(requested),
            }
            where = f"{redirect}?" + urlencode({"code": code, "state": state})
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _token(self, form: dict[str, str]) -> None:
        grant = self.state.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or challenge.decode() != grant["challenge"]
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return self._answer(400, {"error": "invalid_grant", "error_description": "no"})
        token = "ik-" + secrets.token_urlsafe(12)
        self.state.tokens[token] = set(grant["scope"].split())
        return self._answer(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 7200,
                "refresh_token": "ik-refresh-" + secrets.token_urlsafe(8),
                "user_id": 1234567,
                "scope": grant["scope"],
            },
        )

    def _kdrive(self, path: str) -> None:
        if path == "/2/drive/users/current/drives":
            return self._answer(200, recorded("drives.json"))
        if path == f"/2/drive/{DRIVE}/files/208/download":
            return self._download()
        parts = path.split("/")  # /3/drive/{drive}/files/{id}[/files]
        if len(parts) >= 6 and parts[:4] == ["", "3", "drive", str(DRIVE)] and parts[5].isdigit():
            folder = int(parts[5])
            listing = len(parts) == 7 and parts[6] == "files"
            if folder == 1 and listing:
                return self._answer(200, recorded("deep_root_files.json"))
            if 101 <= folder <= 108 and (listing or len(parts) == 6):
                name = f"deep_level{folder - 100}{'_files' if listing else ''}.json"
                return self._answer(200, recorded(name))
        return self._error(404, "object_not_found", "Object not found")

    def _download(self) -> None:
        # kDrive names a file twice: an ASCII fallback, then the exact name (RFC 6266).
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(NOTES)))
        self.send_header("Content-Disposition", DISPOSITION)
        self.end_headers()
        self.wfile.write(NOTES)

    def _mail(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/api/mailbox":
            return self._answer(200, recorded("mailboxes.json"))
        if path == f"/api/mail/{MAILBOX}/folder":
            return self._answer(200, recorded("folders.json"))
        if path == f"/api/mail/{MAILBOX}/folder/{ARCHIVE}/message":
            offset = int(query.get("offset", ["0"])[0])
            if offset in ARCHIVE_PAGES:  # two threads a page, whatever limit asked for
                return self._answer(200, recorded(ARCHIVE_PAGES[offset]))
            return self._error(400, "validation_failed", "offset")
        return self._error(404, "folder__not_exists", "Folder does not exist")


@contextmanager
def running() -> Iterator[Infomaniak]:
    """Serve a fresh :class:`Infomaniak` on 127.0.0.1 (a free port) for the ``with`` block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Infomaniak(url=f"http://127.0.0.1:{server.server_port}")
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="local-infomaniak", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
