"""The Sources browser: provider → services → folders → files, with downloads and exports."""

from __future__ import annotations

from collections.abc import Callable
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
    data["isPicture"] = item.kind == "file" and (item.mime_type or "").startswith("image/")
    data["exportFormats"] = list(item.extras.get("exportFormats") or [])
    return data


@web.get("/integrations/<ref>/browse/<service>")
@page
def browse_folder(user: User, ref: str, service: str) -> str | tuple[str, int]:
    """One page of a folder; "Load more" fetches the next page of the same folder."""
    parent = request.args.get("parent") or None
    return _listing(
        user,
        ref,
        service,
        "browse",
        lambda ctx, operation, cursor: data.browse(ctx, operation, parent, cursor, PAGE_SIZE),
        parent=parent,
    )


@web.get("/integrations/<ref>/browse/<service>/search")
@page
def search_service(user: User, ref: str, service: str) -> str | tuple[str, int]:
    """The items matching the search box's text, each with a link to the folder it lives in."""
    query = request.args.get("q", "")[:500]
    return _listing(
        user,
        ref,
        service,
        "search",
        lambda ctx, operation, cursor: data.search(ctx, operation, query, cursor, PAGE_SIZE),
        query=query,
    )


@web.get("/integrations/<ref>/browse/<service>/views/<view>")
@page
def browse_view(user: User, ref: str, service: str, view: str) -> str | tuple[str, int]:
    """One page of a view ("Shared with me", "Recent"…), browsed like a folder."""

    def fetch(ctx: Any, operation: Any, cursor: str | None) -> Any:
        chosen = data.view_of(ctx.provider, operation, view)
        return data.browse_view(ctx, chosen, cursor, PAGE_SIZE)

    return _listing(user, ref, service, "views", fetch, view=view)


def _listing(
    user: User,
    ref: str,
    service: str,
    operation_name: str,
    fetch: Callable[[Any, Any, str | None], Any],
    **extra: Any,
) -> str | tuple[str, int]:
    """A page of items — a folder, search results or a view — with "Load more", the search box,
    the service's views, and thumbnails of pictures."""
    integration, _ = access.find(user, ref)
    provider = provider_of(integration)
    cursor = request.args.get("cursor") or None
    context: dict[str, Any] = {
        "integration": integration,
        "provider": provider,
        "mode": operation_name,
        "parent": None,
        "query": None,
        "view": None,
        "items": [],
        "path": [],
        "next_cursor": None,
        "error": None,
        **extra,
    }
    try:
        operation = data.service_of(provider, service, operation_name)
        context["service"] = operation
        if operation_name == "views":
            context["view"] = data.view_of(provider, operation, extra["view"])
        result = fetch(data.context_for(provider, integration, user), operation, cursor)
    except HubError as exc:
        context["service"] = context.get("service") or provider.service(service)
        context["error"] = exc
        return render_page("browse.html", **context), exc.status
    items = [item_view(item) for item in result.items]
    context.update(
        items=items,
        path=result.path,
        next_cursor=result.next_cursor,
        downloadable=operation.download is not None,
        pictures=[i for i in items if i["isPicture"]] if operation.thumbnail else [],
    )
    return render_page("browse.html", **context)
