"""Plain values handed to lifecycle hooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from hub.models import Connection, Integration, User


@dataclass(frozen=True)
class ConnectionEvent:
    """A connection as lifecycle hooks see it: identities and status, never credentials."""

    integration_id: int
    integration_slug: str
    provider: str
    holder: str  # "shared" or "user:<id>"
    user_name: str | None
    status: str
    external_id: str | None = None
    email: str | None = None
    error: str | None = None


def notify(
    hook: str,
    integration: Integration,
    connection: Connection,
    user: User | None,
    *,
    removed: bool = False,
) -> None:
    """Tell plugins about a lifecycle change (after the change is committed): the connection as
    stored after it. A ``removed`` connection is ``not_connected``, as the API then shows it;
    its account (``external_id``, ``email``) says which one was removed."""
    event = ConnectionEvent(
        integration_id=integration.id,
        integration_slug=integration.slug,
        provider=integration.provider,
        holder=connection.holder,
        user_name=user.principal.name if user is not None else None,
        status="not_connected" if removed else connection.status,
        external_id=connection.external_id,
        email=connection.email,
        error=None if removed else connection.last_error,
    )
    current_app.extensions["hub"].registry.notify(hook, event=event)
