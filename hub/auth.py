"""Who is calling: a browser session (flask-login) or an API token (``Authorization: Bearer``).

Browser requests that change state are CSRF-checked: HTML forms with Flask-WTF's token; JSON API
calls by refusing the body types an HTML form can send (unless an ``X-CSRFToken`` header comes
along) — everything else needs a CORS preflight, which the hub never grants — and by refusing a
foreign ``Origin``. Session cookies are ``SameSite=Lax`` on top.
Token-authenticated calls carry no ambient credentials and need no CSRF check.

A request that carries both a session cookie and ``Authorization: Bearer`` is the token's: an
explicit credential speaks for the request, not the cookie the browser adds to every request
(which is also why such calls skip the CSRF check). An invalid token is 401 even when the
cookie's session is valid — never a silent fall-back to the session's user.

The session cookie carries the key of a server-side session (:mod:`hub.sessions`); the flask-login
id *is* that key, so the session cookie and a "remember me" cookie (which the hub never sets)
both lead to a live session row or to nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError as CSRFTokenInvalid

from hub import accounts, scopes, sessions
from hub.errors import Forbidden, HubError, NotAuthenticated
from hub.models import User, UserSession

login_manager = LoginManager()
csrf = CSRFProtect()

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The body types a cross-site HTML form (or a "simple" request) can send.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})


class CSRFFailed(HubError):
    status = 403
    code = "csrf_failed"


class SessionUser:
    """The flask-login face of a :class:`User`. Signed in with a browser session it carries the
    session's key (``get_id``: what flask-login keeps in the cookie) and row; with an API token,
    neither."""

    def __init__(
        self,
        user: User,
        *,
        session_key: str | None = None,
        session: UserSession | None = None,
    ) -> None:
        self.user = user
        self.session_key = session_key
        self.session = session

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    def get_id(self) -> str | None:
        return self.session_key


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with nothing to verify when the request sends no cookie
    (an API call with a token): it gets the same new, empty session without the signer being
    set up and an absent header parsed, on every such request."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    app.before_request(_check_api_csrf)
    app.before_request(_check_token_scopes)


@login_manager.user_loader
def _load_session_user(session_key: str) -> SessionUser | None:
    if _bearer_credentials(request) is not None:
        # An explicit token speaks for the request, not the ambient cookie: the token's user,
        # or nobody when the token is not valid.
        return _load_token_user(request)
    record = sessions.find(session_key)
    if record is None:
        return None
    g.auth_method = "session"
    return SessionUser(record.user, session_key=session_key, session=record)


@login_manager.request_loader
def _load_token_user(req: Any) -> SessionUser | None:
    if "hub_token_user" in g:  # the session loader already checked this request's token
        return g.hub_token_user
    credentials = _bearer_credentials(req)
    found = accounts.user_for_token(credentials) if credentials else None
    loaded = None
    if found is None:
        g.bad_token = credentials is not None  # sent, but unknown, expired, revoked or empty
    else:
        user, token = found
        g.auth_method = "token"
        g.api_token = token
        loaded = SessionUser(user)
    g.hub_token_user = loaded
    return loaded


def _bearer_credentials(req: Any) -> str | None:
    """The credentials of an ``Authorization: Bearer`` header (empty when it has none); None
    without such a header. Whoever sends one has the token decide, and skips the CSRF check."""
    scheme, _, credentials = req.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    if wants_json():
        message = (
            "the API token is not valid"
            if g.get("bad_token")
            else "sign in or send an API token (Authorization: Bearer ...)"
        )
        raise NotAuthenticated(message)
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def current() -> User:
    """The calling user; raises 401 when nobody is signed in."""
    if not current_user.is_authenticated:
        _unauthorized()
    return current_user.user


def optional_current() -> User | None:
    return current_user.user if current_user.is_authenticated else None


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require a signed-in user (session or token)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current()
        return view(*args, **kwargs)

    return wrapper


def superuser_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current().is_superuser:
            raise Forbidden("only an administrator can do this")
        return view(*args, **kwargs)

    return wrapper


def _check_token_scopes() -> None:
    if _bearer_credentials(request) is not None and current_user.is_authenticated:
        scopes.enforce()


def _check_api_csrf() -> None:
    if not request.path.startswith("/api/") or request.method in SAFE_METHODS:
        return
    if _bearer_credentials(request) is not None:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and not _same_origin(origin):
        raise CSRFFailed(f"requests from {origin} are not accepted")
    if request.method != "POST" or request.mimetype not in FORM_TYPES:
        # An HTML form cannot send these (PUT/PATCH/DELETE, JSON; a cross-site script needs a
        # CORS preflight for them, which the hub never grants). A bodiless POST is left to the
        # Origin check above and the SameSite=Lax session cookie.
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except CSRFTokenInvalid as exc:
        raise CSRFFailed(
            "send a JSON body (Content-Type: application/json) or an X-CSRFToken header"
        ) from exc


def _same_origin(origin: str) -> bool:
    allowed = {_origin_of(current_app.config["PUBLIC_URL"]), _origin_of(request.host_url)}
    return _origin_of(origin) in allowed


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
