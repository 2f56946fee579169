"""Handing a connection's credentials to a backend (``GET …/connection/credentials``).

A backend that must call a provider itself (a client library, a protocol the proxy does not
speak) may read the credentials of a connection — but only when every one of these holds:

- a ``manage`` user turned credential export on for the integration (``credentialsExport``; off
  by default, and only ``manage`` may change it);
- the request is authenticated with an API token made with the scope ``credentials:read``. A
  browser session or a token made without scopes is refused: credentials leave the hub only to a
  program someone chose to give them to, never to whatever runs in a signed-in browser;
- the connection is the caller's own, or the shared one of an integration the caller manages.

Each read is an audit event (``connection.credentials.read``, with the token that read them),
and the answer is never stored by a cache (``Cache-Control: no-store``). An OAuth2 access
token is refreshed first when it is due, through the same single-flight path as every other
use (:func:`hub.tokens.ensure_fresh`), so concurrent readers cause one refresh; the refresh
token never leaves the hub.
"""

from __future__ import annotations

from typing import Any

from flask import g

from hub import audit, scopes
from hub.access import RANK
from hub.browse import context_for
from hub.db import write_transaction
from hub.errors import Forbidden
from hub.models import Integration, User
from hub.providers import Provider

SCOPE = "credentials:read"


class ExportOff(Forbidden):
    code = "credentials_export_off"


def check_allowed(integration: Integration, level: str) -> None:
    """Refuse unless the integration exports credentials, the caller is a token with the scope,
    and the connection is theirs to read."""
    token = g.get("api_token")
    if token is None or token.scopes is None or SCOPE not in token.scopes:
        raise scopes.InsufficientScope(
            f"credentials are given only to an API token made with the scope {SCOPE}",
            scope=SCOPE,
        )
    if not integration.credentials_export:
        raise ExportOff(
            f"credential export is off for {integration.name}; someone with manage access can "
            "turn it on (credentialsExport)",
            fields={"credentialsExport": "false"},
        )
    if integration.connection_mode == "shared" and RANK[level] < RANK["manage"]:
        raise Forbidden("the credentials of a shared connection are given only to its managers")


def export(provider: Provider, integration: Integration, user: User, level: str) -> dict[str, Any]:
    """The caller's connection's credentials, fresh, audited."""
    check_allowed(integration, level)
    context = context_for(provider, integration, user)
    credentials = context.exported_credentials()
    connection = context.connection
    assert connection is not None
    with write_transaction():
        audit.record(
            "connection.credentials.read",
            actor=user.principal_id,
            target_type="connection",
            target_id=connection.id,
            integration=integration,
            details={
                "holder": connection.holder,
                "authType": integration.auth_type,
                "token": g.api_token.id,
                "tokenName": g.api_token.name,
            },
        )
    return {
        "integration": integration.id,
        "holder": "shared" if connection.holder == "shared" else "user",
        "credentials": credentials,
    }
