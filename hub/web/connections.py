"""The Connections page: every integration you can see, its status, and what you can do with it."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, request, url_for
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from hub import access, authorize, connections, integrations
from hub.access import RANK
from hub.api.connect import provider_of, session_nonce
from hub.api.integrations import render_many
from hub.api.validation import parse
from hub.errors import HubError
from hub.ids import MAX_ID
from hub.models import Integration, User
from hub.web import done, failed, form_errors, page, render_page, sentence, web
from hub.web.oauth import result_page

PAGE_SIZE = 50


class PageOffset(BaseModel):
    """``?offset=`` of the Connections page: bounded, so a huge one is a 400, not an overflow."""

    model_config = ConfigDict(extra="ignore", strict=False)

    offset: int = Field(default=0, ge=0, le=MAX_ID)


STATUS_LABELS = {
    "connected": "Connected",
    "needs_reauth": "Needs re-authorisation",
    "error": "Error",
    "not_connected": "Not connected",
}


def explain(row: dict[str, Any]) -> str:
    """One sentence saying what a row's status means and what to do about it."""
    status, message = row["status"], row.get("statusMessage")
    shared = row["connectionMode"] == "shared"
    if status == "connected":
        who = "the shared account" if shared else "your account"
        account = f" {row['connectedAs']}" if row.get("connectedAs") else ""
        return f"Working: requests use {who}{account}."
    if status == "needs_reauth":
        reason = sentence(message) if message else "The provider no longer accepts the grant."
        return f"Reconnect to go on. {reason}"
    if status == "error":
        return f"The last attempt failed: {message or 'no details'}. Try refresh or reconnect."
    if shared:
        return "Nobody has connected the shared account yet" + (
            "." if row.get("mayConnect") else ": ask someone with manage access."
        )
    return "You have not connected your account yet."


def view_rows(user: User, rows: list[Integration]) -> list[dict[str, Any]]:
    """Rows as the API renders them, plus what the page needs: provider, labels, allowed actions."""
    registry = current_app.extensions["hub"].registry
    views = []
    for data in render_many(user, rows):
        provider = registry.provider(data["provider"])
        rank = RANK.get(data["access"] or "", 0)
        may_connect = data["connectionMode"] != "shared" or rank >= RANK["manage"]
        data.update(
            providerName=provider.display_name if provider else f"{data['provider']} (missing)",
            providerInstalled=provider is not None,
            isDemo=data["provider"] == "demo",
            browsable=bool(provider and any(s.browse for s in provider.services)),
            hasIconToShow=data["hasIcon"] or bool(provider and provider.icon),
            statusLabel=STATUS_LABELS[data["status"]],
            mayConnect=may_connect and provider is not None,
            mayEdit=rank >= RANK["edit"],
            mayManage=rank >= RANK["manage"],
        )
        data["statusExplained"] = explain(data)
        views.append(data)
    return views


@web.get("/connections", endpoint="connections")
@page
def connections_page(user: User) -> str:
    offset = parse(PageOffset, {"offset": request.args.get("offset") or 0}, where="query").offset
    query = (
        access.visible(user)
        .order_by(Integration.name, Integration.id)
        .offset(offset)
        .limit(PAGE_SIZE + 1)
    )
    rows = list(query)
    more = len(rows) > PAGE_SIZE
    return render_page(
        "connections.html",
        rows=view_rows(user, rows[:PAGE_SIZE]),
        next_offset=offset + PAGE_SIZE if more else None,
    )


@web.get("/connections/<id:integration_id>/row")
@page
def connection_row(user: User, integration_id: int) -> str:
    """One row of the Connections table, for the page's script to swap in after a change."""
    integration, _ = access.find(user, str(integration_id))
    return render_page("connection_row.html", row=view_rows(user, [integration])[0])


@web.get("/integrations/<ref>/connect")
@page
def connect(user: User, ref: str) -> Response:
    """Start connecting in this window or a popup: off to the provider's consent page. A failure
    ends on the same result page the callback shows, so the popup tells its opener either way."""
    integration = None
    try:
        integration, level = access.find(user, ref)
        if integration.grant_type == "client_credentials":
            authorize.connect_client(provider_of(integration), integration, user, level)
            return result_page(
                True, f"{integration.name} is connected.", integration.id, "/connections", 200
            )
        url = authorize.start(
            provider_of(integration),
            integration,
            user,
            level,
            session_nonce=session_nonce(),
            return_to=url_for("web.connections"),
        )
    except HubError as exc:
        return result_page(
            False, exc.message, integration.id if integration else None, "/connections", exc.status
        )
    return redirect(url, code=302)


@web.post("/integrations/<ref>/refresh")
@page
def refresh(user: User, ref: str) -> Response:
    integration, level = access.find(user, ref)
    try:
        connections.refresh_now(provider_of(integration), integration, user, level)
    except HubError as exc:
        return failed(exc, "web.connections")
    return done(f"{integration.name}: the access token was refreshed.", "web.connections")


@web.post("/integrations/<ref>/disconnect")
@page
def disconnect(user: User, ref: str) -> Response:
    integration, level = access.find(user, ref)
    try:
        connections.disconnect(integration, user, level)
    except HubError as exc:
        return failed(exc, "web.connections")
    return done(f"{integration.name} is disconnected.", "web.connections")


@web.post("/integrations/<ref>/delete")
@page
def delete(user: User, ref: str) -> Response:
    integration, _ = access.find(user, ref, need="manage")
    try:
        integrations.delete(user, integration)
    except HubError as exc:
        return failed(exc, "web.connections")
    return done(f"{integration.name} was deleted.", "web.connections")


CREDENTIAL_LABELS = {
    "apiKey": ("API key", "password"),
    "username": ("Username", "text"),
    "password": ("Password", "password"),
    "token": ("Bearer token", "password"),
}


@web.route("/integrations/<ref>/credentials", methods=["GET", "POST"])
@page
def credentials(user: User, ref: str) -> str | Response | tuple[str, int]:
    """Type in an API key, basic credentials or a bearer token (never shown again)."""
    integration, level = access.find(user, ref)
    if integration.auth_type == "oauth2":
        return redirect(url_for("web.connect", ref=integration.id))
    names = list(connections.CREDENTIAL_FIELDS[integration.auth_type])
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in names}
        try:
            connections.set_credentials(
                integration, user, level, {k: v for k, v in values.items() if v}
            )
        except HubError as exc:
            errors = form_errors(exc)
        else:
            return done(f"{integration.name} is connected.", "web.connections")
    fields = [(name, *CREDENTIAL_LABELS[name]) for name in names]
    status = 400 if errors else 200
    provider = current_app.extensions["hub"].registry.provider(integration.provider)
    auth_help = provider.auth_help.get(integration.auth_type) if provider else None
    return render_page(
        "credentials.html",
        integration=integration,
        fields=fields,
        errors=errors,
        auth_help=auth_help,
    ), status
