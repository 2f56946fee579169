"""Connections: the credentials of one holder (a user, or everyone for ``shared``) for one
integration, their status, and setting them by hand (API keys, basic, bearer, dev-mode tokens)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import peewee
from flask import current_app

from hub import audit, oauth, webhooks
from hub.access import RANK
from hub.db import Prepared, database, instance, isoformat, utcnow, write_transaction
from hub.errors import Forbidden, HubError, NotFound, ValidationError
from hub.events import notify
from hub.models import Connection, Integration, User
from hub.providers import Provider
from hub.tokens import ensure_fresh

SHARED = "shared"
log = logging.getLogger(__name__)

# The credential fields each auth type takes, and which of them are required.
CREDENTIAL_FIELDS: dict[str, dict[str, bool]] = {
    "oauth2": {
        "accessToken": True,
        "refreshToken": False,
        "expiresIn": False,
        "tokenType": False,
        "scope": False,
    },
    "apikey": {"apiKey": True},
    "basic": {"username": True, "password": True},
    "bearer": {"token": True},
}


def holder_for(integration: Integration, user: User) -> str:
    return SHARED if integration.connection_mode == "shared" else f"user:{user.principal_id}"


_CONNECTION = Prepared(
    lambda integration, holder: (
        Connection.select()
        .where(Connection.integration == integration, Connection.holder == holder)
        .limit(1)
    ),
    parameters=2,
)


def connection_for(integration: Integration, user: User) -> Connection | None:
    """The connection the caller uses: their own (per-user) or the shared one (a prepared
    statement: every data-path request asks)."""
    rows = _CONNECTION.rows(integration.id, holder_for(integration, user))
    if not rows:
        return None
    connection = instance(Connection, rows[0])
    connection.__rel__["integration"] = integration
    return connection


def require_holder_access(integration: Integration, level: str) -> None:
    """Changing the shared connection needs ``manage``; one's own per-user connection ``use``."""
    if integration.connection_mode == "shared" and RANK[level] < RANK["manage"]:
        raise Forbidden("only those with manage access can change the shared connection")


def check_credentials(auth_type: str, values: dict[str, Any], prefix: str = "") -> None:
    """The credential fields ``auth_type`` takes, all required ones present, nothing else."""
    fields = CREDENTIAL_FIELDS[auth_type]
    problems = {
        f"{prefix}{name}": "required"
        for name, required in fields.items()
        if required and not values.get(name)
    }
    problems.update(
        {
            f"{prefix}{name}": f"not used with authType {auth_type}"
            for name in values
            if name not in fields
        }
    )
    if problems:
        raise ValidationError(f"these credentials do not fit authType {auth_type}", fields=problems)


def holder_connection(integration: Integration, user: User, holder: str) -> Connection:
    """The holder's connection row, created if missing (inside the caller's transaction)."""
    connection = Connection.get_or_none(
        Connection.integration == integration, Connection.holder == holder
    )
    if connection is not None:
        return connection
    try:
        with database.atomic():  # a savepoint: losing the race must not abort the transaction
            return Connection.create(
                integration=integration, user=None if holder == SHARED else user, holder=holder
            )
    except peewee.IntegrityError:
        return Connection.get(Connection.integration == integration, Connection.holder == holder)


def set_credentials(
    integration: Integration, user: User, level: str, values: dict[str, Any]
) -> Connection:
    """Store credentials typed in by hand; the connection becomes ``connected``."""
    require_holder_access(integration, level)
    check_credentials(integration.auth_type, values)
    holder = holder_for(integration, user)
    now = utcnow()
    with write_transaction():
        connection = holder_connection(integration, user, holder)
        _clear(connection)
        if integration.auth_type == "oauth2":
            connection.set_secret("access_token", values["accessToken"])
            connection.set_secret("refresh_token", values.get("refreshToken"))
            connection.token_type = values.get("tokenType") or "Bearer"
            connection.scope = values.get("scope")
            if values.get("expiresIn"):
                connection.expires_at = now + dt.timedelta(seconds=int(values["expiresIn"]))
        else:
            connection.set_secret("credentials", json.dumps(values))
        connection.status = "connected"
        connection.updated_at = connection.last_refreshed_at = now
        connection.save()
        audit.record(
            "connection.set",
            actor=user.principal_id,
            target_type="connection",
            target_id=connection.id,
            integration=integration,
            details={"holder": holder, "authType": integration.auth_type},
        )
        webhooks.connection_event("connection.connected", integration, connection)
    notify("hub_connection_connected", integration, connection, user)
    return connection


def refresh_now(provider: Provider, integration: Integration, user: User, level: str) -> Connection:
    """Refresh the caller's OAuth2 connection now (unless another request just did)."""
    if integration.auth_type != "oauth2":
        raise ValidationError(
            "only OAuth2 connections are refreshed", fields={"authType": integration.auth_type}
        )
    if integration.connection_mode == "shared":
        require_holder_access(integration, level)
    connection = connection_for(integration, user)
    if connection is None:
        raise NotFound("there is no connection to refresh: connect first")
    return ensure_fresh(provider, integration, connection, replace=True, actor=user)


def disconnect(integration: Integration, user: User, level: str) -> None:
    """Remove the caller's connection (or the shared one, with manage access)."""
    require_holder_access(integration, level)
    connection = connection_for(integration, user)
    if connection is None:
        raise NotFound("there is no connection to remove")
    revoked = revoke_at_provider(integration, connection)
    with write_transaction():
        connection.delete_instance()
        audit.record(
            "connection.delete",
            actor=user.principal_id,
            target_type="connection",
            target_id=connection.id,
            integration=integration,
            details={"holder": connection.holder, "revoked": revoked},
        )
        webhooks.connection_event("connection.disconnected", integration, connection, removed=True)
    notify("hub_connection_disconnected", integration, connection, user, removed=True)


def revoke_at_provider(integration: Integration, connection: Connection) -> bool:
    """Revoke an OAuth grant where the provider supports it; a failure does not keep anyone
    from disconnecting (the hub forgets the tokens either way), it is only logged."""
    if integration.auth_type != "oauth2":
        return False
    provider = current_app.extensions["hub"].registry.provider(integration.provider)
    if provider is None or provider.oauth2 is None:
        return False
    try:
        client = oauth.resolve(provider, integration)
        refresh_token = connection.get_secret("refresh_token")
        if client.settings.effective_revoke_auth != "bearer" and refresh_token is not None:
            # RFC 7009: revoking the refresh token ends the whole grant.
            return oauth.revoke(client, refresh_token, "refresh_token")
        # Revoking the access token ends its grant; as a bearer it must still be valid. An
        # expired one would be refused (Dropbox's last four hours) and the grant would outlive
        # the disconnect: it is refreshed first when due, and once more if it is refused.
        if refresh_token is not None:
            connection = ensure_fresh(provider, integration, connection)
        token = connection.get_secret("access_token")
        if token is None:
            return False
        if oauth.revoke(client, token, "access_token"):
            return True
        if refresh_token is None:
            return False
        connection = ensure_fresh(provider, integration, connection, replace=True, refused=True)
        token = connection.get_secret("access_token")
        return token is not None and oauth.revoke(client, token, "access_token")
    except HubError as exc:
        log.warning("revoking connection %s failed: %s", connection.id, exc.message)
        return False


def _clear(connection: Connection) -> None:
    for name in ("access_token", "refresh_token", "credentials"):
        connection.set_secret(name, None)
    connection.token_type = connection.scope = connection.expires_at = None
    connection.last_error = connection.retry_refresh_at = None
    connection.refresh_failures = 0


def status_of(connection: Connection | None) -> str:
    return "not_connected" if connection is None else connection.status


def describe(integration: Integration, connection: Connection | None) -> dict[str, Any]:
    """A connection as the API shows it: identity and status, never a credential."""
    data: dict[str, Any] = {
        "status": status_of(connection),
        "connectionMode": integration.connection_mode,
        "authType": integration.auth_type,
    }
    if connection is not None:
        data.update(
            holder="shared" if connection.holder == SHARED else "user",
            externalId=connection.external_id,
            email=connection.email,
            displayName=connection.display_name,
            scope=connection.scope,
            expiresAt=isoformat(connection.expires_at),
            hasRefreshToken=connection.refresh_token is not None,
            lastError=connection.last_error,
            lastRefreshedAt=isoformat(connection.last_refreshed_at),
            metadata=connection.metadata or {},
            connectedAt=isoformat(connection.created_at),
            updatedAt=isoformat(connection.updated_at),
        )
    return data
