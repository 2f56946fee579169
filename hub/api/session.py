"""Sign-in for API clients and the browser: ``/api/login``, ``/api/logout``, ``/api/me`` and the
caller's sessions (``/api/me/sessions``)."""

from __future__ import annotations

import pydantic
from flask import Blueprint, Response, current_app, g, jsonify, request, session
from flask_login import current_user, login_user, logout_user

from hub import accounts, sessions
from hub.api import render
from hub.api.validation import ApiModel, PageQuery, body, page, query
from hub.auth import SessionUser, current, signed_in
from hub.errors import NotAuthenticated
from hub.models import UserSession
from hub.scopes import ALL_RIGHTS, ANY_TOKEN, PUBLIC, needs

# Where flask-login keeps the id of the signed-in user: for the hub, the session's key.
SESSION_KEY = "_user_id"


class LoginRequest(ApiModel):
    username: str = pydantic.Field(min_length=1, max_length=255)
    password: str = pydantic.Field(min_length=1, max_length=accounts.MAX_PASSWORD_LENGTH)


def sign_in(username: str, password: str) -> accounts.User:
    """Check credentials (throttled) and start a browser session; used by the API and the page."""
    config = current_app.config
    user = accounts.authenticate(
        username,
        password,
        request.remote_addr or "unknown",
        max_failures=int(config["LOGIN_MAX_FAILURES"]),
        max_failures_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        window_seconds=int(config["LOGIN_WINDOW_SECONDS"]),
    )
    if user is None:
        raise NotAuthenticated("the username or password is wrong", code="invalid_credentials")
    sessions.end(session.get(SESSION_KEY))  # this browser's earlier session, if any
    session.clear()  # no fixation: a fresh session for the new identity
    key, record = sessions.start(user, request.user_agent.string)
    login_user(SessionUser(user, session_key=key, session=record))
    return user


def sign_out() -> None:
    """End this browser's session: its server-side row (so a saved copy of the cookie is refused
    too), then the cookie's contents. Other browsers of the same user stay signed in."""
    sessions.end(session.get(SESSION_KEY))
    logout_user()
    session.clear()


def sign_out_everywhere(user: accounts.User, actor: accounts.User) -> None:
    """End every session of ``user``; when that includes the caller's, clear its cookie too."""
    sessions.sign_out_everywhere(user, actor=actor)
    if g.get("auth_method") == "session" and actor.principal_id == user.principal_id:
        sign_out()


def register(api: Blueprint) -> None:
    @api.post("/login")
    @needs(PUBLIC)
    @body(LoginRequest)
    def login(payload: LoginRequest) -> Response:
        """Start a browser session."""
        user = sign_in(payload.username, payload.password)
        return jsonify(_me(user))

    @api.post("/logout")
    @needs(ANY_TOKEN)
    def logout() -> tuple[str, int]:
        """End the browser session."""
        sign_out()
        return "", 204

    @api.get("/me")
    @needs(ANY_TOKEN)
    @signed_in
    def me() -> Response:
        """The signed-in user, with their teams."""
        return jsonify(_me(current()))

    @api.get("/me/sessions")
    @needs(ALL_RIGHTS)
    @signed_in
    @query(PageQuery)
    def list_sessions(params: PageQuery) -> Response:
        """The caller's browser sessions, newest first (never their keys)."""
        this = getattr(current_user, "session", None)
        rows = sessions.live(current())
        return jsonify(
            page(rows, UserSession.id, params, lambda s: render.session(s, this), newest_first=True)
        )

    @api.delete("/me/sessions")
    @needs(ALL_RIGHTS)
    @signed_in
    def end_sessions() -> tuple[str, int]:
        """Sign out everywhere: end every browser session of the caller (tokens stay)."""
        user = current()
        sign_out_everywhere(user, actor=user)
        return "", 204


def _me(user: accounts.User) -> dict:
    data = render.user(user)
    data["teams"] = render.memberships_of(user)
    return data
