"""Connecting an integration through OAuth2: start (a stored, single-use transaction), the
one-time link for API clients, and the callback (SECURITY 1-7)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub import audit, webhooks
from hub.access import require
from hub.connections import SHARED, holder_connection, holder_for, require_holder_access
from hub.db import utcnow, write_transaction
from hub.errors import HubError, NotFound, UpstreamFailed, ValidationError
from hub.events import notify
from hub.models import Connection, Integration, OAuthTransaction, Principal, User
from hub.oauth import (
    TRANSACTION_LIFETIME,
    OAuthClient,
    Profile,
    TokenError,
    authorization,
    client_token,
    digest,
    error_sentence,
    exchange_code,
    lookup_profile,
    redact,
    redirect_uri,
    resolve,
    safe_error_code,
)
from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.tokens import store_grant

LINK = "connect_link"
AUTHORIZE = "authorize"


class CallbackFailed(HubError):
    """The callback cannot complete; nothing was stored. ``integration`` when it is known."""

    status = 400
    code = "oauth_failed"

    def __init__(
        self, message: str, integration: Integration | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.integration = integration


def safe_return_to(path: str | None, default: str = "/") -> str:
    """A local path only: no scheme, no host, no ``//`` or backslash tricks."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        return default
    return path[:500]


def start(
    provider: Provider,
    integration: Integration,
    user: User,
    level: str,
    *,
    session_nonce: str,
    return_to: str | None,
) -> str:
    """Create the transaction and return the provider's authorization URL."""
    _check_can_connect(integration, level)
    _check_user_grant(integration)
    client = resolve(provider, integration)  # a missing client is an error before any redirect
    grant = authorization(client)
    with write_transaction():
        transaction = OAuthTransaction.create(
            state_hash=digest(grant.state),
            kind=AUTHORIZE,
            integration=integration,
            user=user,
            holder=holder_for(integration, user),
            provider=provider.name,
            redirect_uri=redirect_uri(),
            issuer=client.settings.issuer,
            return_to=safe_return_to(return_to),
            session_binding=digest(session_nonce),
            expires_at=utcnow() + TRANSACTION_LIFETIME,
        )
        transaction.set_secret("code_verifier", grant.code_verifier)
        transaction.save()
        OAuthTransaction.delete().where(
            OAuthTransaction.expires_at < utcnow() - dt.timedelta(days=1)
        ).execute()
    return grant.url


def _check_can_connect(integration: Integration, level: str) -> None:
    if integration.auth_type != "oauth2":
        raise ValidationError(
            f"this integration uses {integration.auth_type}: set its credentials with "
            "POST /api/integrations/{id}/connection",
            fields={"authType": "not oauth2"},
        )
    require_holder_access(integration, level)


def _check_user_grant(integration: Integration) -> None:
    if integration.grant_type == "client_credentials":
        raise ValidationError(
            f"{integration.name} uses a client-credentials grant: connecting fetches its token "
            "without a browser",
            fields={"grantType": "client_credentials"},
        )


def connect_client(
    provider: Provider, integration: Integration, user: User, level: str
) -> Connection:
    """Connect an integration with a client-credentials grant: the hub asks the token endpoint
    for a token of the integration's own client, no user and no browser in the loop, and keeps
    it as the shared connection (refreshed the same way when it is due)."""
    _check_can_connect(integration, level)
    client = resolve(provider, integration)
    try:
        token = client_token(client)
    except TokenError as exc:
        secret = client.client_secret.reveal() if client.client_secret else None
        _failed_audit(user, integration, "token", exc.error, exc.description, [secret])
        raise UpstreamFailed(
            f"{client.name} refused the client: {error_sentence(exc.error)}; nothing was stored",
            code="oauth_failed",
        ) from None
    connection = _save(integration, user, SHARED, client, token, None)
    notify("hub_connection_connected", integration, connection, user)
    return connection


def create_link(
    provider: Provider, integration: Integration, user: User, level: str, return_to: str | None
) -> tuple[str, dt.datetime]:
    """A one-time token for ``/oauth2/start``, for callers who hold only an API token. No
    usable OAuth client (none configured, or the hub's own one may not go to this
    integration's addresses) is an error now, not when the link is opened."""
    _check_can_connect(integration, level)
    _check_user_grant(integration)
    resolve(provider, integration)
    token = secrets.token_urlsafe(32)
    expires = utcnow() + TRANSACTION_LIFETIME
    with write_transaction():
        OAuthTransaction.create(
            state_hash=digest(token),
            kind=LINK,
            integration=integration,
            user=user,
            holder=holder_for(integration, user),
            provider=integration.provider,
            redirect_uri=redirect_uri(),
            return_to=safe_return_to(return_to),
            expires_at=expires,
        )
    return token, expires


def redeem_link(token: str, user: User) -> tuple[Integration, str]:
    """Use a one-time link (once, in time, by the same user); return its integration."""
    transaction = _find(token, LINK)
    if transaction.user_id != user.principal_id:  # checked first: the link stays theirs
        raise CallbackFailed("this link was made for another user: sign in as that user")
    transaction = _claim(transaction)
    integration = _integration(transaction.integration_id)
    return integration, transaction.return_to


def _take(secret: str, kind: str) -> OAuthTransaction:
    """Find an unused, unexpired transaction by its secret and mark it used, atomically."""
    return _claim(_find(secret, kind))


def _find(secret: str, kind: str) -> OAuthTransaction:
    """The transaction a secret names, not yet claimed (check who may use it, then claim)."""
    if not secret or len(secret) > 200:
        raise CallbackFailed("the sign-in state is missing: start connecting again")
    transaction = OAuthTransaction.get_or_none(
        OAuthTransaction.state_hash == digest(secret), OAuthTransaction.kind == kind
    )
    if transaction is None:
        raise CallbackFailed("unknown sign-in state: start connecting again")
    return transaction


def _claim(transaction: OAuthTransaction) -> OAuthTransaction:
    """Mark the transaction used, atomically: only one caller ever gets past this."""
    with write_transaction():
        claimed = (
            OAuthTransaction.update(used_at=utcnow())
            .where(OAuthTransaction.id == transaction.id, OAuthTransaction.used_at.is_null())
            .execute()
        )
    if not claimed:
        raise CallbackFailed("this sign-in was already used: start connecting again")
    if transaction.expires_at < utcnow():
        raise CallbackFailed("this sign-in expired (10 minutes): start connecting again")
    return transaction


def _integration(integration_id: int) -> Integration:
    integration = (
        Integration.select(Integration, Principal)
        .join(Principal, on=(Integration.owner == Principal.id))
        .where(Integration.id == integration_id)
        .first()
    )
    if integration is None:
        raise CallbackFailed("the integration was deleted meanwhile")
    return integration


@dataclass(frozen=True)
class Connected:
    integration: Integration
    connection: Connection
    return_to: str


def finish(
    args: Mapping[str, str],
    user: User | None,
    session_nonce: str | None,
    registry: PluginRegistry,
) -> Connected:
    """Complete the flow from the callback's query; raise :class:`CallbackFailed`.

    The user and the browser session are checked before the state is claimed: a callback
    opened elsewhere is refused and leaves the state to the browser that started the flow."""
    transaction = _find(args.get("state", ""), AUTHORIZE)
    if user is None or transaction.user_id != user.principal_id:
        raise CallbackFailed("this sign-in was started by another user or browser session")
    if not session_nonce or transaction.session_binding != digest(session_nonce):
        raise CallbackFailed("this sign-in was started in another browser session")
    transaction = _claim(transaction)
    integration = _integration(transaction.integration_id)
    level = require_or_fail(user, integration)
    require_holder_access(integration, level)
    verifier = transaction.get_secret("code_verifier")
    secrets_of_flow = [args.get("state"), args.get("code"), verifier and verifier.reveal()]
    if "error" in args:
        code = safe_error_code(args["error"])
        _failed_audit(
            user, integration, "authorize", code, args.get("error_description"), secrets_of_flow
        )
        raise CallbackFailed(
            f"{integration.name}: the provider answered {error_sentence(code)}; nothing was stored",
            integration,
            code="access_denied" if code == "access_denied" else "oauth_failed",
        )
    provider = registry.provider(integration.provider)
    if provider is None:
        raise CallbackFailed(f"provider {integration.provider} is not installed", integration)
    client = resolve(provider, integration)
    _check_issuer(args.get("iss"), transaction, client, integration)
    code = args.get("code")
    if not code:
        raise CallbackFailed("the provider sent no authorization code", integration)
    try:
        token = exchange_code(client, code, verifier and verifier.reveal())
    except TokenError as exc:
        secret = client.client_secret.reveal() if client.client_secret else None
        _failed_audit(
            user, integration, "token", exc.error, exc.description, [*secrets_of_flow, secret]
        )
        raise CallbackFailed(
            f"{client.name} refused the code: {error_sentence(exc.error)}", integration
        ) from None
    except HubError as exc:
        raise CallbackFailed(exc.message, integration) from None

    try:
        profile = lookup_profile(client, token)
    except HubError as exc:
        raise CallbackFailed(exc.message, integration) from None
    connection = _save(integration, user, transaction.holder, client, token, profile)
    notify("hub_connection_connected", integration, connection, user)
    return Connected(integration, connection, transaction.return_to)


def _check_issuer(
    iss: str | None, transaction: OAuthTransaction, client: OAuthClient, integration: Integration
) -> None:
    """RFC 9207: the ``iss`` of the answer must be the issuer this flow was started with (kept
    in the transaction, so a setting changed meanwhile cannot redirect it), and must be there
    at all when the provider declares that its server sends it."""
    expected = transaction.issuer
    if iss is None:
        if client.settings.iss_parameter_supported:
            raise CallbackFailed(
                "the answer did not say which authorization server sent it (iss is missing)",
                integration,
            )
        return
    if expected and iss != expected:
        raise CallbackFailed(
            "the answer came from another authorization server than the one asked (iss)",
            integration,
        )


def _failed_audit(
    user: User,
    integration: Integration,
    stage: str,
    code: str,
    description: str | None,
    secrets: list[str | None],
) -> None:
    """Keep the provider's own words for administrators (the audit log), secrets removed."""
    with write_transaction():
        audit.record(
            "connection.connect_failed",
            actor=user.principal_id,
            target_type="integration",
            target_id=integration.id,
            integration=integration,
            details={
                "stage": stage,
                "error": safe_error_code(code),
                "description": redact(description, secrets),
            },
        )


def require_or_fail(user: User, integration: Integration) -> str:
    try:
        return require(user, integration, "use")
    except (NotFound, HubError) as exc:
        raise CallbackFailed(exc.message) from None


def _save(
    integration: Integration,
    user: User,
    holder: str,
    client: OAuthClient,
    token: dict[str, Any],
    profile: Profile | None,
) -> Connection:
    with write_transaction():
        connection = holder_connection(integration, user, holder)
        connection.set_secret("refresh_token", None)
        connection.set_secret("credentials", None)
        store_grant(connection, client, token, profile)
        connection.save()
        audit.record(
            "connection.connect",
            actor=user.principal_id,
            target_type="connection",
            target_id=connection.id,
            integration=integration,
            details={"holder": holder, "externalId": connection.external_id},
        )
        webhooks.connection_event("connection.connected", integration, connection)
    return connection
