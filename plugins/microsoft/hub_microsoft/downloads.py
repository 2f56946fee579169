"""Downloads: ``GET /drives/{d}/items/{i}/content`` answers ``302`` to a pre-authenticated URL on
a Microsoft download host (Graph's driveitem-get-content reference; rclone's
``openWithRedirect``). That URL needs no token, so the hub follows it *without* the
Authorization header, and only to hosts Graph downloads from:

- https on the default port to ``*.sharepoint.com`` (work and school drives), ``*.1drv.com``
  (personal OneDrive: ``*.files.1drv.com``, ``public.*.files.1drv.com``) or
  ``*.livefilestore.com`` (older personal OneDrive download hosts);
- or the origin of the integration's ``downloads`` endpoint (by default
  ``https://files.1drv.com``, already among the above; an operator moves it with
  ``HUB_MICROSOFT_ENDPOINTS``, an integration with ``settings.endpoints`` — a destination, so
  it needs ``manage`` — for a national cloud's download host or a local stand-in in tests).

Any other redirect is a ``502`` before anything is sent there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from hub.addresses import origin
from hub.context import ProviderContext, https_under, unambiguous
from hub.disposition import filename_from_disposition
from hub.errors import ValidationError
from hub.items import CHUNK_SIZE, Download
from hub_microsoft import folders, graph
from hub_microsoft.graph import Ref

DOWNLOAD_DOMAINS = ("sharepoint.com", "1drv.com", "livefilestore.com")
# Compressed transfer would make Content-Length (and a Range) count other bytes than the file's.
IDENTITY = {"Accept-Encoding": "identity"}


def onedrive_download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The bytes of an item of the ``onedrive`` service (``{driveId}:{itemId}``)."""
    return download(ctx, graph.parse_ref(item_id, "itemId"), range_header)


def sharepoint_download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The bytes of an item of the ``sharepoint`` service (``{siteId}|{driveId}:{itemId}``)."""
    site, sep, rest = item_id.partition("|")
    if not sep:
        raise ValidationError("a site is not a file", fields={"itemId": "not a file id"})
    folders.check_site(site, "itemId")
    return download(ctx, graph.parse_ref(rest, "itemId"), range_header)


def download(ctx: ProviderContext, ref: Ref, range_header: str | None) -> Download:
    """Stream ``ref``'s content; ``Range`` passed on (``206`` with ``Content-Range``).

    :raises ValidationError: for a folder (nothing is downloaded).
    :raises UpstreamFailed: for a redirect to a host that is not a Microsoft download host.
    """
    meta = graph.get_json(
        ctx, graph.graph_url(ctx, ref.url_path()), params={"$select": "id,name,size,file,folder"}
    )
    if "folder" in meta:
        raise ValidationError(
            f"{meta.get('name')!r} is a folder: browse it instead",
            fields={"itemId": "a folder"},
            code="not_a_file",
        )
    headers = dict(IDENTITY)
    if range_header:
        headers["Range"] = range_header
    url = graph.graph_url(ctx, ref.url_path("/content"))
    response = ctx.request("GET", url, headers=headers, stream=True)
    # Graph answers 302 to a pre-authenticated URL: followed without the token, and only to
    # Microsoft's download hosts.
    response = ctx.follow(
        response, url, headers=headers, elsewhere=lambda target: may_download_from(ctx, target)
    )
    graph.check(ctx, response)
    name = filename_from_disposition(response.headers.get("Content-Disposition"))
    return streamed(response, name or str(meta.get("name") or ref.item), meta)


def may_download_from(ctx: ProviderContext, url: str) -> bool:
    """Whether a download may be fetched from ``url``: a Microsoft download host over https,
    or the origin of the integration's ``downloads`` endpoint when one is set."""
    if not unambiguous(url):
        return False
    configured = ctx.endpoints.get("downloads")
    if configured and origin(url) == origin(configured):
        return True
    return https_under(url, DOWNLOAD_DOMAINS)


def streamed(response: requests.Response, name: str, meta: dict[str, Any]) -> Download:
    """A :class:`Download` reading ``response`` chunk by chunk.

    The size is the answer's ``Content-Length`` (rclone trusts it over the listed size, which
    OneDrive sometimes gets wrong), else, for a whole file, the size the metadata gives.
    """
    length = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    size: int | None = int(length) if length.isdigit() and not encoded else None
    if size is None and response.status_code == 200 and isinstance(meta.get("size"), int):
        size = meta["size"]
    file = meta.get("file") if isinstance(meta.get("file"), dict) else {}
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=name,
        mime_type=response.headers.get("Content-Type")
        or file.get("mimeType")
        or "application/octet-stream",
        size=size,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def _host(url: str) -> str:
    """The host of ``url`` for a message (never its query, which holds the download grant)."""
    try:
        return repr(urlsplit(url).hostname or "an unreadable address")
    except ValueError:
        return "an unreadable address"
