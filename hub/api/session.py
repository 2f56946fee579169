"""Sign-in for API clients and the browser: ``/api/login``, ``/api/logout``, ``/api/me``."""

from __future__ import annotations

import pydantic
from flask import Blueprint, Response, current_app, jsonify, request, session
from flask_login import login_user, logout_user

from hub import accounts
from hub.api import render
from hub.api.validation import ApiModel, body
from hub.auth import SessionUser, current, signed_in
from hub.errors import NotAuthenticated


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
    session.clear()  # no fixation: a fresh session for the new identity
    login_user(SessionUser(user))
    return user


def register(api: Blueprint) -> None:
    @api.post("/login")
    @body(LoginRequest)
    def login(payload: LoginRequest) -> Response:
        """Start a browser session."""
        user = sign_in(payload.username, payload.password)
        return jsonify(_me(user))

    @api.post("/logout")
    def logout() -> tuple[str, int]:
        """End the browser session."""
        logout_user()
        session.clear()
        return "", 204

    @api.get("/me")
    @signed_in
    def me() -> Response:
        """The signed-in user, with their teams."""
        return jsonify(_me(current()))


def _me(user: accounts.User) -> dict:
    data = render.user(user)
    data["teams"] = render.memberships_of(user)
    return data
