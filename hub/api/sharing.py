"""Per-integration routes beyond the resource itself: its connection, shares and icon."""

from __future__ import annotations

from typing import Literal

import pydantic
from flask import Blueprint, Response, current_app, jsonify, request

from hub import access, audit, connections
from hub.accounts import find_principal
from hub.api.validation import ApiModel, body
from hub.auth import current, signed_in
from hub.db import utcnow, write_transaction
from hub.errors import NotFound, ValidationError
from hub.icons import icon_response, sniff_icon
from hub.models import Integration, Principal, Share, User
from hub.plugins import PluginRegistry

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
    @signed_in
    def get_connection(ref: str) -> Response:
        """The status of the connection you use (yours, or the shared one); no secrets."""
        user = current()
        integration, _ = access.find(user, ref)
        connection = connections.connection_for(integration, user)
        return jsonify(connections.describe(integration, connection))

    @api.post("/integrations/<ref>/connection")
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
    @signed_in
    def delete_connection(ref: str) -> tuple[str, int]:
        """Disconnect: remove your connection (or the shared one, with manage access)."""
        user = current()
        integration, level = access.find(user, ref)
        connections.disconnect(integration, user, level)
        return "", 204

    # -- shares ---------------------------------------------------------------------------

    @api.get("/integrations/<ref>/shares")
    @signed_in
    def list_shares(ref: str) -> Response:
        """Who the integration is shared with, and how."""
        integration, _ = access.find(current(), ref)
        rows = (
            Share.select(Share, Principal)
            .join(Principal)
            .where(Share.integration == integration)
            .order_by(Principal.name)
        )
        return jsonify({"items": [_share(row) for row in rows], "nextCursor": None})

    @api.put("/integrations/<ref>/shares/<principal>")
    @signed_in
    @body(SharePut)
    def put_share(ref: str, principal: str, payload: SharePut) -> Response:
        """Share with a user or team at ``use``, ``edit`` or ``manage`` (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        target = _principal(principal)
        if target.id == integration.owner_id:
            raise ValidationError(
                "the owner already has manage access", fields={"principal": "is the owner"}
            )
        with write_transaction():
            share = Share.get_or_none(integration=integration, principal=target)
            before = share.access if share else None
            if share is None:
                share = Share.create(
                    integration=integration, principal=target, access=payload.access
                )
            else:
                share.access = payload.access
                share.save()
            audit.record(
                "share.set",
                actor=user.principal_id,
                target_type=target.kind,
                target_id=target.name,
                integration=integration,
                details={"access": payload.access, "before": before},
            )
        share.principal = target
        return jsonify(_share(share))

    @api.delete("/integrations/<ref>/shares/<principal>")
    @signed_in
    def delete_share(ref: str, principal: str) -> tuple[str, int]:
        """Stop sharing with a user or team (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        target = _principal(principal)
        with write_transaction():
            deleted = (
                Share.delete()
                .where(Share.integration == integration, Share.principal == target)
                .execute()
            )
            if not deleted:
                raise NotFound(f"the integration is not shared with {principal!r}")
            audit.record(
                "share.delete",
                actor=user.principal_id,
                target_type=target.kind,
                target_id=target.name,
                integration=integration,
            )
        return "", 204

    # -- icon -----------------------------------------------------------------------------

    @api.get("/integrations/<ref>/icon")
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
    @signed_in
    def put_icon(ref: str) -> Response:
        """Upload an icon: PNG, JPEG or WebP, checked by content (edit access)."""
        user = current()
        integration, _ = access.find(user, ref, need="edit")
        upload = request.files.get("icon") or request.files.get("file")
        data = upload.read() if upload is not None else request.get_data()
        media_type = sniff_icon(data)
        _store_icon(user, integration, data, media_type)
        return jsonify({"type": media_type, "size": len(data)})

    @api.delete("/integrations/<ref>/icon")
    @signed_in
    def delete_icon(ref: str) -> tuple[str, int]:
        """Go back to the provider's default icon (edit access)."""
        user = current()
        integration, _ = access.find(user, ref, need="edit")
        if integration.icon is None:
            raise NotFound("this integration has no uploaded icon")
        _store_icon(user, integration, None, None)
        return "", 204


def _store_icon(
    user: User, integration: Integration, data: bytes | None, media_type: str | None
) -> None:
    """Set (or, with ``None``, remove) the uploaded icon, audited in the same transaction."""
    details = {"type": media_type, "bytes": len(data)} if data is not None else {}
    with write_transaction():
        Integration.update(icon=data, icon_type=media_type, updated_at=utcnow()).where(
            Integration.id == integration.id
        ).execute()
        audit.record(
            "integration.icon.set" if data is not None else "integration.icon.delete",
            actor=user.principal_id,
            target_type="integration",
            target_id=integration.id,
            integration=integration,
            details=details,
        )


def _registry() -> PluginRegistry:
    return current_app.extensions["hub"].registry


def _principal(name: str) -> Principal:
    target = find_principal(name)
    if target is None:
        raise NotFound(f"no user or team named {name!r}")
    return target


def _share(row: Share) -> dict:
    return {
        "principal": row.principal.name,
        "principalType": row.principal.kind,
        "access": row.access,
    }
