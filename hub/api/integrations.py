"""``/api/integrations``: create, list, read, change and delete integrations."""

from __future__ import annotations

from typing import Any, Literal

import peewee
import pydantic
from flask import Blueprint, Response, jsonify

from hub import access, integrations, scopes
from hub.api.validation import ApiModel, PageQuery, body, page, query
from hub.auth import current, signed_in
from hub.connections import holder_for
from hub.errors import Forbidden, ValidationError
from hub.models import Connection, Integration, Principal, User
from hub.scopes import needs

AuthType = Literal["oauth2", "apikey", "basic", "bearer"]
Mode = Literal["per-user", "shared"]
Status = Literal["not_connected", "connected", "needs_reauth", "error"]
Url = pydantic.Field(default=None, max_length=2048)


class IntegrationFields(ApiModel):
    """What a caller may write; secrets are write-only."""

    slug: str | None = pydantic.Field(default=None, max_length=63)
    provider: str = pydantic.Field(default="custom", max_length=64)
    auth_type: AuthType | None = None
    connection_mode: Mode = "per-user"
    owner_id: str | None = pydantic.Field(default=None, max_length=64)
    auth_uri: str | None = Url
    token_uri: str | None = Url
    client_id: str | None = pydantic.Field(default=None, max_length=2000)
    client_secret: str | None = pydantic.Field(default=None, max_length=4000)
    scope: str | None = pydantic.Field(default=None, max_length=2000)
    api_base_uri: str | None = Url
    headers: dict[str, str] = pydantic.Field(default_factory=dict)
    settings: dict[str, Any] = pydantic.Field(default_factory=dict)
    # Manage only: hand the connection's credentials to tokens with credentials:read.
    credentials_export: bool = False
    grant_type: Literal["authorization_code", "client_credentials"] = "authorization_code"


class IntegrationCreate(IntegrationFields):
    name: str = pydantic.Field(min_length=1, max_length=200)


class IntegrationPatch(IntegrationFields):
    name: str = pydantic.Field(default="", min_length=1, max_length=200)
    connection_mode: Mode = "per-user"
    provider: str = pydantic.Field(default="custom", max_length=64)


class IntegrationQuery(PageQuery):
    provider: str | None = None
    owner: str | None = None
    status: Status | None = None


def render_many(user: User, rows: list[Integration]) -> list[dict[str, Any]]:
    """Render a page of integrations with the caller's level and status, in three queries."""
    levels = access.levels_for(user, rows)
    holders = {row.id: holder_for(row, user) for row in rows}
    connections = {
        (c.integration_id, c.holder): c
        for c in Connection.select().where(
            Connection.integration.in_([row.id for row in rows]),
            Connection.holder.in_(set(holders.values()) or {""}),
        )
    }
    return [
        integrations.render(row, levels[row.id], connections.get((row.id, holders[row.id])))
        for row in rows
    ]


def render_one(user: User, integration: Integration) -> dict[str, Any]:
    return render_many(user, [integration])[0]


def register(api: Blueprint) -> None:
    @api.post("/integrations")
    @needs("integrations:write")
    @signed_in
    @body(IntegrationCreate)
    def create_integration(payload: IntegrationCreate) -> tuple[Response, int]:
        """Create an integration (owned by you, or by a team you belong to)."""
        user = current()
        if scopes.calling_integrations() is not None:
            raise Forbidden(
                "this API token is limited to some integrations: it cannot create integrations"
            )
        fields = payload.model_dump(exclude_unset=True)
        fields.setdefault("provider", "custom")
        fields.setdefault("connection_mode", "per-user")
        fields.setdefault("headers", {})
        fields.setdefault("settings", {})
        integration = integrations.create(user, fields)
        return jsonify(render_one(user, integration)), 201

    @api.get("/integrations")
    @needs("integrations:read")
    @signed_in
    @query(IntegrationQuery)
    def list_integrations(params: IntegrationQuery) -> Response:
        """The integrations you can see, filterable by provider, owner and status."""
        user = current()
        rows = access.visible(user)
        if params.provider:
            rows = rows.where(Integration.provider == params.provider)
        if params.owner:
            rows = rows.where(Principal.name == params.owner)
        if params.status:
            rows = _with_status(rows, user, params.status)
        return jsonify(
            page(
                rows,
                Integration.id,
                params,
                render=lambda row: render_one(user, row),
                render_all=lambda batch: render_many(user, batch),
            )
        )

    @api.get("/integrations/<ref>")
    @needs("integrations:read")
    @signed_in
    def get_integration(ref: str) -> Response:
        """One integration, by numeric id or natural id ``owner:slug``."""
        user = current()
        integration, _ = access.find(user, ref)
        return jsonify(render_one(user, integration))

    @api.patch("/integrations/<ref>")
    @needs("integrations:write")
    @signed_in
    @body(IntegrationPatch)
    def patch_integration(ref: str, payload: IntegrationPatch) -> Response:
        """Change an integration (edit access; moving it to another owner needs manage)."""
        user = current()
        integration, level = access.find(user, ref, need="edit")
        changes = payload.model_dump(exclude_unset=True)
        if not changes:
            raise ValidationError("nothing to change", fields={"body": "send at least one field"})
        integration = integrations.update(user, integration, level, changes)
        return jsonify(render_one(user, integration))

    @api.delete("/integrations/<ref>")
    @needs("integrations:write")
    @signed_in
    def delete_integration(ref: str) -> tuple[str, int]:
        """Delete an integration, its connections and shares (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        integrations.delete(user, integration)
        return "", 204


def _with_status(rows: peewee.ModelSelect, user: User, status: str) -> peewee.ModelSelect:
    """Keep integrations whose connection, as ``user`` sees it, has ``status``."""
    own = f"user:{user.principal_id}"
    holder = peewee.Case(None, [(Integration.connection_mode == "shared", "shared")], own)
    connected = Connection.select(Connection.integration).where(
        (Connection.integration == Integration.id)
        & (Connection.holder == holder)
        & (Connection.status == status)
    )
    if status == "not_connected":
        anything = Connection.select(Connection.integration).where(
            (Connection.integration == Integration.id) & (Connection.holder == holder)
        )
        return rows.where(~peewee.fn.EXISTS(anything) | peewee.fn.EXISTS(connected))
    return rows.where(peewee.fn.EXISTS(connected))
