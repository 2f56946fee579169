"""``/api/providers``: what is installed, and the OAuth clients administrators store for them."""

from __future__ import annotations

from typing import Any

import pydantic
from flask import Blueprint, Response, current_app, jsonify

from hub import audit
from hub.addresses import redirect_uri
from hub.api.validation import ApiModel, body
from hub.auth import current, signed_in, superuser_only
from hub.clients import (
    MAX_APPROVED_ORIGINS,
    approved_origins,
    credentials_source,
    parse_origins,
    stored_credentials,
)
from hub.db import utcnow, write_transaction
from hub.errors import NotFound
from hub.models import ProviderCredential, User
from hub.providers import Provider
from hub.scopes import needs


class CredentialsPut(ApiModel):
    client_id: str = pydantic.Field(min_length=1, max_length=2000)
    client_secret: str | None = pydantic.Field(default=None, max_length=4000)
    approved_origins: list[str] = pydantic.Field(
        default_factory=list, max_length=MAX_APPROVED_ORIGINS
    )


def registry() -> Any:
    return current_app.extensions["hub"].registry


def get_provider(name: str) -> Provider:
    provider = registry().provider(name)
    if provider is None:
        raise NotFound(f"no provider named {name!r} is installed")
    return provider


def store_credentials(
    provider: Provider,
    client_id: str,
    client_secret: str | None,
    actor: User,
    approved: list[str] | None = None,
) -> ProviderCredential:
    """Store (or replace) the provider's OAuth client, the secret encrypted, with the origins
    besides the provider's own it may be sent to (:mod:`hub.clients`), and an audit event."""
    origins = sorted(parse_origins(approved or [], "approvedOrigins"))
    with write_transaction():
        row = stored_credentials(provider)
        if row is None:
            row = ProviderCredential.create(provider=provider.name, client_id=client_id)
        row.client_id = client_id
        row.approved_origins = origins
        row.set_secret("client_secret", client_secret)
        row.updated_by = actor.principal_id
        row.updated_at = utcnow()
        row.save()
        audit.record(
            "provider.credentials.set",
            actor=actor.principal_id,
            target_type="provider",
            target_id=provider.name,
            details={"clientId": client_id, "approvedOrigins": origins},
        )
    return row


def forget_credentials(provider: Provider, actor: User) -> None:
    """Delete the stored OAuth client (``NotFound`` when none is stored), with an audit event."""
    with write_transaction():
        deleted = (
            ProviderCredential.delete()
            .where(ProviderCredential.provider == provider.name)
            .execute()
        )
        if not deleted:
            raise NotFound(f"no stored credentials for provider {provider.name!r}")
        audit.record(
            "provider.credentials.delete",
            actor=actor.principal_id,
            target_type="provider",
            target_id=provider.name,
        )


def describe(provider: Provider) -> dict[str, Any]:
    plugin = next(
        (p.name for p in registry().plugins.values() if provider.name in p.providers), None
    )
    data: dict[str, Any] = {
        "name": provider.name,
        "displayName": provider.display_name,
        "description": provider.description,
        "plugin": plugin,
        "authTypes": list(provider.auth_types),
        "authHelp": dict(provider.auth_help),
        "services": [
            {
                "name": s.name,
                "displayName": s.display_name,
                "description": s.description,
                "browsable": s.browse is not None,
                "downloadable": s.download is not None,
            }
            for s in provider.services
        ],
        "endpoints": dict(provider.endpoints),
        "apiEndpoint": provider.api_endpoint,
        "settings": [
            {
                "name": s.name,
                "label": s.label,
                "type": s.type,
                "required": s.required,
                "default": s.default,
                "help": s.help,
                "choices": list(s.choices),
                "pattern": s.pattern,
            }
            for s in provider.settings
        ],
        "hasIcon": provider.icon is not None,
        "defaultScopes": [],
        "oauth2": None,
    }
    if provider.oauth2 is not None:
        o = provider.oauth2
        data["defaultScopes"] = list(o.scopes)
        data["oauth2"] = {
            "authorizeUrl": o.authorize_url,
            "tokenUrl": o.token_url,
            "tokenAuth": o.token_auth,
            "pkce": o.pkce,
            "refreshMethod": o.refresh_method,
            "supportsRevocation": o.revoke_url is not None,
            "redirectUri": redirect_uri(),
            "clientCredentials": credentials_source(provider),
        }
    return data


def register(api: Blueprint) -> None:
    @api.get("/providers")
    @needs("integrations:read")
    @signed_in
    def list_providers() -> Response:
        """Every installed provider with its auth types, services and default scopes."""
        providers = sorted(registry().providers.values(), key=lambda p: p.name)
        return jsonify({"items": [describe(p) for p in providers], "nextCursor": None})

    @api.get("/providers/<name>")
    @needs("integrations:read")
    @signed_in
    def get_provider_view(name: str) -> Response:
        """One installed provider."""
        return jsonify(describe(get_provider(name)))

    @api.get("/providers/<name>/icon")
    @needs("integrations:read")
    def provider_icon(name: str) -> Response:
        """The provider's bundled icon."""
        provider = get_provider(name)
        if provider.icon is None:
            raise NotFound(f"provider {name!r} has no icon")
        response = Response(provider.icon.data, mimetype=provider.icon.media_type)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    @api.put("/providers/<name>/credentials")
    @needs("admin")
    @superuser_only
    @body(CredentialsPut)
    def put_credentials(name: str, payload: CredentialsPut) -> Response:
        """Store the provider's OAuth client (secret encrypted; used when no env var sets one)."""
        provider = get_provider(name)
        row = store_credentials(
            provider,
            payload.client_id,
            payload.client_secret,
            current(),
            payload.approved_origins,
        )
        return jsonify(_credentials(provider, row))

    @api.get("/providers/<name>/credentials")
    @needs("admin")
    @superuser_only
    def get_credentials(name: str) -> Response:
        """Whether client credentials are set, and from where (never the secret)."""
        provider = get_provider(name)
        return jsonify(_credentials(provider, stored_credentials(provider)))

    @api.delete("/providers/<name>/credentials")
    @needs("admin")
    @superuser_only
    def delete_credentials(name: str) -> tuple[str, int]:
        """Forget the stored client credentials."""
        forget_credentials(get_provider(name), current())
        return "", 204


def _credentials(provider: Provider, row: ProviderCredential | None) -> dict[str, Any]:
    return {
        "provider": provider.name,
        "source": credentials_source(provider),
        "clientId": row.client_id if row else None,
        "hasClientSecret": bool(row and row.client_secret),
        "approvedOrigins": sorted(approved_origins(provider)),
    }
