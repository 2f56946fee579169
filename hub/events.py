"""Plain values handed to lifecycle hooks."""

from __future__ import annotations

from dataclasses import dataclass


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
