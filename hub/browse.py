"""Services, folders, downloads and previews: the core side of the data path."""

from __future__ import annotations

from typing import Any

from flask import Response

from hub.connections import connection_for
from hub.context import ProviderContext
from hub.disposition import content_disposition
from hub.errors import HubError, NotFound, ValidationError
from hub.items import Download, Page
from hub.models import Integration, User
from hub.providers import Provider, Service

MAX_LIMIT = 1000
PREVIEW_LIMIT = 20
SANDBOX = "default-src 'none'; sandbox"
#: On every answer that carries a provider's bytes (downloads, the proxy, and the hub's own error
#: answers there): nothing in it runs, is framed, is sniffed or is read by another origin.
SANDBOX_HEADERS = {
    "Content-Security-Policy": SANDBOX,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def service_of(provider: Provider, name: str, operation: str) -> Service:
    service = provider.service(name)
    if service is None:
        known = ", ".join(s.name for s in provider.services) or "none"
        raise NotFound(f"{provider.display_name} has no service {name!r}; it has: {known}")
    if getattr(service, operation) is None:
        raise ValidationError(
            f"{provider.display_name} cannot {operation} {service.display_name} yet",
            fields={"service": f"no {operation} operation"},
            code="not_supported",
        )
    return service


# connection_for's query, prepared: the data path runs it on every request.
def context_for(provider: Provider, integration: Integration, user: User) -> ProviderContext:
    return ProviderContext(provider, integration, connection_for(integration, user), user)


def describe_services(provider: Provider) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "displayName": s.display_name,
            "description": s.description,
            "browsable": s.browse is not None,
            "downloadable": s.download is not None,
        }
        for s in provider.services
    ]


def browse(
    context: ProviderContext, service: Service, parent: str | None, cursor: str | None, limit: int
) -> Page:
    page = service.browse(context, parent or None, cursor or None, limit)
    if not isinstance(page, Page):
        raise TypeError(f"{service.name}.browse returned {type(page).__name__}, not a Page")
    return page


def page_json(page: Page) -> dict[str, Any]:
    return {
        "items": [item.to_json() for item in page.items],
        "nextCursor": page.next_cursor,
        "path": [{"id": c.id, "name": c.name} for c in page.path],
    }


def preview(context: ProviderContext) -> dict[str, Any]:
    """A shallow tree: the first page of the top level of every browsable service."""
    services = []
    for service in context.provider.services:
        entry: dict[str, Any] = {"name": service.name, "displayName": service.display_name}
        if service.browse is None:
            entry.update(items=[], error="not browsable")
        else:
            try:
                page = browse(context, service, None, None, PREVIEW_LIMIT)
                entry.update(page_json(page))
            except HubError as exc:
                entry.update(items=[], error=exc.message, code=exc.code)
        services.append(entry)
    return {"services": services}


def download_response(download: Download) -> Response:
    """The bytes, streamed, with headers that keep a provider's file from running in the hub."""

    def chunks() -> Any:
        try:
            yield from download.chunks
        finally:
            if download.close is not None:
                download.close()

    response = Response(chunks(), status=download.status, mimetype=download.mime_type)
    response.direct_passthrough = True
    response.headers["Content-Disposition"] = content_disposition(download.filename)
    sandbox(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Accept-Ranges"] = "bytes"
    if download.size is not None:
        response.headers["Content-Length"] = str(download.size)
    if download.content_range:
        response.headers["Content-Range"] = download.content_range
    return response


def sandbox(response: Response) -> Response:
    """Set :data:`SANDBOX_HEADERS` on ``response`` (replacing any of them already there)."""
    for name, value in SANDBOX_HEADERS.items():
        response.headers[name] = value
    return response
