"""The sharing page of an integration: add a user or team at use / edit / manage, change, remove."""

from __future__ import annotations

from flask import request, url_for
from werkzeug.wrappers import Response

from hub import access, sharing
from hub.api.integration_connections import ConnectionsQuery, connections_page
from hub.api.validation import parse
from hub.errors import HubError, ValidationError
from hub.models import Integration, User
from hub.web import done, failed, form_errors, page, render_page, web

ACCESS_CHOICES = [
    ("use", "Use — connect, browse, download and call the API"),
    ("edit", "Edit — also change its settings"),
    ("manage", "Manage — also share, delete and set the shared account"),
]


def _sharing_page(integration: Integration, **context: object) -> str:
    # The page needs manage access: it also lists every connection (never a secret), one page
    # at a time, "More connections" carrying the next page's cursor.
    params = parse(ConnectionsQuery, {"cursor": request.args.get("cursor") or None}, where="query")
    listing = connections_page(integration, params)
    more_url = None
    if listing["nextCursor"]:
        more_url = url_for("web.sharing", ref=integration.id, cursor=listing["nextCursor"])
    return render_page(
        "sharing.html",
        integration=integration,
        shares=sharing.shares_of(integration),
        access_choices=ACCESS_CHOICES,
        connections=listing["items"],
        connections_more_url=more_url,
        **context,
    )


@web.get("/integrations/<ref>/sharing", endpoint="sharing")
@page
def sharing_page(user: User, ref: str) -> str:
    integration, _ = access.find(user, ref, need="manage")
    return _sharing_page(integration, errors={}, values={})


@web.post("/integrations/<ref>/sharing")
@page
def share(user: User, ref: str) -> str | Response | tuple[str, int]:
    """Share with someone new, or change the level of an existing share."""
    integration, _ = access.find(user, ref, need="manage")
    name = request.form.get("principal", "").strip()
    level = request.form.get("access", "")
    try:
        if not name:
            raise ValidationError(
                "whom to share with?", fields={"principal": "enter a user or team name"}
            )
        target = sharing.principal_named(name)
        sharing.set_share(user, integration, target, level)
    except HubError as exc:
        values = {"principal": name, "access": level}
        return _sharing_page(integration, errors=form_errors(exc), values=values), exc.status
    return done(f"{integration.name} is shared with {name} ({level}).", "web.sharing", ref=ref)


@web.post("/integrations/<ref>/sharing/<principal>/remove")
@page
def unshare(user: User, ref: str, principal: str) -> Response:
    integration, _ = access.find(user, ref, need="manage")
    try:
        sharing.remove_share(user, integration, sharing.principal_named(principal))
    except HubError as exc:
        return failed(exc, "web.sharing", ref=ref)
    return done(f"{integration.name} is no longer shared with {principal}.", "web.sharing", ref=ref)
