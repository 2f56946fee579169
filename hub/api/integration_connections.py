"""``GET /api/integrations/{ref}/connections``: every connection of an integration, for those
who manage it (status and account only, never a credential)."""

from __future__ import annotations

from typing import Any, Literal

import peewee
from flask import Blueprint, Response, jsonify

from hub import access
from hub.api.validation import PageQuery, page, query
from hub.auth import current, signed_in
from hub.connections import SHARED
from hub.db import isoformat
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
