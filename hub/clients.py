"""Hub-wide OAuth clients, and the only places they are sent (SECURITY 29).

An administrator can give the hub one OAuth client per provider, so that users connect without
registering an application of their own: ``HUB_<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET`` in
the configuration, or one stored with ``PUT /api/providers/{name}/credentials`` (the
configuration wins). That client is the administrator's secret. It is used only when every
OAuth2 URL of the integration — authorize, token, refresh, revoke — lies at an origin the
provider declared (:func:`hub.addresses.declared_oauth_origins`) or one an administrator
approved for that client: ``HUB_<PROVIDER>_CLIENT_ORIGINS`` (comma-separated) for the configured
client, ``approvedOrigins`` for the stored one — self-hosted servers such as a PowerFolder
server. An integration whose OAuth2 URLs point anywhere else brings its own client: saving it
without one is refused, and so is connecting, refreshing or revoking through the hub's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from flask import current_app

from hub.addresses import OAuthUrls, declared_oauth_origins, origin, origins_text
from hub.crypto import Secret
from hub.errors import ValidationError
from hub.models import Integration, ProviderCredential
from hub.providers import Provider

MAX_APPROVED_ORIGINS = 50


class ClientNotAllowed(ValidationError):
    """An integration would send the hub's OAuth client to an address nobody approved."""

    code = "client_not_allowed"


@dataclass(frozen=True)
class HubClient:
    """The OAuth client an administrator set for a provider, and where it may be sent."""

    client_id: str
    client_secret: Secret | None
    source: Literal["env", "stored"]
    approved_origins: frozenset[str]


def config_prefix(provider: Provider) -> str:
    """``GOOGLE`` for ``google``: the part between ``HUB_`` and ``_CLIENT_ID``."""
    return provider.name.upper().replace("-", "_")


def env_client(provider: Provider) -> tuple[str | None, bool]:
    """The client id set by ``HUB_<PROVIDER>_CLIENT_ID`` (if any) and whether a secret is too."""
    prefix = config_prefix(provider)
    client_id = current_app.config.get(f"{prefix}_CLIENT_ID")
    has_secret = bool(current_app.config.get(f"{prefix}_CLIENT_SECRET"))
    return (str(client_id), has_secret) if client_id else (None, False)


def stored_credentials(provider: Provider) -> ProviderCredential | None:
    return ProviderCredential.get_or_none(ProviderCredential.provider == provider.name)


def credentials_source(provider: Provider) -> str:
    """Where the provider's OAuth client comes from: ``env``, ``stored`` or ``none``."""
    if env_client(provider)[0]:
        return "env"
    if ProviderCredential.select().where(ProviderCredential.provider == provider.name).exists():
        return "stored"
    return "none"


def hub_client(provider: Provider) -> HubClient | None:
    """The provider's hub-wide client: the configured one, else the stored one, else None."""
    prefix = config_prefix(provider)
    config = current_app.config
    env_id = config.get(f"{prefix}_CLIENT_ID")
    if env_id:
        secret = config.get(f"{prefix}_CLIENT_SECRET")
        approved = parse_origins(
            config.get(f"{prefix}_CLIENT_ORIGINS"), f"HUB_{prefix}_CLIENT_ORIGINS"
        )
        return HubClient(str(env_id), Secret(str(secret)) if secret else None, "env", approved)
    stored = stored_credentials(provider)
    if stored is None:
        return None
    return HubClient(
        stored.client_id,
        stored.get_secret("client_secret"),
        "stored",
        frozenset(stored.approved_origins or ()),
    )


def approved_origins(provider: Provider) -> frozenset[str]:
    """Where the hub-wide client may go besides the provider's own URLs (none without one)."""
    client = hub_client(provider)
    return client.approved_origins if client is not None else frozenset()


def parse_origins(value: Any, field: str) -> frozenset[str]:
    """Origins from a comma-separated string or a list: each ``scheme://host[:port]``, http(s),
    nothing after the port. Raises :class:`ValidationError` naming ``field``."""
    if value is None or value == "":
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > MAX_APPROVED_ORIGINS:
        raise ValidationError(
            f"{field}: at most {MAX_APPROVED_ORIGINS} origins", fields={field: "too many"}
        )
    origins = set()
    for item in items:
        text = item.strip() if isinstance(item, str) else ""
        parts = urlsplit(text)
        if (
            parts.scheme not in ("https", "http")
            or not parts.hostname
            or parts.username is not None
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or any(ord(c) < 0x21 or c == "\x7f" for c in text)
        ):
            raise ValidationError(
                f"{field}: {text[:100]!r} is not an origin like https://server.example.org",
                fields={field: "scheme://host[:port], nothing after it"},
            )
        try:
            origins.add(origin(text))
        except ValueError:
            raise ValidationError(
                f"{field}: {text[:100]!r} has a bad port", fields={field: "bad port"}
            ) from None
    return frozenset(origins)


def check_configured_origins(config: Any, providers: Any) -> None:
    """At start: every ``HUB_<PROVIDER>_CLIENT_ORIGINS`` must be a list of origins; raises
    ``ValueError`` naming the setting."""
    for provider in providers:
        name = f"{config_prefix(provider)}_CLIENT_ORIGINS"
        try:
            parse_origins(config.get(name), f"HUB_{name}")
        except ValidationError as exc:
            raise ValueError(exc.message) from None


def check_destinations(
    provider: Provider, integration: Integration, urls: OAuthUrls, approved: frozenset[str]
) -> None:
    """Refuse to use the hub's client for an integration whose OAuth2 URLs leave the
    provider's declared origins and those ``approved`` (:class:`ClientNotAllowed`, 400)."""
    allowed = declared_oauth_origins(provider, integration) | approved
    refused = {
        field: origin(url) for field, url in urls.by_field().items() if origin(url) not in allowed
    }
    if not refused:
        return
    where = ", ".join(sorted(set(refused.values())))
    raise ClientNotAllowed(
        f"this integration sends OAuth requests to {where}, which is neither "
        f"{provider.display_name}'s own address nor one an administrator approved for the hub's "
        f"{provider.display_name} client ({origins_text(allowed)}): give the integration its own "
        "clientId and clientSecret",
        fields={
            field.split(" ")[0]: f"{value} may only be used with the integration's own client"
            for field, value in refused.items()
        }
        | {"clientId": "required for these addresses"},
    )
