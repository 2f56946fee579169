"""Token lifecycle: store what a grant returns, refresh ahead of expiry, exactly once at a time.

One refresh per connection at a time, across threads, processes and hosts: the refresh runs with
the connection row locked (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite,
which serialises every writer), re-reads the row, and skips the refresh if another worker already
did it. Providers that rotate refresh tokens revoke the whole grant when an old one is reused, so
a lost race would cost the user their connection.

"Already did it" is judged by the token, never by a clock (SECURITY 37): a caller refreshes the
access token *it saw* — the one that expired, that the provider refused, or that a user asked to
replace — and under the lock, if the stored token is no longer that one, someone else replaced it
and the caller uses theirs. Every write of a token makes a new ciphertext (a fresh nonce), so the
stored ciphertext is the token's version; comparing it needs no decryption and no time written by
another host.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import peewee
from flask import current_app

from hub import audit, metrics, webhooks
from hub.crypto import Secret
from hub.db import is_postgres, utcnow, write_transaction
from hub.errors import Conflict, ReauthRequired, UpstreamFailed, UpstreamTimeout
from hub.events import notify
from hub.models import Connection, Integration, User
from hub.oauth import (
    OAuthClient,
    Profile,
    TokenError,
    client_token,
    error_sentence,
    expires_at,
    redact,
    refresh,
    resolve,
    safe_error_code,
)
from hub.providers import Provider

log = logging.getLogger(__name__)

DEFAULT_SKEW = 120  # seconds before expiry that a token counts as expired
BACKOFF_BASE = 30  # seconds after the first failed refresh; doubles, up to BACKOFF_MAX
BACKOFF_MAX = 3600
REAUTH_ERRORS = frozenset({"invalid_grant", "refresh_token_revoked", "unauthorized_client"})


def skew() -> dt.timedelta:
    return dt.timedelta(seconds=int(current_app.config.get("REFRESH_SKEW", DEFAULT_SKEW)))


def store_grant(
    connection: Connection, client: OAuthClient, token: dict[str, Any], profile: Profile | None
) -> None:
    """Write what a token response returned (inside the caller's transaction)."""
    connection.set_secret("access_token", token["access_token"])
    if token.get("refresh_token"):
        connection.set_secret("refresh_token", token["refresh_token"])
    # else: keep the refresh token we had (most providers do not rotate it)
    connection.token_type = str(token.get("token_type") or "Bearer")[:32]
    if token.get("scope"):
        scope = token["scope"]
        connection.scope = " ".join(scope) if isinstance(scope, list) else str(scope)
    connection.expires_at = expires_at(client, token)
    if profile is not None:
        connection.external_id = profile.external_id
        connection.email = profile.email
        connection.display_name = profile.name
    connection.status = "connected"
    connection.last_error = None
    connection.refresh_failures = 0
    connection.retry_refresh_at = None
    connection.last_refreshed_at = connection.updated_at = utcnow()


def refresh_window(connection: Connection, horizon: int | None = None) -> dt.timedelta:
    """How long before expiry the access token is refreshed: ``horizon`` seconds (default: the
    configured skew), but half the token's lifetime when that is shorter than twice the window —
    a 30-second token is refreshed after 15 seconds, not on every call. The lifetime is measured
    between two times the same host wrote at once (the grant and its expiry)."""
    window = skew() if horizon is None else dt.timedelta(seconds=horizon)
    if connection.expires_at is not None and connection.last_refreshed_at is not None:
        lifetime = connection.expires_at - connection.last_refreshed_at
        if dt.timedelta(0) < lifetime < 2 * window:
            window = lifetime / 2
    return window


def needs_refresh(connection: Connection, horizon: int | None = None) -> bool:
    """Whether the access token expires within its :func:`refresh_window` and should be
    refreshed ahead of time."""
    if connection.expires_at is None:
        return False
    return connection.expires_at - refresh_window(connection, horizon) <= utcnow()


def _locked(connection_id: int) -> Connection | None:
    query = Connection.select().where(Connection.id == connection_id)
    if is_postgres():
        query = query.for_update()
    return query.first()


def ensure_fresh(
    provider: Provider,
    integration: Integration,
    connection: Connection,
    *,
    replace: bool = False,
    refused: bool = False,
    horizon: int | None = None,
    actor: User | None = None,
) -> Connection:
    """The connection with a usable access token, refreshed first if it is about to expire —
    or, with ``replace``, whatever its expiry: the provider refused it (``refused``: it answered
    401 to that token), or a user asked.

    ``connection`` is the row as the caller read it: the refresh replaces *that* access token,
    and is skipped if another worker already replaced it (see the module's docstring).

    A connection without a refresh token (an access token pasted by hand) is used as it is,
    even past its expiry, until the provider refuses it: then it needs re-authorisation. A
    user asking to refresh it gets a :class:`Conflict` (``no_refresh_token``), and it stays
    connected.

    Raises :class:`ReauthRequired` when the grant is gone and :class:`UpstreamFailed` when the
    provider failed (then later calls back off instead of hammering it).
    """
    if connection.status == "needs_reauth":
        raise _reauth(integration, provider)
    if integration.auth_type != "oauth2" or not (replace or needs_refresh(connection, horizon)):
        return connection
    # A client-credentials grant needs no refresh token: the client asks for a new token.
    machine = integration.grant_type == "client_credentials"
    if not replace and connection.refresh_token is None and not machine:
        return connection  # nothing to refresh it with: used until the provider refuses it
    seen = connection.access_token
    outcome: Exception | None = None
    event = None
    with write_transaction():
        current = _locked(connection.id)
        if current is None:
            raise ReauthRequired("the connection was removed; connect again")
        if current.status == "needs_reauth":
            raise _reauth(integration, provider)
        if current.access_token != seen:
            return current  # another worker replaced the token we saw: use theirs
        if not (replace or needs_refresh(current, horizon)):
            return current
        refresh_token = current.get_secret("refresh_token")
        if refresh_token is None and not machine:
            if not replace:
                return current
            if not refused:
                raise Conflict(
                    f"the connection to {integration.name} has no refresh token (its access "
                    "token was set by hand): it is used until the provider refuses it; set a "
                    "new one or connect again to replace it",
                    code="no_refresh_token",
                )
            reason = "the access token was refused with 401 and there is no refresh token"
            outcome = _grant_lost(provider, current, integration, reason, actor)
            event = "hub_connection_refresh_failed"
        elif current.retry_refresh_at is not None and current.retry_refresh_at > utcnow():
            wait = int((current.retry_refresh_at - utcnow()).total_seconds()) + 1
            raise UpstreamFailed(
                f"refreshing failed recently ({current.last_error}); next try in {wait}s",
                code="refresh_backoff",
            )
        else:
            client = resolve(provider, integration)
            spent = refresh_token or Secret("")
            try:
                token = client_token(client) if machine else refresh(client, spent)
            except TokenError as exc:
                explained = _explained(client, exc, spent)
                if exc.error in REAUTH_ERRORS or exc.error in client.settings.reauth_errors:
                    outcome = _grant_lost(
                        provider, current, integration, exc.error, actor, explained
                    )
                else:
                    sentence = explained or error_sentence(exc.error)
                    outcome = _failed(current, f"the provider refused: {sentence}")
                _refusal_audit(current, integration, client, spent, exc, actor)
                event = "hub_connection_refresh_failed"
            except (UpstreamFailed, UpstreamTimeout) as exc:
                outcome = _failed(current, exc.message)
                event = "hub_connection_refresh_failed"
            else:
                store_grant(current, client, token, None)
                current.save()
                audit.record(
                    "connection.refresh",
                    actor=actor.principal_id if actor else None,
                    target_type="connection",
                    target_id=current.id,
                    integration=integration,
                    details={"holder": current.holder, "grant": integration.grant_type},
                )
                event = "hub_connection_refreshed"
        webhooks.refresh_outcome(integration, current, succeeded=outcome is None)
    metrics.refresh_outcome(provider.name, outcome)
    user = current.user if current.user_id else None
    notify(event, integration, current, user)
    if outcome is not None:
        raise outcome
    return current


def _refusal_audit(
    connection: Connection,
    integration: Integration,
    client: OAuthClient,
    refresh_token: Secret,
    exc: TokenError,
    actor: User | None,
) -> None:
    """The provider's own words on a refused refresh, for administrators only (the audit log),
    with the refresh token and the client secret taken out (SECURITY 34)."""
    secret = client.client_secret.reveal() if client.client_secret else None
    audit.record(
        "connection.refresh_refused",
        actor=actor.principal_id if actor else None,
        target_type="connection",
        target_id=connection.id,
        integration=integration,
        details={
            "holder": connection.holder,
            "error": safe_error_code(exc.error),
            "description": redact(exc.description, [refresh_token.reveal(), secret]),
        },
    )


def _explained(client: OAuthClient, exc: TokenError, refresh_token: Secret) -> str | None:
    """The provider's own sentence for a refused refresh (``OAuth2Settings.explain_refusal``),
    with anything secret taken out; None when it has none or fails."""
    explain = client.settings.explain_refusal
    if explain is None:
        return None
    try:
        sentence = explain(exc.error, exc.description)
    except Exception:  # a plugin's fault: the generic sentence serves
        log.exception("%s: explain_refusal failed", client.name)
        return None
    if not isinstance(sentence, str) or not sentence.strip():
        return None
    secret = client.client_secret.reveal() if client.client_secret else None
    return redact(sentence.strip(), [refresh_token.reveal(), secret], limit=500)


def _grant_lost(
    provider: Provider,
    connection: Connection,
    integration: Integration,
    reason: str,
    actor: User | None,
    explained: str | None = None,
) -> ReauthRequired:
    connection.status = "needs_reauth"
    hint = explained or (provider.oauth2.reauth_hint if provider.oauth2 else None)
    connection.last_error = f"the provider no longer accepts this connection ({reason})" + (
        f"; {hint}" if hint else ""
    )
    connection.updated_at = utcnow()
    connection.save()
    audit.record(
        "connection.needs_reauth",
        actor=actor.principal_id if actor else None,
        target_type="connection",
        target_id=connection.id,
        integration=integration,
        details={"holder": connection.holder, "reason": reason},
    )
    return _reauth(integration, provider, explained)


def _failed(connection: Connection, message: str) -> UpstreamFailed:
    connection.refresh_failures += 1
    delay = min(BACKOFF_BASE * 2 ** (connection.refresh_failures - 1), BACKOFF_MAX)
    connection.retry_refresh_at = utcnow() + dt.timedelta(seconds=delay)
    connection.last_error = message[:1000]
    connection.status = "error"
    connection.updated_at = utcnow()
    connection.save()
    log.warning("refresh of connection %s failed: %s", connection.id, message)
    return UpstreamFailed(f"refreshing the token failed: {message}")


def _reauth(
    integration: Integration, provider: Provider | None = None, explained: str | None = None
) -> ReauthRequired:
    hint = explained or (provider.oauth2.reauth_hint if provider and provider.oauth2 else None)
    return ReauthRequired(
        f"the connection to {integration.name} must be re-authorised: connect again"
        + (f" ({hint})" if hint else "")
    )


def due_connections(within: dt.timedelta) -> peewee.ModelSelect:
    """OAuth connections whose access token expires within ``within`` and can be refreshed
    (with a refresh token, or by a client-credentials grant)."""
    return (
        Connection.select(Connection, Integration)
        .join(Integration)
        .where(
            Integration.auth_type == "oauth2",
            Connection.status.in_(["connected", "error"]),
            Connection.expires_at.is_null(False),
            Connection.expires_at <= utcnow() + within,
            Connection.refresh_token.is_null(False)
            | (Integration.grant_type == "client_credentials"),
        )
        .order_by(Connection.expires_at)
    )


def access_token(connection: Connection) -> Secret:
    token = connection.get_secret("access_token")
    if token is None:
        raise ReauthRequired("the connection has no access token: connect again")
    return token
