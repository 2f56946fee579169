"""Services, folders, downloads and previews: the core side of the data path."""

from __future__ import annotations

from typing import Any

from flask import Response

from hub.connections import connection_for
from hub.context import ProviderContext
from hub.disposition import content_disposition
from hub.errors import HubError, NotFound, UpstreamFailed, ValidationError
from hub.icons import icon_response, image_type
from hub.items import Download, Page
from hub.models import Integration, User
from hub.providers import Provider, Service, View

MAX_LIMIT = 1000
PREVIEW_LIMIT = 20
MAX_THUMBNAIL_BYTES = 1024 * 1024
THUMBNAIL_SIZES = (16, 1024)  # the range of ``size`` a caller may ask for, in pixels
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
    if not getattr(service, operation):
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
            "searchable": s.search is not None,
            "thumbnails": s.thumbnail is not None,
            "views": describe_views(s),
        }
        for s in provider.services
    ]


def describe_views(service: Service) -> list[dict[str, str]]:
    return [
        {"name": v.name, "displayName": v.display_name, "description": v.description}
        for v in service.views
    ]


def browse(
    context: ProviderContext, service: Service, parent: str | None, cursor: str | None, limit: int
) -> Page:
    page = service.browse(context, parent or None, cursor or None, limit)
    return _checked(page, f"{service.name}.browse")


def search(
    context: ProviderContext, service: Service, query: str, cursor: str | None, limit: int
) -> Page:
    """One page of the items matching ``query`` (searched for as typed: see :mod:`hub.items`)."""
    if not query.strip():
        raise ValidationError("say what to search for", fields={"q": "1-500 characters"})
    page = service.search(context, query, cursor or None, limit)
    return _checked(page, f"{service.name}.search")


def view_of(provider: Provider, service: Service, name: str) -> View:
    view = service.view(name)
    if view is None:
        known = ", ".join(v.name for v in service.views) or "none"
        raise NotFound(
            f"{provider.display_name} {service.display_name} has no view {name!r}; it has: {known}"
        )
    return view


def browse_view(context: ProviderContext, view: View, cursor: str | None, limit: int) -> Page:
    return _checked(view.browse(context, cursor or None, limit), f"view {view.name}")


def _checked(page: object, what: str) -> Page:
    if not isinstance(page, Page):
        raise TypeError(f"{what} returned {type(page).__name__}, not a Page")
    return page


def thumbnail_response(download: Download) -> Response:
    """A thumbnail as the hub serves it: read whole up to :data:`MAX_THUMBNAIL_BYTES`, served
    only if its bytes are a PNG, JPEG or WebP (whatever type the provider claimed), under the
    same headers as icons — a thumbnail can never be a page in the hub's origin."""
    data = bytearray()
    try:
        for chunk in download.chunks:
            data.extend(chunk)
            if len(data) > MAX_THUMBNAIL_BYTES:
                raise UpstreamFailed(
                    f"the thumbnail is larger than {MAX_THUMBNAIL_BYTES // 1024} KiB",
                    code="thumbnail_too_large",
                )
    finally:
        if download.close is not None:
            download.close()
    media_type = image_type(bytes(data))
    if media_type is None:
        raise UpstreamFailed(
            "the provider's thumbnail is not a PNG, JPEG or WebP image", code="not_an_image"
        )
    response = icon_response(bytes(data), media_type)
    response.headers["Content-Disposition"] = "inline"
    response.headers.update(SANDBOX_HEADERS)
    return response


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
