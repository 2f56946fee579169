"""The admin area (administrators only): users, teams, provider clients, plugins, audit log.

Each section is a page under ``/admin``; its forms call the same domain functions (and the same
request schemas) as the JSON API, so a rule holds on both paths.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from werkzeug.wrappers import Response

from hub import accounts, sessions
from hub.addresses import redirect_uri
from hub.api import render
from hub.api.accounts import MemberPut, TeamCreate, UserCreate
from hub.api.audit_log import AuditQuery, events_page
from hub.api.providers import (
    CredentialsPut,
    forget_credentials,
    get_provider,
    registry,
    store_credentials,
)
from hub.api.session import sign_out_everywhere
from hub.api.validation import parse
from hub.clients import (
    approved_origins,
    config_prefix,
    credentials_source,
    env_client,
    stored_credentials,
)
from hub.errors import HubError, NotFound, ValidationError
from hub.models import PRINCIPAL_USER, TEAM_ROLES, AuditEvent, Principal, Team, User
from hub.providers import Provider
from hub.web import admin_page, done, failed, form_errors, render_page, web

ROLE_CHOICES = [(role, role.capitalize()) for role in TEAM_ROLES]
SOURCE_LABELS = {
    "env": "Environment",
    "stored": "Stored by an administrator",
    "none": "Not configured",
}
AUDIT_FILTERS = ("action", "actor", "integration")


def _form(*names: str) -> dict[str, str]:
    """The named form fields, stripped; empty ones left out (so a schema says "required")."""
    values = {name: request.form.get(name, "").strip() for name in names}
    return {name: value for name, value in values.items() if value}


# -- overview ----------------------------------------------------------------------------------


@web.get("/admin")
@admin_page
def admin(user: User) -> str:
    plugins = registry().listing()
    return render_page(
        "admin.html",
        users=User.select().count(),
        teams=Team.select().count(),
        unconfigured=[p.name for p in _oauth_providers() if credentials_source(p) == "none"],
        plugins=len(plugins),
        failed_plugins=[p.name for p in plugins if p.status == "failed"],
        events=AuditEvent.select().count(),
    )


# -- users -------------------------------------------------------------------------------------


def _users_page(**context: Any) -> str:
    users = User.select(User, Principal).join(Principal).order_by(Principal.name)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render_page("admin_users.html", users=[render.user(u) for u in users], **context)


@web.get("/admin/users")
@admin_page
def admin_users(user: User) -> str:
    return _users_page()


@web.post("/admin/users")
@admin_page
def admin_create_user(user: User) -> str | tuple[str, int] | Response:
    form = _form("name", "displayName", "email")
    data: dict[str, Any] = {
        **form,
        "password": request.form.get("password", ""),
        "isSuperuser": request.form.get("isSuperuser") == "on",
    }
    try:
        new = parse(UserCreate, data, where="form").create(user)
    except HubError as exc:
        form["isSuperuser"] = data["isSuperuser"]
        return _users_page(errors=form_errors(exc), form=form), 400
    return done(f"The user {new.name} was created.", "web.admin_user", name=new.name)


def _user_page(subject: User, **context: Any) -> str:
    context.setdefault("errors", {})
    return render_page(
        "admin_user.html",
        subject=render.user(subject),
        teams=render.memberships_of(subject),
        open_sessions=sessions.live(subject).count(),
        **context,
    )


@web.get("/admin/users/<name>")
@admin_page
def admin_user(user: User, name: str) -> str:
    return _user_page(accounts.get_user(name))


@web.post("/admin/users/<name>/password")
@admin_page
def admin_reset_password(user: User, name: str) -> str | tuple[str, int] | Response:
    subject = accounts.get_user(name)
    try:
        accounts.set_password(subject, request.form.get("password", ""), actor=user)
    except HubError as exc:
        return _user_page(subject, errors=form_errors(exc)), 400
    return done(
        f"The password of {name} was changed; their other sessions ended.",
        "web.admin_user",
        name=name,
    )


@web.post("/admin/users/<name>/active")
@admin_page
def admin_set_active(user: User, name: str) -> Response:
    subject = accounts.get_user(name)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(subject, active, actor=user)
    except HubError as exc:
        return failed(exc, "web.admin_user", name=name)
    message = f"{name} can sign in again." if active else f"{name} can no longer sign in."
    return done(message, "web.admin_user", name=name)


@web.post("/admin/users/<name>/sessions/end")
@admin_page
def admin_end_sessions(user: User, name: str) -> Response:
    subject = accounts.get_user(name)
    sign_out_everywhere(subject, actor=user)
    return done(
        f"{name} was signed out everywhere; their API tokens still work.",
        "web.admin_user",
        name=name,
    )


# -- teams -------------------------------------------------------------------------------------


def _teams_page(**context: Any) -> str:
    teams = Team.select(Team, Principal).join(Principal).order_by(Principal.name)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render_page("admin_teams.html", teams=[render.team(t) for t in teams], **context)


@web.get("/admin/teams")
@admin_page
def admin_teams(user: User) -> str:
    return _teams_page()


@web.post("/admin/teams")
@admin_page
def admin_create_team(user: User) -> str | tuple[str, int] | Response:
    form = _form("slug", "name", "description")
    try:
        team = parse(TeamCreate, form, where="form").create(user)
    except HubError as exc:
        return _teams_page(errors=form_errors(exc), form=form), 400
    return done(f"The team {team.slug} was created.", "web.admin_team", slug=team.slug)


def _team_page(team: Team, **context: Any) -> str:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    users = (
        Principal.select(Principal.name)
        .where(Principal.kind == PRINCIPAL_USER)
        .order_by(Principal.name)
    )
    return render_page(
        "admin_team.html",
        team=render.team(team),
        user_names=[p.name for p in users],
        roles=ROLE_CHOICES,
        **context,
    )


@web.get("/admin/teams/<slug>")
@admin_page
def admin_team(user: User, slug: str) -> str:
    return _team_page(accounts.get_team(slug))


@web.post("/admin/teams/<slug>/members")
@admin_page
def admin_add_member(user: User, slug: str) -> str | tuple[str, int] | Response:
    team = accounts.get_team(slug)
    form = _form("user", "role")
    try:
        role = parse(MemberPut, {"role": form.get("role", "member")}, where="form").role
        if not form.get("user"):
            raise ValidationError("choose a user to add", fields={"user": "required"})
        member = _member(form["user"])
        accounts.set_membership(team, member, role, user)
    except HubError as exc:
        return _team_page(team, errors=form_errors(exc), form=form), 400
    return done(f"{member.name} is now a team {role}.", "web.admin_team", slug=slug)


@web.post("/admin/teams/<slug>/members/<name>")
@admin_page
def admin_set_role(user: User, slug: str, name: str) -> Response:
    team = accounts.get_team(slug)
    try:
        role = parse(MemberPut, {"role": request.form.get("role", "")}, where="form").role
        accounts.set_membership(team, _member(name), role, user)
    except HubError as exc:
        return failed(exc, "web.admin_team", slug=slug)
    return done(f"{name} is now a team {role}.", "web.admin_team", slug=slug)


@web.post("/admin/teams/<slug>/members/<name>/remove")
@admin_page
def admin_remove_member(user: User, slug: str, name: str) -> Response:
    team = accounts.get_team(slug)
    try:
        accounts.remove_membership(team, _member(name), user)
    except HubError as exc:
        return failed(exc, "web.admin_team", slug=slug)
    return done(f"{name} was removed from {slug}.", "web.admin_team", slug=slug)


def _member(name: str) -> User:
    try:
        return accounts.get_user(name)
    except NotFound as exc:
        raise ValidationError(exc.message, fields={"user": "no user with this name"}) from None


# -- provider clients --------------------------------------------------------------------------


def _oauth_providers() -> list[Provider]:
    providers = (p for p in registry().providers.values() if p.oauth2 is not None)
    return sorted(providers, key=lambda p: p.name)


def _client(provider: Provider) -> dict[str, Any]:
    """Where the provider's OAuth client comes from, its id and whether it has a secret.

    Never the secret itself.
    """
    env_id, env_secret = env_client(provider)
    stored = stored_credentials(provider)
    source = credentials_source(provider)
    return {
        "name": provider.name,
        "displayName": provider.display_name,
        "source": source,
        "sourceLabel": SOURCE_LABELS[source],
        "clientId": env_id if source == "env" else stored.client_id if stored else None,
        "hasClientSecret": env_secret if source == "env" else bool(stored and stored.client_secret),
        "stored": stored is not None,
        "envPrefix": "HUB_" + config_prefix(provider),
        "approvedOrigins": sorted(approved_origins(provider)),
        "storedOrigins": sorted(stored.approved_origins or []) if stored else [],
    }


def _oauth_provider(name: str) -> Provider:
    provider = get_provider(name)
    if provider.oauth2 is None:
        raise NotFound(f"provider {name!r} does not use OAuth 2.0")
    return provider


@web.get("/admin/providers")
@admin_page
def admin_providers(user: User) -> str:
    return render_page(
        "admin_providers.html",
        clients=[_client(p) for p in _oauth_providers()],
        redirect_uri=redirect_uri(),
    )


def _provider_page(provider: Provider, **context: Any) -> str:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render_page(
        "admin_provider.html",
        client=_client(provider),
        redirect_uri=redirect_uri(),
        **context,
    )


@web.get("/admin/providers/<name>")
@admin_page
def admin_provider(user: User, name: str) -> str:
    return _provider_page(_oauth_provider(name))


@web.post("/admin/providers/<name>/credentials")
@admin_page
def admin_set_credentials(user: User, name: str) -> str | tuple[str, int] | Response:
    provider = _oauth_provider(name)
    form = {**_form("clientId"), "approvedOrigins": request.form.get("approvedOrigins", "")}
    data = {
        **_form("clientId"),
        "clientSecret": request.form.get("clientSecret") or None,
        "approvedOrigins": form["approvedOrigins"].split(),
    }
    try:
        payload = parse(CredentialsPut, data, where="form")
        store_credentials(
            provider, payload.client_id, payload.client_secret, user, payload.approved_origins
        )
    except HubError as exc:
        # The secret is never sent back, not even into the form it came from.
        return _provider_page(provider, errors=form_errors(exc), form=form), 400
    return done(
        f"The OAuth client of {provider.display_name} was stored.", "web.admin_provider", name=name
    )


@web.post("/admin/providers/<name>/credentials/forget")
@admin_page
def admin_forget_credentials(user: User, name: str) -> Response:
    provider = _oauth_provider(name)
    try:
        forget_credentials(provider, user)
    except HubError as exc:
        return failed(exc, "web.admin_provider", name=name)
    return done(
        f"The stored OAuth client of {provider.display_name} was forgotten.",
        "web.admin_provider",
        name=name,
    )


# -- plugins -----------------------------------------------------------------------------------


@web.get("/admin/plugins")
@admin_page
def admin_plugins(user: User) -> str:
    return render_page("admin_plugins.html", plugins=[p.to_dict() for p in registry().listing()])


# -- audit log ---------------------------------------------------------------------------------


@web.get("/admin/audit")
@admin_page
def admin_audit(user: User) -> str | tuple[str, int]:
    """Newest first; "Load more" carries the filters and the next page's cursor."""
    filters = {name: request.args.get(name, "").strip() for name in AUDIT_FILTERS}
    given = {name: value for name, value in filters.items() if value}
    cursor = request.args.get("cursor") or None
    try:
        result = events_page(parse(AuditQuery, {**given, "cursor": cursor}, where="query"))
    except HubError as exc:
        context = {"events": [], "next_url": None, "errors": form_errors(exc)}
        return render_page("admin_audit.html", filters=filters, **context), 400
    next_url = None
    if result["nextCursor"]:
        next_url = url_for("web.admin_audit", cursor=result["nextCursor"], **given)
    return render_page(
        "admin_audit.html", events=result["items"], next_url=next_url, filters=filters, errors={}
    )
