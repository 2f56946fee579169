"""Create and edit integrations with forms generated from what the provider plugin declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from hub import access, integrations
from hub.addresses import destination_settings, redirect_uri
from hub.api.providers import credentials_source
from hub.errors import HubError, ValidationError
from hub.icons import sniff_icon
from hub.models import Integration, Membership, Principal, Team, User
from hub.providers import Provider, Setting
from hub.web import done, form_errors, page, render_page, web

AUTH_LABELS = {
    "oauth2": "OAuth 2.0 (sign in at the provider)",
    "apikey": "API key",
    "basic": "Username and password (HTTP Basic)",
    "bearer": "Bearer token",
}
MODE_LABELS = {
    "per-user": "Each user connects their own account",
    "shared": "One shared account for everybody who can use it",
}


@dataclass(frozen=True)
class SettingField:
    """One provider setting as a form field (``settings.<name>``)."""

    setting: Setting
    value: Any

    @property
    def name(self) -> str:
        return f"settings.{self.setting.name}"

    @property
    def options(self) -> list[tuple[str, str]]:
        """A choice setting's options, led by "the provider's default"."""
        default = f"Default ({self.setting.default})" if self.setting.default else "Default"
        return [("", default)] + [(str(c), str(c)) for c in self.setting.choices]


def _registry() -> Any:
    return current_app.extensions["hub"].registry


def _providers() -> list[Provider]:
    return sorted(_registry().providers.values(), key=lambda p: (p.name == "custom", p.name))


def _owners(user: User) -> list[tuple[str, str]]:
    """Who may own an integration ``user`` creates: themselves and their teams."""
    teams = (
        Principal.select(Principal)
        .join(Team, on=(Team.principal == Principal.id))
        .join(Membership, on=(Membership.team == Team.principal))
        .where(Membership.user == user)
        .order_by(Principal.name)
    )
    own = user.principal
    return [(own.name, f"{own.name} (you)")] + [
        (t.name, f"{t.display_name or t.name} (team)") for t in teams
    ]


def _parse_headers(text: str) -> dict[str, str]:
    """``Name: template`` lines into a dict; a line without a colon is an error."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, template = line.partition(":")
        if not colon or not name.strip():
            raise ValidationError(
                "header lines are `Name: template`",
                fields={"headers": f"line {number} has no `Name:`"},
            )
        headers[name.strip()] = template.strip()
    return headers


def _parse_setting(setting: Setting, form: MultiDict) -> Any:
    raw = form.get(f"settings.{setting.name}", "")
    if setting.type == "boolean":
        return raw == "on"
    if raw.strip() == "":
        return None
    if setting.type == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValidationError(
                "not a whole number", fields={f"settings.{setting.name}": "must be a whole number"}
            ) from None
    return raw.strip()


def _optional(form: MultiDict, name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def fields_from_form(provider: Provider, form: MultiDict, *, editing: bool) -> dict[str, Any]:
    """The domain's integration fields (snake_case) from the submitted form."""
    problems: dict[str, str] = {}
    fields: dict[str, Any] = {
        "name": form.get("name", ""),
        "auth_type": form.get("authType") or provider.auth_types[0],
        "connection_mode": form.get("connectionMode", "per-user"),
        "client_id": _optional(form, "clientId"),
        "scope": _optional(form, "scope"),
        "auth_uri": _optional(form, "authUri"),
        "token_uri": _optional(form, "tokenUri"),
        "api_base_uri": _optional(form, "apiBaseUri"),
    }
    if form.get("slug", "").strip() or editing:
        fields["slug"] = form.get("slug", "").strip()
    if form.get("ownerId"):
        fields["owner_id"] = form["ownerId"]
    # Shown to managers only: absent from an edit sharee's form, so left unchanged.
    if "grantType" in form:
        fields["grant_type"] = form["grantType"]
    if "credentialsExportShown" in form:
        fields["credentials_export"] = form.get("credentialsExport") == "on"
    secret = form.get("clientSecret", "")
    if secret:
        fields["client_secret"] = secret
    elif form.get("clearClientSecret") == "on":
        fields["client_secret"] = None
    if fields["auth_type"] != "oauth2":
        for column in ("client_id", "scope", "auth_uri", "token_uri"):
            fields[column] = None
        if "grant_type" in fields:
            fields["grant_type"] = "authorization_code"
        if editing and "client_secret" not in fields:
            fields.pop("client_secret", None)
    settings: dict[str, Any] = {}
    for setting in provider.settings:
        try:
            value = _parse_setting(setting, form)
        except ValidationError as exc:
            problems.update(exc.fields)
            continue
        if value is not None:
            settings[setting.name] = value
    endpoints = {
        name: form.get(f"settings.endpoints.{name}", "").strip()
        for name in provider.endpoints
        if form.get(f"settings.endpoints.{name}", "").strip()
    }
    if endpoints:
        settings["endpoints"] = endpoints
    fields["settings"] = settings
    try:
        fields["headers"] = _parse_headers(form.get("headers", ""))
    except ValidationError as exc:
        problems.update(exc.fields)
    if problems:
        raise ValidationError("some fields need attention", fields=problems)
    return fields


def _icon_upload(form_files: Any) -> tuple[bytes, str] | None:
    upload = form_files.get("icon")
    if upload is None or not upload.filename:
        return None
    data = upload.read()
    try:
        return data, sniff_icon(data)
    except HubError as exc:
        raise ValidationError(exc.message, fields={"icon": exc.message}) from exc


def _form_page(
    user: User,
    provider: Provider,
    values: dict[str, Any],
    errors: dict[str, str],
    integration: Integration | None = None,
    level: str | None = None,
) -> str:
    settings = values.get("settings") or {}
    oauth2 = provider.oauth2
    return render_page(
        "integration_form.html",
        provider=provider,
        integration=integration,
        level=level,
        values=values,
        errors=errors,
        owners=_owners(user),
        auth_choices=[(a, AUTH_LABELS[a]) for a in provider.auth_types],
        mode_choices=list(MODE_LABELS.items()),
        setting_fields=[
            SettingField(s, settings.get(s.name, s.default)) for s in provider.settings
        ],
        endpoints=settings.get("endpoints") or {},
        default_scope=" ".join(oauth2.scopes) if oauth2 else "",
        redirect_uri=redirect_uri(),
        destination_settings=destination_settings(provider),
        client_source=credentials_source(provider) if oauth2 else None,
        addresses_open=bool(values.get("apiBaseUri") or values.get("authUri"))
        or any(
            key in ("apiBaseUri", "authUri", "tokenUri") or key.startswith("settings.endpoints")
            for key in errors
        ),
        headers_open=bool(values.get("headers")) or any(k.startswith("headers") for k in errors),
        header_variables=sorted(
            _registry().header_variables.values(), key=lambda variable: variable.name
        ),
    )


def _form_values(form: MultiDict) -> dict[str, Any]:
    """What the user typed, to show again next to the errors (never the client secret)."""
    values: dict[str, Any] = {
        k: v for k, v in form.items() if k not in ("clientSecret", "csrf_token")
    }
    values["settings"] = {
        key.removeprefix("settings."): value
        for key, value in form.items()
        if key.startswith("settings.") and not key.startswith("settings.endpoints.")
    }
    values["settings"]["endpoints"] = {
        key.removeprefix("settings.endpoints."): value
        for key, value in form.items()
        if key.startswith("settings.endpoints.")
    }
    return values


@web.route("/integrations/new", methods=["GET", "POST"])
@page
def new_integration(user: User) -> str | Response | tuple[str, int]:
    name = request.values.get("provider", "")
    provider = _registry().provider(name) if name else None
    if provider is None:
        status = 400 if name else 200
        error = f"no provider named {name!r} is installed" if name else None
        return render_page("choose_provider.html", providers=_providers(), error=error), status
    if request.method == "GET":
        values = {"authType": provider.auth_types[0], "connectionMode": "per-user"}
        return _form_page(user, provider, values, {})
    try:
        fields = fields_from_form(provider, request.form, editing=False)
        fields["provider"] = provider.name
        icon = _icon_upload(request.files)
        integration = integrations.create(user, fields)
        if icon is not None:
            integrations.store_icon(user, integration, *icon)
    except HubError as exc:
        errors = form_errors(exc)
        return _form_page(user, provider, _form_values(request.form), errors), exc.status
    return done(f"{integration.name} was created.", "web.connections")


def _stored_values(integration: Integration) -> dict[str, Any]:
    return {
        "name": integration.name,
        "slug": integration.slug,
        "ownerId": integration.owner.name,
        "authType": integration.auth_type,
        "connectionMode": integration.connection_mode,
        "clientId": integration.client_id,
        "scope": integration.scope,
        "authUri": integration.auth_uri,
        "tokenUri": integration.token_uri,
        "apiBaseUri": integration.api_base_uri,
        "headers": "\n".join(f"{k}: {v}" for k, v in (integration.headers or {}).items()),
        "settings": integration.settings or {},
        "hasClientSecret": integration.client_secret is not None,
        "hasIcon": integration.icon is not None,
        "grantType": integration.grant_type,
        "credentialsExport": "on" if integration.credentials_export else "",
    }


@web.route("/integrations/<ref>/edit", methods=["GET", "POST"])
@page
def edit_integration(user: User, ref: str) -> str | Response | tuple[str, int]:
    integration, level = access.find(user, ref, need="edit")
    provider = _registry().provider(integration.provider)
    if provider is None:
        raise ValidationError(
            f"provider {integration.provider!r} is not installed: install its plugin to edit this"
        )
    if request.method == "GET":
        return _form_page(user, provider, _stored_values(integration), {}, integration, level)
    try:
        changes = fields_from_form(provider, request.form, editing=True)
        icon = _icon_upload(request.files)
        integration = integrations.update(user, integration, level, changes)
        if icon is not None:
            integrations.store_icon(user, integration, *icon)
        elif request.form.get("removeIcon") == "on" and integration.icon is not None:
            integrations.store_icon(user, integration, None, None)
    except HubError as exc:
        values = {
            **_form_values(request.form),
            "hasClientSecret": integration.client_secret is not None,
        }
        errors = form_errors(exc)
        return _form_page(user, provider, values, errors, integration, level), exc.status
    return done(f"{integration.name} was saved.", "web.connections")
