"""Outgoing webhooks: the outbox.

A change that others may want to learn about (a connection connected, refreshed or removed, an
integration created, changed or deleted, a share given, changed or removed) calls one of the
functions below beside its ``audit.record(...)``, inside the same database transaction. The event
is written to the outbox (:class:`~hub.models.WebhookEvent`) with one delivery row
(:class:`~hub.models.WebhookDelivery`) per active endpoint that asked for its type — the
integration's own endpoints and the hub-wide ones — so a change that rolls back emits nothing, a
change that commits always emits, and an endpoint added later never receives what happened
before it. When no endpoint wants an event, nothing is written.

The sender (:mod:`hub.webhook_sender`) delivers the rows. Events that share an *ordering key* —
those of one connection (its integration and holder), or those of one integration's settings
and shares — reach each endpoint in the order they were written.

Payloads hold identities and status, never a secret: no token, credential or client secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.db import isoformat, utcnow
from hub.models import (
    Connection,
    Integration,
    Principal,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

CONNECTION_EVENTS = (
    "connection.connected",
    "connection.refreshed",
    "connection.refresh_failed",
    "connection.needs_reauth",
    "connection.disconnected",
)
INTEGRATION_EVENTS = ("integration.created", "integration.updated", "integration.deleted")
SHARE_EVENTS = ("share.granted", "share.changed", "share.removed")
#: What an endpoint can ask for. ``ping`` is sent only by a test (``POST .../test``).
EVENT_TYPES = (*CONNECTION_EVENTS, *INTEGRATION_EVENTS, *SHARE_EVENTS)
PING = "ping"

#: How long an event is tried before its delivery is marked failed.
DELIVERY_WINDOW = dt.timedelta(hours=24)


def add(
    event_type: str,
    integration: Integration | None,
    data: dict[str, Any],
    *,
    ordering_key: str | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> WebhookEvent | None:
    """Put an event in the outbox, inside the caller's transaction, with a delivery for each
    active endpoint that wants it (or for ``endpoints``, whatever their events: a test ping).

    :param integration: what the event is about (its id, natural id and provider go into the
        payload); None for a hub-wide ping.
    :param data: the event's own fields; never a secret.
    :param ordering_key: events with one key reach an endpoint in the order they were added.
    :returns: the event, or None when no endpoint wants it (nothing is written then).
    """
    if endpoints is None:
        endpoints = interested(event_type, integration)
    if not endpoints:
        return None
    now = utcnow()
    event = WebhookEvent.create(
        type=event_type,
        integration_id=integration.id if integration is not None else None,
        ordering_key=ordering_key,
        payload={},
        created_at=now,
    )
    event.payload = {
        "id": event.id,
        "type": event_type,
        "createdAt": isoformat(now),
        "integration": describe_integration(integration),
        "data": data,
    }
    event.save()
    WebhookDelivery.insert_many(
        [
            {
                "event": event.id,
                "endpoint": endpoint.id,
                "ordering_key": ordering_key,
                "next_attempt_at": now,
                "deadline": now + DELIVERY_WINDOW,
                "created_at": now,
            }
            for endpoint in endpoints
        ]
    ).execute()
    return event


def interested(event_type: str, integration: Integration | None) -> list[WebhookEndpoint]:
    """The active endpoints that asked for ``event_type`` about ``integration``: its own and
    the hub-wide ones."""
    scope = WebhookEndpoint.integration.is_null()
    if integration is not None:
        scope |= WebhookEndpoint.integration == integration.id
    rows = WebhookEndpoint.select(
        WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.integration
    ).where(WebhookEndpoint.active, scope)
    return [row for row in rows.order_by(WebhookEndpoint.id) if event_type in (row.events or [])]


def describe_integration(integration: Integration | None) -> dict[str, Any] | None:
    """The ``integration`` member of a payload."""
    if integration is None:
        return None
    return {
        "id": integration.id,
        "naturalId": f"{integration.owner.name}:{integration.slug}",
        "provider": integration.provider,
    }


# -- the changes that emit events ---------------------------------------------------------------


def connection_key(integration: Integration, holder: str) -> str:
    """The ordering key of one holder's connection to one integration (it outlives the row: a
    disconnect and a new connect of the same holder stay in order)."""
    return f"connection:{integration.id}:{holder}"


def describe_connection(connection: Connection, *, removed: bool = False) -> dict[str, Any]:
    """A connection as a payload carries it: who holds it, status and account; the columns that
    hold tokens and credentials are never read."""
    user_name = None
    if connection.user_id is not None:
        user_name = Principal.get_by_id(connection.user_id).name
    return {
        "connectionId": connection.id,
        "holder": "shared" if connection.holder == "shared" else f"user:{user_name}",
        "user": user_name,
        "status": "not_connected" if removed else connection.status,
        "account": {"externalId": connection.external_id, "email": connection.email},
        "lastError": None if removed else connection.last_error,
    }


def connection_event(
    event_type: str, integration: Integration, connection: Connection, *, removed: bool = False
) -> WebhookEvent | None:
    """``connection.*``: the connection as stored after the change (``removed``: it was
    deleted; its account says which one)."""
    return add(
        event_type,
        integration,
        describe_connection(connection, removed=removed),
        ordering_key=connection_key(integration, connection.holder),
    )


def connections_event(event_type: str, integration: Integration, *, removed: bool = False) -> None:
    """``connection.*`` for every connection of ``integration`` (before they are removed, with
    ``removed``): an integration change that ended them all."""
    if not interested(event_type, integration):
        return
    for connection in Connection.select().where(Connection.integration == integration.id):
        connection_event(event_type, integration, connection, removed=removed)


def refresh_outcome(integration: Integration, connection: Connection, succeeded: bool) -> None:
    """After a refresh attempt wrote its outcome: ``connection.refreshed``, or
    ``connection.needs_reauth`` when the grant is gone, else ``connection.refresh_failed``."""
    if succeeded:
        kind = "connection.refreshed"
    elif connection.status == "needs_reauth":
        kind = "connection.needs_reauth"
    else:
        kind = "connection.refresh_failed"
    connection_event(kind, integration, connection)


def integration_key(integration: Integration) -> str:
    return f"integration:{integration.id}"


def integration_event(
    event_type: str, integration: Integration, data: dict[str, Any] | None = None
) -> WebhookEvent | None:
    """``integration.*``: its name, slug, auth type and connection mode, and ``data``."""
    fields = {
        "name": integration.name,
        "slug": integration.slug,
        "authType": integration.auth_type,
        "connectionMode": integration.connection_mode,
        **(data or {}),
    }
    return add(event_type, integration, fields, ordering_key=integration_key(integration))


def share_event(
    event_type: str, integration: Integration, principal: Principal, access: str | None, **more: Any
) -> WebhookEvent | None:
    """``share.*``: who, and at which level (None once removed)."""
    data = {"principal": principal.name, "principalType": principal.kind, "access": access, **more}
    return add(event_type, integration, data, ordering_key=integration_key(integration))
