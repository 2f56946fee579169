"""Integrations: validated against their provider's declaration, created, changed, deleted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import peewee
from flask import current_app

from hub import audit, webhooks
from hub.access import can_own
from hub.accounts import CONTROL_CHARACTERS, find_principal
from hub.addresses import (
    URL_COLUMNS,
    destination_fields,
    destination_origins,
    oauth_urls,
    origins_text,
    redirect_uri,
)
from hub.clients import approved_origins, check_destinations
from hub.db import isoformat, utcnow, write_transaction
from hub.errors import ConfigurationError, Conflict, Forbidden, ValidationError
from hub.headers import HeaderContext, check_header_name, expand_headers, validate_headers
from hub.models import AUTH_TYPES, CONNECTION_MODES, Connection, Integration, Principal, User
from hub.netguard import check_url
from hub.providers import Provider

# Whole-string patterns (fullmatch): "$" would let a final newline through.
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
CONTROL = CONTROL_CHARACTERS
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 scope-token
OAUTH_ONLY = ("auth_uri", "token_uri", "client_id", "client_secret", "scope")
# Columns an API caller may set, by their camelCase names.
FIELD_NAMES = {
    "slug": "slug",
    "name": "name",
    "provider": "provider",
    "auth_type": "authType",
    "connection_mode": "connectionMode",
    "owner_id": "ownerId",
    "auth_uri": "authUri",
    "token_uri": "tokenUri",
    "client_id": "clientId",
    "client_secret": "clientSecret",
    "scope": "scope",
    "api_base_uri": "apiBaseUri",
    "headers": "headers",
    "settings": "settings",
    "credentials_export": "credentialsExport",
    "grant_type": "grantType",
}
GRANT_TYPES = ("authorization_code", "client_credentials")
# Fields only a manage user may change: who may take the credentials out, and how they are got.
MANAGE_ONLY = ("credentials_export", "grant_type")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63]
    return slug or "integration"


def registry() -> Any:
    return current_app.extensions["hub"].registry


class Problems:
    """Collects every field error of one request, so the caller sees them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def check(self, field: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ValidationError as exc:
            for name, message in (exc.fields or {field: exc.message}).items():
                self.add(name, message)
            return None

    def raise_if_any(self) -> None:
        if self.fields:
            names = ", ".join(self.fields)
            raise ValidationError(f"invalid integration: {names}", fields=self.fields)


def validate(values: dict[str, Any]) -> tuple[dict[str, Any], Provider]:
    """Check a complete set of integration values (snake_case) against its provider; return
    them normalised. Raises one :class:`ValidationError` naming every offending field."""
    problems = Problems()
    provider = registry().provider(values["provider"])
    if provider is None:
        installed = ", ".join(sorted(registry().providers))
        problems.add("provider", f"unknown provider {values['provider']!r}; installed: {installed}")
        problems.raise_if_any()
    values = dict(values)
    if values.get("auth_type") is None:
        values["auth_type"] = provider.auth_types[0]
    auth_type = values["auth_type"]
    if auth_type not in AUTH_TYPES:
        problems.add("authType", f"must be one of {', '.join(AUTH_TYPES)}")
    elif auth_type not in provider.auth_types:
        problems.add(
            "authType",
            f"provider {provider.name} supports {', '.join(provider.auth_types)}, not {auth_type}",
        )
    if values["connection_mode"] not in CONNECTION_MODES:
        problems.add("connectionMode", f"must be one of {', '.join(CONNECTION_MODES)}")
    name = values["name"].strip() if isinstance(values["name"], str) else ""
    if not name or CONTROL.search(name):
        problems.add("name", "must be 1-200 characters without control characters")
    values["name"] = name
    if not SLUG.fullmatch(values["slug"] or ""):
        problems.add(
            "slug",
            "use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
        )
    allow_private = current_app.config["ALLOW_PRIVATE_ADDRESSES"]
    for column, field in URL_COLUMNS.items():
        if values.get(column) is not None:
            values[column] = problems.check(
                field, check_url, values[column], field, allow_private=allow_private
            )
    if auth_type == "oauth2":
        oauth2 = provider.oauth2
        if oauth2 is not None and oauth2.authorize_url is None and not values.get("auth_uri"):
            problems.add("authUri", f"required: provider {provider.name} has no default")
        if oauth2 is not None and oauth2.token_url is None and not values.get("token_uri"):
            problems.add("tokenUri", f"required: provider {provider.name} has no default")
    else:
        for column in OAUTH_ONLY:
            if values.get(column):
                problems.add(
                    FIELD_NAMES[column], f"only used with authType oauth2, not {auth_type}"
                )
    _check_grant(values, auth_type, problems)
    if provider.api_endpoint is None and not values.get("api_base_uri"):
        problems.add("apiBaseUri", f"required: provider {provider.name} has no default")
    for column in ("client_id", "scope"):
        if values.get(column) is not None and CONTROL.search(values[column]):
            problems.add(FIELD_NAMES[column], "must not contain control characters")
    if values.get("scope") and not all(SCOPE_TOKEN.fullmatch(t) for t in values["scope"].split()):
        problems.add("scope", "space-separated scope tokens of printable ASCII")
    values["headers"] = (
        problems.check("headers", validate_headers, values["headers"], registry().header_variables)
        or {}
    )
    values["settings"] = _validate_settings(provider, values["settings"], problems, allow_private)
    problems.raise_if_any()
    return values, provider


def _check_grant(values: dict[str, Any], auth_type: str, problems: Problems) -> None:
    """A client-credentials grant gets a token for the client itself, with no user in the loop:
    only for a shared connection, and only with the integration's own client — never the hub's,
    which would hand anyone who can create an integration a token of the hub's application."""
    values["credentials_export"] = bool(values.get("credentials_export"))
    grant = values.get("grant_type") or "authorization_code"
    values["grant_type"] = grant
    if grant not in GRANT_TYPES:
        problems.add("grantType", f"must be one of {', '.join(GRANT_TYPES)}")
    elif grant == "client_credentials":
        if auth_type != "oauth2":
            problems.add("grantType", f"client_credentials is an OAuth2 grant, not {auth_type}")
        if values.get("connection_mode") != "shared":
            problems.add("connectionMode", "a client_credentials grant has no user: use shared")
        for column in ("client_id", "client_secret"):
            if not values.get(column):
                problems.add(
                    FIELD_NAMES[column],
                    "a client_credentials grant needs the integration's own client",
                )


def _validate_settings(
    provider: Provider, settings: Mapping[str, Any], problems: Problems, allow_private: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    declared = {s.name: s for s in provider.settings}
    for key, value in settings.items():
        field = f"settings.{key}"
        if key == "endpoints":
            clean["endpoints"] = _validate_endpoints(provider, value, problems, allow_private)
            continue
        setting = declared.get(key)
        if setting is None:
            known = ", ".join(sorted(declared)) or "none"
            problems.add(field, f"unknown setting of provider {provider.name}; known: {known}")
            continue
        if value is None:
            continue
        if setting.type == "boolean" and not isinstance(value, bool):
            problems.add(field, "must be true or false")
        elif setting.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            problems.add(field, "must be an integer")
        elif setting.type == "choice" and value not in setting.choices:
            problems.add(field, f"must be one of {', '.join(map(str, setting.choices))}")
        elif setting.type in ("string", "url", "header"):
            if not isinstance(value, str) or len(value) > 2048 or CONTROL.search(value):
                problems.add(field, "must be a string of at most 2048 characters")
                continue
            if setting.type == "url":
                value = problems.check(field, check_url, value, field, allow_private=allow_private)
            elif setting.type == "header" and value != "":
                value = problems.check(field, check_header_name, value, field)
            elif setting.pattern and value != "" and not re.fullmatch(setting.pattern, value):
                problems.add(
                    field,
                    f"is not a valid {setting.label.lower()}"
                    + (f": {setting.help}" if setting.help else ""),
                )
                continue
        clean[key] = value
    for setting in provider.settings:
        if setting.required and clean.get(setting.name) in (None, ""):
            problems.add(f"settings.{setting.name}", f"required by provider {provider.name}")
    return clean


def _validate_endpoints(
    provider: Provider, endpoints: object, problems: Problems, allow_private: bool
) -> dict[str, str]:
    if not isinstance(endpoints, dict):
        problems.add("settings.endpoints", "must be an object of endpoint name to base URL")
        return {}
    clean = {}
    for name, url in endpoints.items():
        field = f"settings.endpoints.{name}"
        if name not in provider.endpoints:
            known = ", ".join(sorted(provider.endpoints)) or "none"
            problems.add(
                field, f"provider {provider.name} has no endpoint {name!r}; known: {known}"
            )
            continue
        clean[name] = problems.check(field, check_url, url, field, allow_private=allow_private)
    return clean


# -- create, update, delete --------------------------------------------------------------------


def resolve_owner(user: User, owner_name: str | None) -> Principal:
    if owner_name is None:
        return user.principal
    owner = find_principal(owner_name)
    if owner is None:
        raise ValidationError(
            "unknown owner", fields={"ownerId": f"no user or team named {owner_name!r}"}
        )
    if not can_own(user, owner):
        raise Forbidden(
            "integrations can be owned by yourself or a team you belong to",
            fields={"ownerId": "not yours"},
        )
    return owner


def create(user: User, fields: dict[str, Any]) -> Integration:
    owner = resolve_owner(user, fields.pop("owner_id", None))
    secret = fields.pop("client_secret", None)
    fields.setdefault("slug", None)
    if fields["slug"] is None and isinstance(fields.get("name"), str):
        fields["slug"] = slugify(fields["name"])
    values, provider = validate({**fields, "client_secret": secret})
    values.pop("client_secret", None)
    check_hub_client(provider, values)
    try:
        with write_transaction():
            integration = Integration.create(owner=owner.id, created_by=user, **values)
            integration.set_secret("client_secret", secret)
            integration.save()
            audit.record(
                "integration.create",
                actor=user.principal_id,
                target_type="integration",
                target_id=f"{owner.name}:{integration.slug}",
                integration=integration,
                details={"provider": integration.provider, "authType": integration.auth_type},
            )
            webhooks.integration_event(
                "integration.created", integration, {"provider": integration.provider}
            )
    except peewee.IntegrityError as exc:
        raise _duplicate(owner, values["slug"]) from exc
    integration.owner = owner
    return integration


def update(
    user: User, integration: Integration, level: str, changes: dict[str, Any]
) -> Integration:
    """Apply a PATCH; ``changes`` holds only the fields the caller sent (snake_case)."""
    if "provider" in changes and changes["provider"] != integration.provider:
        raise ValidationError(
            "the provider cannot be changed",
            fields={"provider": "create a new integration for another provider"},
        )
    owner = integration.owner
    if "owner_id" in changes and changes["owner_id"] != owner.name:
        if level != "manage":
            raise Forbidden("moving an integration to another owner needs manage access")
        owner = resolve_owner(user, changes["owner_id"])
    secret_sent = "client_secret" in changes
    secret = changes.pop("client_secret", None)
    changes.pop("owner_id", None)
    current = {
        column: getattr(integration, column)
        for column in FIELD_NAMES
        if column not in ("owner_id", "client_secret")
    }
    merged = {**current, **changes}
    if merged["auth_type"] != "oauth2" and changes.get("auth_type"):
        for column in OAUTH_ONLY:
            if column not in changes:
                merged[column] = None
    # The stored secret counts for the checks that need one (a client-credentials grant).
    kept = "stored" if integration.client_secret is not None else None
    checked_secret = secret if secret_sent else (kept if merged["auth_type"] == "oauth2" else None)
    values, provider = validate({**merged, "client_secret": checked_secret})
    values.pop("client_secret", None)
    guarded = [FIELD_NAMES[c] for c in MANAGE_ONLY if values[c] != current[c]]
    if guarded and level != "manage":
        raise Forbidden(
            f"changing {', '.join(guarded)} needs manage access",
            fields=dict.fromkeys(guarded, "needs manage access"),
        )
    moved = destination_fields(provider, current, values)
    if moved and level != "manage":
        raise Forbidden(
            f"changing where credentials are sent ({', '.join(moved)}) needs manage access",
            fields=dict.fromkeys(moved, "needs manage access"),
        )
    check_hub_client(provider, values)
    auth_changed = (
        values["auth_type"] != integration.auth_type
        or values["grant_type"] != integration.grant_type
    )
    old_origins = destination_origins(provider, integration)
    try:
        with write_transaction():
            for column, value in values.items():
                setattr(integration, column, value)
            new_origins = destination_origins(provider, integration) - old_origins
            integration.owner = owner.id
            if secret_sent:
                integration.set_secret("client_secret", secret)
            elif auth_changed and values["auth_type"] != "oauth2":
                integration.set_secret("client_secret", None)
            integration.updated_at = utcnow()
            integration.save()
            if auth_changed:
                # Credentials of another auth type are useless now: nobody must use them.
                webhooks.connections_event("connection.disconnected", integration, removed=True)
                Connection.delete().where(Connection.integration == integration).execute()
            elif new_origins:
                _end_connections(user, integration, moved, new_origins)
            recorded = audit.record(
                "integration.update",
                actor=user.principal_id,
                target_type="integration",
                target_id=f"{owner.name}:{integration.slug}",
                integration=integration,
                details={
                    "fields": sorted(
                        FIELD_NAMES[c]
                        for c in [*changes, *(["client_secret"] if secret_sent else [])]
                    )
                },
            )
            webhooks.integration_event("integration.updated", integration, recorded.details)
    except peewee.IntegrityError as exc:
        raise _duplicate(owner, values["slug"]) from exc
    integration.owner = owner
    return integration


def check_hub_client(provider: Provider, values: Mapping[str, Any]) -> None:
    """An OAuth2 integration without a client of its own uses the hub's: refuse to save one
    whose OAuth2 URLs would take the hub's client somewhere it may not go (SECURITY 29)."""
    if values.get("auth_type") != "oauth2" or values.get("client_id"):
        return
    integration = Integration(**{c: values.get(c) for c in FIELD_NAMES if c in _COLUMNS})
    try:
        urls = oauth_urls(provider, integration)
    except ConfigurationError:
        return  # a missing address: validate() has named it already
    check_destinations(provider, integration, urls, approved_origins(provider))


def _end_connections(
    user: User, integration: Integration, fields: list[str], new_origins: frozenset[str]
) -> None:
    """The integration now sends requests to ``new_origins``: credentials made for the old
    addresses must never go there. Forget them and ask everyone to connect again."""
    ended = (
        Connection.update(
            status="needs_reauth",
            access_token=None,
            refresh_token=None,
            credentials=None,
            token_type=None,
            expires_at=None,
            retry_refresh_at=None,
            refresh_failures=0,
            last_error=(
                f"{integration.name} now sends requests to {origins_text(new_origins)}: "
                "connect again to send your credentials there"
            ),
            updated_at=utcnow(),
        )
        .where(Connection.integration == integration)
        .execute()
    )
    audit.record(
        "integration.destination.change",
        actor=user.principal_id,
        target_type="integration",
        target_id=integration.id,
        integration=integration,
        details={"fields": fields, "newOrigins": sorted(new_origins), "connectionsEnded": ended},
    )
    webhooks.connections_event("connection.needs_reauth", integration)


def store_icon(
    user: User, integration: Integration, data: bytes | None, media_type: str | None
) -> None:
    """Set (or, with ``None``, remove) the uploaded icon, audited in the same transaction."""
    details = {"type": media_type, "bytes": len(data)} if data is not None else {}
    with write_transaction():
        Integration.update(icon=data, icon_type=media_type, updated_at=utcnow()).where(
            Integration.id == integration.id
        ).execute()
        audit.record(
            "integration.icon.set" if data is not None else "integration.icon.delete",
            actor=user.principal_id,
            target_type="integration",
            target_id=integration.id,
            integration=integration,
            details=details,
        )
        webhooks.integration_event("integration.updated", integration, {"fields": ["icon"]})


def delete(user: User, integration: Integration) -> None:
    with write_transaction():
        audit.record(
            "integration.delete",
            actor=user.principal_id,
            target_type="integration",
            target_id=f"{integration.owner.name}:{integration.slug}",
            integration=integration,
            details={"provider": integration.provider},
        )
        webhooks.integration_event("integration.deleted", integration)
        integration.delete_instance()


def _duplicate(owner: Principal, slug: str) -> Conflict:
    return Conflict(
        f"{owner.name} already has an integration {slug!r}",
        fields={"slug": "taken for this owner"},
    )


_COLUMNS = frozenset(Integration._meta.fields)


# -- header templates --------------------------------------------------------------------------


def header_context(
    integration: Integration, user: User | None, connection: Connection | None
) -> HeaderContext:
    """What ``${...}`` in this integration's header templates expands to for ``user``."""
    return HeaderContext(
        user_id=user.principal_id if user else None,
        user_name=user.principal.name if user else None,
        user_email=user.email if user else None,
        tenant_id=str(current_app.config.get("TENANT_ID") or ""),
        integration_slug=integration.slug,
        integration_owner=integration.owner.name,
        connection_external_id=connection.external_id if connection else None,
        connection_metadata=connection.metadata if connection else None,
    )


def expanded_headers(
    integration: Integration, user: User | None, connection: Connection | None
) -> dict[str, str]:
    """The integration's headers for one request; refuses values with control characters."""
    if not integration.headers:
        return {}
    return expand_headers(
        integration.headers,
        header_context(integration, user, connection),
        registry().header_variables,
    )


# -- rendering -----------------------------------------------------------------------------


def render(integration: Integration, level: str, connection: Connection | None) -> dict[str, Any]:
    """An integration as the API shows it; secrets only as ``hasClientSecret``."""
    owner = integration.owner
    data = {
        "id": integration.id,
        "naturalId": f"{owner.name}:{integration.slug}",
        "slug": integration.slug,
        "name": integration.name,
        "provider": integration.provider,
        "authType": integration.auth_type,
        "connectionMode": integration.connection_mode,
        "ownerId": owner.name,
        "ownerType": owner.kind,
        "authUri": integration.auth_uri,
        "tokenUri": integration.token_uri,
        "clientId": integration.client_id,
        "hasClientSecret": integration.client_secret is not None,
        "scope": integration.scope,
        "apiBaseUri": integration.api_base_uri,
        "headers": integration.headers or {},
        "settings": integration.settings or {},
        "credentialsExport": integration.credentials_export,
        "grantType": integration.grant_type,
        "status": "not_connected" if connection is None else connection.status,
        "statusMessage": connection.last_error if connection is not None else None,
        "connectedAs": (connection.email or connection.display_name) if connection else None,
        "access": level,
        "hasIcon": integration.icon is not None,
        "iconUrl": f"/api/integrations/{integration.id}/icon",
        "createdAt": isoformat(integration.created_at),
        "updatedAt": isoformat(integration.updated_at),
    }
    if integration.auth_type == "oauth2":
        data["redirectUri"] = redirect_uri()
    return data
