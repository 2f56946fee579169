"""Connecting and refreshing OAuth2 connections: ``/connect`` and ``/connection/refresh``."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, g, jsonify, redirect, request, session

from hub import access, authorize
from hub.auth import current, signed_in
from hub.connections import describe, refresh_now
from hub.db import isoformat
from hub.errors import NotFound
from hub.models import Integration
from hub.providers import Provider
from hub.scopes import needs

NONCE_KEY = "hub_oauth_nonce"


def session_nonce() -> str:
    """A random value kept in the browser's signed session: binds a flow to that browser."""
    if NONCE_KEY not in session:
        session[NONCE_KEY] = secrets.token_urlsafe(32)
    return session[NONCE_KEY]


def provider_of(integration: Integration) -> Provider:
    provider = current_app.extensions["hub"].registry.provider(integration.provider)
    if provider is None:
        raise NotFound(f"provider {integration.provider!r} of this integration is not installed")
    return provider


def register(api: Blueprint) -> None:
    @api.get("/integrations/<ref>/connect")
    @needs("connections:write")
    @signed_in
    def connect(ref: str) -> Response | tuple[Response, int]:
        """Start connecting: a browser is redirected to the provider; an API client gets a
        one-time ``connectUrl`` (10 minutes) for a browser signed in as the same user. An
        integration with a client-credentials grant is connected at once (200, the connection)."""
        user = current()
        integration, level = access.find(user, ref)
        if integration.grant_type == "client_credentials":
            # No browser in the loop: the token is fetched now; 200 with the connection.
            connection = authorize.connect_client(
                provider_of(integration), integration, user, level
            )
            return jsonify(describe(integration, connection)), 200
        return_to = request.args.get("returnTo")
        if g.get("auth_method") == "token":
            token, expires = authorize.create_link(
                provider_of(integration), integration, user, level, return_to
            )
            url = f"{current_app.config['PUBLIC_URL']}/oauth2/start?link={token}"
            return jsonify({"connectUrl": url, "expiresAt": isoformat(expires)}), 200
        url = authorize.start(
            provider_of(integration),
            integration,
            user,
            level,
            session_nonce=session_nonce(),
            return_to=return_to,
        )
        return redirect(url, code=302)

    @api.post("/integrations/<ref>/connection/refresh")
    @needs("connections:write")
    @signed_in
    def refresh_connection(ref: str) -> Response:
        """Refresh the access token now (unless another request just did)."""
        user = current()
        integration, level = access.find(user, ref)
        connection = refresh_now(provider_of(integration), integration, user, level)
        return jsonify(describe(integration, connection))
