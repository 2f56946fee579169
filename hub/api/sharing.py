"""Per-integration routes beyond the resource itself: its connection, shares and icon."""

from __future__ import annotations

from typing import Literal

import pydantic
from flask import Blueprint, Response, current_app, jsonify, request

from hub import access, connections, integrations, sharing
from hub.api.validation import ApiModel, body
from hub.auth import current, signed_in
from hub.errors import NotFound
from hub.icons import icon_response, sniff_icon
from hub.models import Share
from hub.plugins import PluginRegistry
from hub.scopes import needs

Secret = pydantic.Field(default=None, min_length=1, max_length=8000)


class CredentialsPost(ApiModel):
    """Credentials typed in by hand; which fields apply depends on the integration's authType."""

    access_token: str | None = Secret
    refresh_token: str | None = Secret
    expires_in: int | None = pydantic.Field(default=None, ge=1, le=10 * 365 * 86400)
    token_type: str | None = pydantic.Field(default=None, max_length=40)
    scope: str | None = pydantic.Field(default=None, max_length=2000)
    api_key: str | None = Secret
    username: str | None = pydantic.Field(default=None, min_length=1, max_length=1000)
    password: str | None = Secret
    token: str | None = Secret


class SharePut(ApiModel):
    access: Literal["use", "edit", "manage"]


def register(api: Blueprint) -> None:
    # -- connection -----------------------------------------------------------------------

    @api.get("/integrations/<ref>/connection")
    @needs("integrations:read")
    @signed_in
    def get_connection(ref: str) -> Response:
        """The status of the connection you use (yours, or the shared one); no secrets."""
        user = current()
        integration, _ = access.find(user, ref)
        connection = connections.connection_for(integration, user)
        return jsonify(connections.describe(integration, connection))

    @api.post("/integrations/<ref>/connection")
    @needs("connections:write")
    @signed_in
    @body(CredentialsPost)
    def post_connection(ref: str, payload: CredentialsPost) -> Response:
        """Store credentials by hand: an API key, basic, bearer, or an OAuth access token."""
        user = current()
        integration, level = access.find(user, ref)
        values = payload.model_dump(by_alias=True, exclude_none=True)
        connection = connections.set_credentials(integration, user, level, values)
        return jsonify(connections.describe(integration, connection))

    @api.delete("/integrations/<ref>/connection")
    @needs("connections:write")
    @signed_in
    def delete_connection(ref: str) -> tuple[str, int]:
        """Disconnect: remove your connection (or the shared one, with manage access)."""
        user = current()
        integration, level = access.find(user, ref)
        connections.disconnect(integration, user, level)
        return "", 204

    # -- shares ---------------------------------------------------------------------------

    @api.get("/integrations/<ref>/shares")
    @needs("integrations:read")
    @signed_in
    def list_shares(ref: str) -> Response:
        """Who the integration is shared with, and how."""
        integration, _ = access.find(current(), ref)
        rows = sharing.shares_of(integration)
        return jsonify({"items": [_share(row) for row in rows], "nextCursor": None})

    @api.put("/integrations/<ref>/shares/<principal>")
    @needs("integrations:write")
    @signed_in
    @body(SharePut)
    def put_share(ref: str, principal: str, payload: SharePut) -> Response:
        """Share with a user or team at ``use``, ``edit`` or ``manage`` (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        target = sharing.principal_named(principal)
        return jsonify(_share(sharing.set_share(user, integration, target, payload.access)))

    @api.delete("/integrations/<ref>/shares/<principal>")
    @needs("integrations:write")
    @signed_in
    def delete_share(ref: str, principal: str) -> tuple[str, int]:
        """Stop sharing with a user or team (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        sharing.remove_share(user, integration, sharing.principal_named(principal))
        return "", 204

    # -- icon -----------------------------------------------------------------------------

    @api.get("/integrations/<ref>/icon")
    @needs("integrations:read")
    @signed_in
    def get_icon(ref: str) -> Response:
        """The integration's icon, or its provider's default."""
        integration, _ = access.find(current(), ref)
        if integration.icon is not None:
            return icon_response(bytes(integration.icon), integration.icon_type)
        provider = _registry().provider(integration.provider)
        if provider is None or provider.icon is None:
            raise NotFound("this integration has no icon")
        return icon_response(provider.icon.data, provider.icon.media_type)

    @api.put("/integrations/<ref>/icon")
    @needs("integrations:write")
    @signed_in
    def put_icon(ref: str) -> Response:
        """Upload an icon: PNG, JPEG or WebP, checked by content (edit access)."""
        user = current()
        integration, _ = access.find(user, ref, need="edit")
        upload = request.files.get("icon") or request.files.get("file")
        data = upload.read() if upload is not None else request.get_data()
        media_type = sniff_icon(data)
        integrations.store_icon(user, integration, data, media_type)
        return jsonify({"type": media_type, "size": len(data)})

    @api.delete("/integrations/<ref>/icon")
    @needs("integrations:write")
    @signed_in
    def delete_icon(ref: str) -> tuple[str, int]:
        """Go back to the provider's default icon (edit access)."""
        user = current()
        integration, _ = access.find(user, ref, need="edit")
        if integration.icon is None:
            raise NotFound("this integration has no uploaded icon")
        integrations.store_icon(user, integration, None, None)
        return "", 204


def _registry() -> PluginRegistry:
    return current_app.extensions["hub"].registry


def _share(row: Share) -> dict:
    return {
        "principal": row.principal.name,
        "principalType": row.principal.kind,
        "access": row.access,
    }
