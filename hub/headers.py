"""Header template variables: the types plugins use to add their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HeaderContext:
    """What a header template can draw on for one request."""

    user_id: int | None
    user_name: str | None
    user_email: str | None
    tenant_id: str
    integration_slug: str
    integration_owner: str
    connection_external_id: str | None


@dataclass(frozen=True)
class HeaderVariable:
    """``${name}`` in a header template, resolved per request by ``resolve(context)``."""

    name: str
    description: str
    resolve: Callable[[HeaderContext], str | None]
