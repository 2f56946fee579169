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


def notify(hook: str, integration: Integration, connection: Connection, user: User | None) -> None:
    """Tell plugins about a lifecycle change (after the change is committed)."""
    event = ConnectionEvent(
        integration_id=integration.id,
        integration_slug=integration.slug,
        provider=integration.provider,
        holder=connection.holder,
        user_name=user.principal.name if user is not None else None,
        status=connection.status,
        external_id=connection.external_id,
        email=connection.email,
        error=connection.last_error,
    )
    current_app.extensions["hub"].registry.notify(hook, event=event)
