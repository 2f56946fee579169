"""``GET /api/integrations/{ref}/connections``: every connection of an integration, for those
who manage it (status and account only, never a credential)."""

from __future__ import annotations

from typing import Any, Literal

import peewee
from flask import Blueprint, Response, jsonify

from hub import access, credential_export, metadata
from hub.api.connect import provider_of
from hub.api.validation import PageQuery, json_body, page, query
from hub.auth import current, signed_in
from hub.connections import SHARED, connection_for, require_holder_access
from hub.db import isoformat
from hub.errors import NotFound
from hub.models import Connection, Integration, Principal, User
from hub.scopes import needs

ConnectionStatus = Literal["not_connected", "connected", "needs_reauth", "error"]


class ConnectionsQuery(PageQuery):
    """``limit``, ``cursor`` and an optional ``status`` filter."""

    status: ConnectionStatus | None = None


def render_connection(row: Connection) -> dict[str, Any]:
    """One connection as the manager sees it: who holds it, its status and account; the
    columns holding tokens and credentials are never read."""
    user_name = row.user.principal.name if row.user_id is not None else None
    return {
        "id": row.id,
        "holder": SHARED if row.holder == SHARED else f"user:{user_name}",
        "user": user_name,
        "status": row.status,
        "account": {
            "externalId": row.external_id,
            "email": row.email,
            "displayName": row.display_name,
        },
        "lastRefreshedAt": isoformat(row.last_refreshed_at),
        "expiresAt": isoformat(row.expires_at),
        "lastError": row.last_error,
        "metadata": row.metadata or {},
        "connectedAt": isoformat(row.created_at),
        "updatedAt": isoformat(row.updated_at),
    }


# The columns read: never access_token, refresh_token nor credentials.
_COLUMNS = (
    Connection.id,
    Connection.integration,
    Connection.user,
    Connection.holder,
    Connection.status,
    Connection.external_id,
    Connection.email,
    Connection.display_name,
    Connection.expires_at,
    Connection.last_error,
    Connection.last_refreshed_at,
    Connection.metadata,
    Connection.created_at,
    Connection.updated_at,
)


def connections_page(integration: Integration, params: ConnectionsQuery) -> dict[str, Any]:
    """One page of the integration's connections, oldest first: ``{items, nextCursor}``."""
    rows = (
        Connection.select(*_COLUMNS, User.principal, Principal.name)
        .join(User, peewee.JOIN.LEFT_OUTER, on=(Connection.user == User.principal))
        .join(Principal, peewee.JOIN.LEFT_OUTER, on=(User.principal == Principal.id))
        .where(Connection.integration == integration)
    )
    if params.status is not None:
        rows = rows.where(Connection.status == params.status)
    return page(rows, Connection.id, params, render_connection)


def register(api: Blueprint) -> None:
    @api.get("/integrations/<ref>/connections")
    @needs("integrations:read")
    @signed_in
    @query(ConnectionsQuery)
    def list_integration_connections(ref: str, params: ConnectionsQuery) -> Response:
        """Every connection of the integration: holder, status, account, refresh and expiry
        times, last error; never a secret (manage access)."""
        integration, _ = access.find(current(), ref, need="manage")
        return jsonify(connections_page(integration, params))

    @api.get("/integrations/<ref>/connection/metadata")
    @needs("integrations:read")
    @signed_in
    def get_metadata(ref: str) -> Response:
        """Your connection's metadata (the shared one's, for a shared integration)."""
        user = current()
        integration, _ = access.find(user, ref)
        return jsonify(_own_connection(integration, user).metadata or {})

    @api.put("/integrations/<ref>/connection/metadata")
    @needs("connections:write")
    @signed_in
    def put_metadata(ref: str) -> Response:
        """Replace your connection's metadata with the JSON object sent (``{}`` clears it;
        the shared connection's needs manage access). At most 4 KiB and 4 levels deep."""
        user = current()
        integration, level = access.find(user, ref)
        require_holder_access(integration, level)
        connection = _own_connection(integration, user)
        updated = metadata.set_metadata(integration, connection, user, json_body())
        return jsonify(updated.metadata or {})

    @api.put("/integrations/<ref>/connections/<id:connection_id>/metadata")
    @needs("connections:write")
    @signed_in
    def put_connection_metadata(ref: str, connection_id: int) -> Response:
        """Replace the metadata of any connection of the integration (manage access)."""
        user = current()
        integration, _ = access.find(user, ref, need="manage")
        connection = Connection.get_or_none(
            Connection.id == connection_id, Connection.integration == integration
        )
        if connection is None:
            raise NotFound(f"integration {ref} has no connection {connection_id}")
        updated = metadata.set_metadata(integration, connection, user, json_body())
        return jsonify(updated.metadata or {})

    @api.get("/integrations/<ref>/connection/credentials")
    @needs("credentials:read")
    @signed_in
    def read_credentials(ref: str) -> Response:
        """Your connection's credentials, for a backend that calls the provider itself: a fresh
        access token with its type and expiry, or the stored API key, basic or bearer credential.
        Only where a manage user turned credential export on, only to an API token with the
        scope credentials:read; audited; never cached."""
        user = current()
        integration, level = access.find(user, ref)
        data = credential_export.export(provider_of(integration), integration, user, level)
        response = jsonify(data)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response


def _own_connection(integration: Integration, user: User) -> Connection:
    connection = connection_for(integration, user)
    if connection is None:
        raise NotFound(f"you have no connection to {integration.name}: connect first")
    return connection
