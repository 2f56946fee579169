"""The Demo server: a small, real OAuth2 authorization server and file API, for trying the hub.

It is a separate Flask app from the hub (``hub demo-server`` runs it on a loopback port). It knows
one client (:data:`CLIENT_ID` / :data:`CLIENT_SECRET`, a published demo credential) and one user,
asks for consent on an HTML page, requires PKCE (S256), issues short-lived access tokens
(``HUB_DEMO_TOKEN_LIFETIME`` seconds, default 3600) and rotating refresh tokens, revokes grants,
and serves a few folders and files generated in memory.

All state (codes, tokens, grants) lives in memory and is lost when the server stops: that is fine
for a demo, and one reason this must never stand in for a real provider.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, jsonify, redirect, request

CLIENT_ID = "hub-demo"
CLIENT_SECRET = "demo-secret"  # a published demo credential, not a secret
DEFAULT_TOKEN_LIFETIME = 3600
REFRESH_LIFETIME = 30 * 24 * 3600
CODE_LIFETIME = 120
CONSENT_LIFETIME = 600
USER = {"sub": "demo-user", "email": "demo@example.invalid", "name": "Demo User"}
SCOPES = ("profile", "files")
MTIME = 1767225600  # 2026-01-01T00:00:00Z: the demo's files never change
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


# -- the files ---------------------------------------------------------------------------------


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A real (tiny, one-colour) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(colour) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _report() -> bytes:
    lines = ["month,visitors,downloads"]
    lines += [f"2026-{month:02d},{1000 + month * 37},{200 + month * 11}" for month in range(1, 13)]
    return ("\r\n".join(lines) + "\r\n").encode()


WELCOME = (
    b"Welcome to the Integration Hub demo!\n\n"
    b"These files come from the Demo server on your own computer (hub demo-server).\n"
    b"Nothing here is real, and nothing leaves your machine.\n"
)

# id -> (name, content or None for a folder, media type)
FILES: dict[str, tuple[str, bytes | None, str]] = {
    "Welcome.txt": ("Welcome.txt", WELCOME, "text/plain; charset=utf-8"),
    "Photos": ("Photos", None, ""),
    "Photos/sunset.png": ("sunset.png", _png(64, 48, (240, 120, 40)), "image/png"),
    "Photos/sea.png": ("sea.png", _png(48, 48, (30, 110, 200)), "image/png"),
    "Photos/forest.png": ("forest.png", _png(32, 64, (40, 140, 60)), "image/png"),
    "Reports": ("Reports", None, ""),
    "Reports/2026": ("2026", None, ""),
    "Reports/2026/report.csv": ("report.csv", _report(), "text/csv"),
    "Reports/notes.md": (
        "notes.md",
        b"# Notes\n\nThe yearly reports live in folders.\n",
        "text/markdown",
    ),
}


def children(parent: str) -> list[str]:
    """The ids directly under ``parent`` ("" for the top level), folders first, by name."""
    prefix = f"{parent}/" if parent else ""
    found = [
        key
        for key in FILES
        if key.startswith(prefix) and "/" not in key[len(prefix) :] and key != parent
    ]
    return sorted(found, key=lambda key: (FILES[key][1] is not None, FILES[key][0].lower()))


# -- OAuth state -------------------------------------------------------------------------------


@dataclass
class Grant:
    """What one consent granted; every token issued under it goes when it is revoked."""

    scope: str
    id: str = field(default_factory=lambda: secrets.token_urlsafe(8))


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    expires: float
    used: bool = False


@dataclass
class Token:
    grant: Grant
    expires: float


class State:
    """Everything the server remembers, in memory, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.consents: dict[str, tuple[dict[str, str], float]] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        self.revoked: set[str] = set()  # grant ids

    def issue(self, grant: Grant, lifetime: int) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        self.access[access] = Token(grant, now + lifetime)
        self.refresh[refresh] = Token(grant, now + REFRESH_LIFETIME)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "refresh_token": refresh,
            "scope": grant.scope,
        }

    def revoke_grant(self, grant: Grant) -> None:
        self.revoked.add(grant.id)
        for table in (self.access, self.refresh):
            for key in [k for k, t in table.items() if t.grant.id == grant.id]:
                del table[key]

    def revoke_all(self) -> int:
        grants = {t.grant.id: t.grant for t in [*self.access.values(), *self.refresh.values()]}
        for grant in grants.values():
            self.revoke_grant(grant)
        return len(grants)


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_lifetime() -> int:
    """``HUB_DEMO_TOKEN_LIFETIME`` (seconds), default 3600."""
    value = os.environ.get("HUB_DEMO_TOKEN_LIFETIME", "")
    try:
        seconds = int(value)
    except ValueError:
        return DEFAULT_TOKEN_LIFETIME
    return seconds if seconds > 0 else DEFAULT_TOKEN_LIFETIME


# -- pages -------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
.banner{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem;border-radius:.4rem}
button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem;border-radius:.4rem;cursor:pointer}
button.allow{background:#6b46c1;color:#fff;border:1px solid #6b46c1}
button.deny{background:#fff;border:1px solid #888}
code{background:#f2f2f2;padding:0 .2rem}
"""


def page(title: str, body: str, status: int = 200) -> Response:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Demo</title><style>{STYLE}</style></head><body>"
        '<p class="banner" role="note"><strong>Demo</strong> — a local test server for trying '
        "Integration Hub. Not a real provider; nothing here is real.</p>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    response = Response(document, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(redirect_uri: str, **params: str) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return redirect(redirect_uri + joiner + urlencode(params), code=302)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the app -----------------------------------------------------------------------------------


def create_app(lifetime: int | None = None) -> Flask:
    """The Demo server. ``lifetime`` overrides ``HUB_DEMO_TOKEN_LIFETIME`` (seconds)."""
    app = Flask("hub_demo.server")
    state = State()
    seconds = lifetime if lifetime is not None else token_lifetime()
    app.extensions["hub_demo"] = state

    @app.get("/")
    def index() -> Response:
        return page(
            "Demo server",
            "<p>This server plays an OAuth2 provider with a few files for Integration Hub.</p>"
            f"<p>Client id <code>{CLIENT_ID}</code>, client secret <code>{CLIENT_SECRET}</code> "
            "(demo credentials). Access tokens last "
            f"{seconds} seconds.</p>"
            '<form method="post" action="/demo/revoke-all">'
            '<button class="deny" type="submit">Revoke every grant</button></form>',
        )

    @app.post("/demo/revoke-all")
    def revoke_all() -> Response:
        """End every grant (to see how the hub asks for re-authorisation)."""
        with state.lock:
            count = state.revoke_all()
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify({"revoked": count})
        return page("Grants revoked", f"<p>{count} grant(s) revoked.</p>")

    @app.get("/authorize")
    def authorize() -> Response:
        params = {k: v for k, v in request.args.items()}
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != CLIENT_ID:
            return page("Unknown application", "<p>The client id is not known here.</p>", 400)
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return page("Invalid redirect", "<p>The redirect URI is not usable.</p>", 400)
        state_param = params.get("state", "")
        extra = {"state": state_param} if state_param else {}
        if params.get("response_type") != "code":
            return _back(redirect_uri, error="unsupported_response_type", **extra)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return _back(
                redirect_uri,
                error="invalid_request",
                error_description="PKCE with code_challenge_method=S256 is required",
                **extra,
            )
        asked = params.get("scope", " ".join(SCOPES)).split()
        unknown = [s for s in asked if s not in SCOPES]
        if unknown:
            return _back(redirect_uri, error="invalid_scope", **extra)
        params["scope"] = " ".join(asked) or " ".join(SCOPES)
        consent = secrets.token_urlsafe(24)
        with state.lock:
            now = time.time()
            for key in [k for k, (_, t) in state.consents.items() if t < now]:
                del state.consents[key]
            state.consents[consent] = (params, now + CONSENT_LIFETIME)
        scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in asked)
        return page(
            "Allow access?",
            f"<p><strong>Integration Hub</strong> asks to use your Demo account "
            f"<strong>{html.escape(USER['email'])}</strong> with these permissions:</p>"
            f"<ul>{scopes}</ul>"
            f"<p>You will return to <code>{html.escape(parts.scheme)}://"
            f"{html.escape(parts.netloc)}</code>.</p>"
            '<form method="post" action="/authorize">'
            f'<input type="hidden" name="consent" value="{consent}">'
            '<button class="allow" type="submit" name="decision" value="allow">Allow</button>'
            '<button class="deny" type="submit" name="decision" value="deny">Deny</button>'
            "</form>",
        )

    @app.post("/authorize")
    def decide() -> Response:
        with state.lock:
            entry = state.consents.pop(request.form.get("consent", ""), None)
        if entry is None or entry[1] < time.time():
            return page("Request expired", "<p>Start again from Integration Hub.</p>", 400)
        params = entry[0]
        extra = {"state": params["state"]} if params.get("state") else {}
        if request.form.get("decision") != "allow":
            return _back(params["redirect_uri"], error="access_denied", **extra)
        code = secrets.token_urlsafe(32)
        with state.lock:
            state.codes[code] = Code(
                grant=Grant(scope=params["scope"]),
                redirect_uri=params["redirect_uri"],
                challenge=params["code_challenge"],
                expires=time.time() + CODE_LIFETIME,
            )
        return _back(params["redirect_uri"], code=code, **extra)

    def client_ok() -> bool:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret", "")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username or ""
            secret = request.authorization.password or ""
        return secrets.compare_digest(client_id, CLIENT_ID) and secrets.compare_digest(
            secret, CLIENT_SECRET
        )

    @app.post("/token")
    def token() -> Response:
        if not client_ok():
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        grant_type = request.form.get("grant_type")
        with state.lock:
            if grant_type == "authorization_code":
                return _exchange_code(state, seconds)
            if grant_type == "refresh_token":
                return _refresh(state, seconds)
        return _oauth_error("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    @app.post("/revoke")
    def revoke() -> Response:
        if not client_ok():
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        value = request.form.get("token", "")
        with state.lock:
            found = state.access.get(value) or state.refresh.get(value)
            if found is not None:
                state.revoke_grant(found.grant)
        return Response("", status=200)  # RFC 7009: unknown tokens are not an error

    def bearer() -> Token:
        auth = request.headers.get("Authorization", "")
        value = auth[7:] if auth[:7].lower() == "bearer " else ""
        with state.lock:
            found = state.access.get(value)
        if found is None or found.expires < time.time():
            response = jsonify({"error": "invalid_token"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            abort(response)
        return found

    @app.get("/userinfo")
    def userinfo() -> Response:
        bearer()
        return jsonify(USER)

    @app.get("/api/list")
    def listing() -> Response:
        bearer()
        parent = request.args.get("parent", "")
        parent = "" if parent in ("", "root") else parent
        if parent and (parent not in FILES or FILES[parent][1] is not None):
            return _oauth_error("not_found", "no such folder", 404)
        try:
            start = int(request.args.get("cursor") or 0)
            limit = max(1, min(int(request.args.get("limit") or 50), 1000))
        except ValueError:
            return _oauth_error("invalid_request", "cursor and limit are numbers")
        ids = children(parent)
        entries = [_entry(key) for key in ids[start : start + limit]]
        more = start + limit < len(ids)
        path = []
        if parent:
            pieces = parent.split("/")
            path = [
                {"id": "/".join(pieces[: i + 1]), "name": pieces[i]} for i in range(len(pieces))
            ]
        return jsonify(
            {"entries": entries, "next": str(start + limit) if more else None, "path": path}
        )

    @app.get("/api/search")
    def search() -> Response:
        """Files and folders whose name holds ``q``, as typed (no syntax), case-insensitively."""
        bearer()
        wanted = request.args.get("q", "").casefold()
        if not wanted.strip():
            return _oauth_error("invalid_request", "q is required")
        matches = sorted(
            (key for key in FILES if wanted in FILES[key][0].casefold()),
            key=lambda key: (FILES[key][0].lower(), key),
        )
        return _paged([_entry(key, with_parent=True) for key in matches])

    @app.get("/api/recent")
    def recent() -> Response:
        """Every file, newest first (the demo's files are all as old: by name)."""
        bearer()
        files = sorted((k for k in FILES if FILES[k][1] is not None), key=str.lower)
        return _paged([_entry(key, with_parent=True) for key in files])

    @app.get("/api/thumbnail/<path:item_id>")
    def thumbnail(item_id: str) -> Response:
        """A small image of an image file (the demo's pictures are small already)."""
        bearer()
        found = FILES.get(item_id)
        if found is None or found[1] is None:
            return _oauth_error("not_found", "no such file", 404)
        if not found[2].startswith("image/"):
            return _oauth_error("not_an_image", "only pictures have thumbnails", 404)
        return Response(found[1], mimetype=found[2])

    @app.get("/api/content/<path:item_id>")
    def content(item_id: str) -> Response:
        bearer()
        found = FILES.get(item_id)
        if found is None or found[1] is None:
            return _oauth_error("not_found", "no such file", 404)
        _name, data, media_type = found
        return _ranged(data, media_type, request.headers.get("Range"))

    return app


def _entry(key: str, *, with_parent: bool = False) -> dict[str, Any]:
    name, data, media_type = FILES[key]
    entry: dict[str, Any] = {"id": key, "name": name, "mtime": MTIME}
    if data is None:
        entry["dir"] = True
    else:
        entry.update(size=len(data), type=media_type)
    if with_parent:
        folder = key.rpartition("/")[0]
        entry["parent"] = {"id": folder, "name": FILES[folder][0] if folder else "Files"}
    return entry


def _paged(entries: list[dict[str, Any]]) -> Response:
    """One page of ``entries`` by the request's ``cursor`` (an offset) and ``limit``."""
    try:
        start = int(request.args.get("cursor") or 0)
        limit = max(1, min(int(request.args.get("limit") or 50), 1000))
    except ValueError:
        return _oauth_error("invalid_request", "cursor and limit are numbers")
    more = start + limit < len(entries)
    return jsonify(
        {"entries": entries[start : start + limit], "next": str(start + limit) if more else None}
    )


def _exchange_code(state: State, seconds: int) -> Response:
    code = state.codes.get(request.form.get("code", ""))
    if code is None or code.expires < time.time():
        return _oauth_error("invalid_grant", "the code is unknown or expired")
    if code.used:
        # RFC 6749 4.1.2: a code used twice ends what it granted.
        state.revoke_grant(code.grant)
        return _oauth_error("invalid_grant", "the code was already used")
    code.used = True
    if request.form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error("invalid_grant", "redirect_uri does not match the authorization")
    verifier = request.form.get("code_verifier", "")
    if not _VERIFIER.match(verifier) or not secrets.compare_digest(s256(verifier), code.challenge):
        return _oauth_error("invalid_grant", "the code_verifier does not match the challenge")
    return _no_store(state.issue(code.grant, seconds))


def _refresh(state: State, seconds: int) -> Response:
    value = request.form.get("refresh_token", "")
    found = state.refresh.pop(value, None)  # rotation: a refresh token works once
    if found is None or found.expires < time.time() or found.grant.id in state.revoked:
        return _oauth_error("invalid_grant", "the refresh token is unknown, used or revoked")
    return _no_store(state.issue(found.grant, seconds))


def _no_store(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _ranged(data: bytes, media_type: str, header: str | None) -> Response:
    size = len(data)
    base = {"Accept-Ranges": "bytes", "Cache-Control": "no-store"}
    match = _RANGE.match(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return Response(data, status=200, mimetype=media_type, headers=base)
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size or end < start:
        headers = {**base, "Content-Range": f"bytes */{size}"}
        return Response(b"", status=416, headers=headers)
    headers = {**base, "Content-Range": f"bytes {start}-{end}/{size}"}
    return Response(data[start : end + 1], status=206, mimetype=media_type, headers=headers)


def run(port: int, *, serve: Callable[..., Any] | None = None) -> None:
    """Serve the Demo server on 127.0.0.1:``port`` with werkzeug's threaded server."""
    (serve or _serve_quietly)("127.0.0.1", port, create_app(), threaded=True)


def _serve_quietly(host: str, port: int, app: Flask, threaded: bool) -> None:
    """werkzeug's server without ``run_simple``'s development-server banner (the demo is not the
    hub, which ``hub serve`` runs under gunicorn), stopping quietly on Ctrl-C."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=threaded)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
