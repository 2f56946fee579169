"""The Sources browser: provider → services → folders → files, with downloads and exports."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from hub import access
from hub import browse as data
from hub.api.connect import provider_of
from hub.errors import HubError
from hub.items import Item
from hub.models import Integration, User
from hub.web import page, render_page, web
from hub.web.connections import view_rows

PAGE_SIZE = 100


@web.get("/sources")
@page
def sources(user: User) -> str:
    """Every integration you can see whose provider has something to browse."""
    registry = current_app.extensions["hub"].registry
    rows = access.visible(user).order_by(Integration.name, Integration.id)
    browsable = [
        row
        for row in rows
        if (provider := registry.provider(row.provider)) is not None
        and any(s.browse for s in provider.services)
    ]
    return render_page("sources.html", rows=view_rows(user, browsable))


@web.get("/integrations/<ref>/browse", endpoint="browse")
@page
def browse_services(user: User, ref: str) -> str:
    integration, _ = access.find(user, ref)
    provider = provider_of(integration)
    return render_page(
        "browse_services.html",
        integration=integration,
        provider=provider,
        row=view_rows(user, [integration])[0],
    )


def item_view(item: Item) -> dict[str, Any]:
    data = item.to_json()
    data["isMessage"] = item.mime_type == "message/rfc822" or item.name.endswith(".eml")
    data["exportFormats"] = list(item.extras.get("exportFormats") or [])
    return data


@web.get("/integrations/<ref>/browse/<service>")
@page
def browse_folder(user: User, ref: str, service: str) -> str | tuple[str, int]:
    """One page of a folder; "Load more" fetches the next page of the same folder."""
    integration, _ = access.find(user, ref)
    provider = provider_of(integration)
    parent = request.args.get("parent") or None
    cursor = request.args.get("cursor") or None
    context: dict[str, Any] = {
        "integration": integration,
        "provider": provider,
        "parent": parent,
        "items": [],
        "path": [],
        "next_cursor": None,
        "error": None,
    }
    try:
        operation = data.service_of(provider, service, "browse")
        context["service"] = operation
        result = data.browse(
            data.context_for(provider, integration, user), operation, parent, cursor, PAGE_SIZE
        )
    except HubError as exc:
        context.setdefault("service", provider.service(service))
        context["error"] = exc
        return render_page("browse.html", **context), exc.status
    context.update(
        items=[item_view(item) for item in result.items],
        path=result.path,
        next_cursor=result.next_cursor,
        downloadable=operation.download is not None,
    )
    return render_page("browse.html", **context)
