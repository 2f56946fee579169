"""Where an integration's requests and credentials go (DESIGN §5, SECURITY 29-30).

An integration's addresses come from its provider's declaration — endpoint and OAuth2 URL
templates filled with the integration's settings — and from the integration's own overrides:
``authUri``, ``tokenUri``, ``apiBaseUri`` and ``settings.endpoints``. This module resolves them,
and knows which of an integration's fields decide them (:func:`destination_fields`): changing
one of those decides who receives the credentials, so it needs ``manage`` access, and a change
that brings a new origin ends the connections made for the old one (:mod:`hub.integrations`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from hub.errors import ConfigurationError
from hub.models import Integration
from hub.providers import (
    OAuth2Settings,
    ProfileLookup,
    Provider,
    ProviderDeclarationError,
    render_url,
    url_placeholders,
    validate_provider,
)

#: Integration columns that name an address, by their API names.
URL_COLUMNS = {"auth_uri": "authUri", "token_uri": "tokenUri", "api_base_uri": "apiBaseUri"}
#: Setting types whose values come from a short list the plugin declared: they cannot take a
#: request to a host the plugin did not name.
BOUNDED_SETTING_TYPES = frozenset({"choice", "boolean"})


def redirect_uri() -> str:
    """The one OAuth2 callback of the hub, to register with every provider."""
    return current_app.config["PUBLIC_URL"] + "/oauth2/callback"


def setting_values(provider: Provider, integration: Integration) -> dict[str, Any]:
    """Every declared setting's value for this integration: its own, else the default."""
    stored = integration.settings or {}
    return {s.name: stored.get(s.name, s.default) for s in provider.settings}


def endpoints_of(provider: Provider, integration: Integration) -> dict[str, str]:
    """Base URLs of the provider's named endpoints, after ``settings.endpoints`` overrides. An
    endpoint whose template needs a setting that has no value (a self-hosted server's address
    before it is given) is left out, never filled with ``None``."""
    values = setting_values(provider, integration)
    overrides = (integration.settings or {}).get("endpoints") or {}
    endpoints = {}
    for name, template in provider.endpoints.items():
        url = overrides.get(name)
        if not url:
            if any(values.get(key) in (None, "") for key in url_placeholders(template)):
                continue
            url = render_url(template, values)
        endpoints[name] = url.rstrip("/")
    return endpoints


def with_deployment_endpoints(provider: Provider, config: Mapping[str, Any]) -> Provider:
    """The provider with the operator's ``HUB_<PROVIDER>_ENDPOINTS`` (a JSON object in the
    environment, a dict in ``instance/config.py``) replacing its declared endpoint URLs: a
    staging or self-hosted server for every integration, as if the plugin had declared it (so
    the hub-wide OAuth client may go there too). Raises ``ValueError`` naming the setting."""
    key = f"{provider.name.upper().replace('-', '_')}_ENDPOINTS"
    value = config.get(key)
    if value in (None, "", {}):
        return provider
    name = f"HUB_{key}"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                f'{name} must be a JSON object such as {{"api": "https://staging.example.org"}}'
            ) from None
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{name} must map endpoint names to URLs")
    unknown = sorted(set(value) - set(provider.endpoints))
    if unknown:
        raise ValueError(
            f"{name}: {provider.display_name} has no endpoint {', '.join(map(repr, unknown))}; "
            f"its endpoints are {', '.join(sorted(provider.endpoints)) or 'none'}"
        )
    try:
        return validate_provider(replace(provider, endpoints={**provider.endpoints, **dict(value)}))
    except ProviderDeclarationError as exc:
        raise ValueError(f"{name}: {exc}") from None


def template_values(provider: Provider, integration: Integration) -> dict[str, Any]:
    """What ``{placeholders}`` in the provider's URL templates are filled with."""
    values = setting_values(provider, integration)
    for name, url in endpoints_of(provider, integration).items():
        values[f"endpoints.{name}"] = url
    return values


def api_base_uri(provider: Provider, integration: Integration) -> str | None:
    """The proxy target: the integration's ``apiBaseUri``, else the provider's API endpoint."""
    if integration.api_base_uri:
        return integration.api_base_uri
    if provider.api_endpoint is None:
        return None
    return endpoints_of(provider, integration).get(provider.api_endpoint)


# -- OAuth2 ----------------------------------------------------------------------------------


def effective_oauth2(
    provider: Provider, integration: Integration
) -> tuple[OAuth2Settings, ProfileLookup | None]:
    """The provider's OAuth2 settings and profile lookup with the integration's setting
    overrides (``Setting.overrides``) applied."""
    if provider.oauth2 is None:
        raise ConfigurationError(f"provider {provider.name} does not offer OAuth2")
    stored = integration.settings or {}
    oauth2, profile = provider.oauth2, provider.profile
    for setting in provider.settings:
        value = stored.get(setting.name, setting.default)
        if setting.overrides is None or value is None:
            continue
        target, _, attr = setting.overrides.partition(".")
        if target == "oauth2":
            oauth2 = replace(oauth2, **{attr: value})
        elif target == "profile" and profile is not None:
            profile = replace(profile, **{attr: value})
    if oauth2.issuer and url_placeholders(oauth2.issuer):
        # The expected `iss` follows the endpoint it names (an operator's staging server).
        issuer = _render(oauth2.issuer, template_values(provider, integration), "issuer")
        oauth2 = replace(oauth2, issuer=issuer)
    return oauth2, profile


@dataclass(frozen=True)
class OAuthUrls:
    """Where each step of OAuth2 goes for one integration, by the field that decides it."""

    authorize: str
    token: str
    refresh: str
    revoke: str | None

    def by_field(self) -> dict[str, str]:
        """Each address with the integration field to name when it is refused."""
        fields = {"authUri": self.authorize, "tokenUri": self.token}
        if self.refresh != self.token:
            fields["tokenUri (refresh)"] = self.refresh
        if self.revoke is not None:
            fields["revokeUrl"] = self.revoke
        return fields


def oauth_urls(provider: Provider, integration: Integration) -> OAuthUrls:
    """The authorize, token, refresh and revoke URLs, after every override; a clear error when
    one cannot be built (no default and no override, or a setting it needs is empty)."""
    oauth2, _ = effective_oauth2(provider, integration)
    values = template_values(provider, integration)

    def url(own: str | None, template: str | None, field: str) -> str:
        if own:
            return own
        if template is None:
            raise ConfigurationError(
                f"the integration needs {field}: provider {provider.name} has no default",
                fields={field: "required"},
            )
        return _render(template, values, field)

    token = url(integration.token_uri, oauth2.token_url, "tokenUri")
    return OAuthUrls(
        authorize=url(integration.auth_uri, oauth2.authorize_url, "authUri"),
        token=token,
        refresh=_render(oauth2.refresh_url, values, "refreshUrl") if oauth2.refresh_url else token,
        revoke=_render(oauth2.revoke_url, values, "revokeUrl") if oauth2.revoke_url else None,
    )


def _render(template: str, values: Mapping[str, Any], field: str) -> str:
    empty = [name for name in url_placeholders(template) if values.get(name) in (None, "")]
    if empty:
        raise ConfigurationError(
            f"the integration's {field} needs {', '.join(empty)}",
            fields={f"settings.{name}": "required" for name in empty},
        )
    return render_url(template, values)


def declared_oauth_origins(provider: Provider, integration: Integration) -> frozenset[str]:
    """The origins of the provider's *own* OAuth2 URLs for this integration: the declaration's
    templates filled with the integration's choices among values the plugin declared (choice
    and boolean settings) and with the declared defaults of everything free-form (URL, text and
    number settings, endpoint overrides, ``authUri``/``tokenUri``). A URL whose template needs a
    free-form value that has no default (a self-hosted server's address) has no declared origin.
    """
    if provider.oauth2 is None:
        return frozenset()
    stored = integration.settings or {}
    bounded = {
        s.name: stored[s.name]
        for s in provider.settings
        if s.type in BOUNDED_SETTING_TYPES and stored.get(s.name) is not None
    }
    declared = Integration(provider=provider.name, auth_type="oauth2", settings=bounded)
    origins = set()
    oauth2, _ = effective_oauth2(provider, declared)
    for template in (
        oauth2.authorize_url,
        oauth2.token_url,
        oauth2.refresh_url,
        oauth2.revoke_url,
    ):
        if template is None:
            continue
        try:
            origins.add(origin(_render(template, template_values(provider, declared), "url")))
        except ConfigurationError:
            continue
    return frozenset(origins)


# -- which fields decide where credentials go ------------------------------------------------


def destination_settings(provider: Provider) -> frozenset[str]:
    """The provider's settings whose values decide where requests and credentials go: declared
    so (``Setting.destination``), URL-typed, used in an endpoint or OAuth2 URL template, or
    overriding a URL of the declaration."""
    templates = [*provider.endpoints.values()]
    if provider.oauth2 is not None:
        o = provider.oauth2
        templates += [o.authorize_url, o.token_url, o.refresh_url, o.revoke_url]
    used = {name for t in templates if t for name in url_placeholders(t)}
    return frozenset(
        s.name
        for s in provider.settings
        if s.destination
        or s.type == "url"
        or s.name in used
        or (s.overrides or "").endswith("_url")
    )


def destination_fields(
    provider: Provider, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """The fields (API names) that decide where credentials go and differ between two sets of
    integration values (snake_case columns, ``settings`` included)."""
    changed = [
        field for column, field in URL_COLUMNS.items() if before.get(column) != after.get(column)
    ]
    old = before.get("settings") or {}
    new = after.get("settings") or {}
    old_endpoints, new_endpoints = old.get("endpoints") or {}, new.get("endpoints") or {}
    for name in sorted(set(old_endpoints) | set(new_endpoints)):
        if old_endpoints.get(name) != new_endpoints.get(name):
            changed.append(f"settings.endpoints.{name}")
    defaults = {s.name: s.default for s in provider.settings}
    for name in sorted(destination_settings(provider)):
        if old.get(name, defaults[name]) != new.get(name, defaults[name]):
            changed.append(f"settings.{name}")
    return changed


def destination_origins(provider: Provider, integration: Integration) -> frozenset[str]:
    """Every origin this integration sends requests or credentials to: its API base, each named
    endpoint, and (for OAuth2) its authorize, token, refresh and revoke URLs."""
    urls: list[str | None] = [api_base_uri(provider, integration)]
    urls += endpoints_of(provider, integration).values()
    if integration.auth_type == "oauth2" and provider.oauth2 is not None:
        try:
            found = oauth_urls(provider, integration)
        except ConfigurationError:
            pass
        else:
            urls += [found.authorize, found.token, found.refresh, found.revoke]
    return frozenset(origin(url) for url in urls if url)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, the scheme's default port left out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def origins_text(origins: Iterable[str]) -> str:
    return ", ".join(sorted(origins)) or "none"
