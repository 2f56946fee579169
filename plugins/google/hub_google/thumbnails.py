"""Thumbnails: the image behind a file's ``thumbnailLink``, fetched by the hub.

Drive's File resource gives ``thumbnailLink``, "a short-lived link to the file's thumbnail";
for a file that is not shared publicly it "must be fetched using a credentialed request". So the
hub fetches it with the account's token — and hands the browser only the bytes, never the link.

The link comes from Google's answer, so the token goes to it only when it is https on the
default port to a Google API host (under ``google.com`` or ``googleapis.com``), to one of
Drive's thumbnail hosts ``lh<N>.googleusercontent.com`` (not any ``googleusercontent.com``
host: that domain also names machines Google rents to anyone), or to the origin of the
integration's Drive endpoint (a proxy or a test server an administrator configured). Any other
link is refused before anything is sent. A redirect is followed on the link's origin with the
token, to another Google host without it, elsewhere never.

Drive's links end in ``=s<pixels>`` (``…=s220``), which sets the longest edge: the hub asks for
the size the caller wants by rewriting that suffix, and leaves any other link as it is.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hub.addresses import origin
from hub.context import ProviderContext, https_under, unambiguous
from hub.errors import NotFound, UpstreamFailed
from hub.items import CHUNK_SIZE, Download
from hub_google import api, links
from hub_google.exports import FOLDER, SHORTCUT

META_FIELDS = "id,name,mimeType,thumbnailLink,shortcutDetails(targetId)"
THUMBNAIL_HOST = re.compile(r"lh[0-9]{1,2}\.googleusercontent\.com")
SIZE_SUFFIX = re.compile(r"=s[0-9]{1,4}$")


def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download:
    """A small image of file ``item_id`` (a shortcut's target's), about ``size`` pixels on its
    longest edge; the hub checks it is a PNG, JPEG or WebP before serving it.

    :raises NotFound: when Drive has no thumbnail of the file (folders, most files of unknown
        types).
    :raises UpstreamFailed: when the link points anywhere the token must not go (nothing is
        sent there).
    """
    meta = _metadata(ctx, item_id)
    if meta.get("mimeType") == SHORTCUT:
        target = (meta.get("shortcutDetails") or {}).get("targetId")
        if target:
            meta = _metadata(ctx, str(target))
    name = str(meta.get("name") or item_id)
    link = meta.get("thumbnailLink")
    if meta.get("mimeType") == FOLDER or not isinstance(link, str) or not link:
        raise NotFound(f"{ctx.name} has no thumbnail of {name!r}")
    if not may_carry_token(ctx, link):
        raise UpstreamFailed(
            f"{ctx.name} gave a thumbnail link to {_host(link)}, which is not one of Google's "
            "thumbnail hosts: the hub does not send the account's token there"
        )
    url = sized(link, size)
    response = api.call_url(ctx, url, stream=True)
    response = ctx.follow(
        response,
        url,
        elsewhere=lambda target: links.is_google_host(target, links.REDIRECT_DOMAINS),
        resend=lambda target: api.call_url(ctx, target, stream=True),
        limit=links.MAX_REDIRECTS,
    )
    api.check(ctx, response)
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=f"{name} (thumbnail)",
        mime_type=response.headers.get("Content-Type") or "application/octet-stream",
        close=response.close,
    )


def may_carry_token(ctx: ProviderContext, url: str) -> bool:
    """Whether the account's token may go to thumbnail link ``url`` (see the module)."""
    if not unambiguous(url):
        return False
    if origin(url) == origin(ctx.url("drive")):
        return True
    if https_under(url, links.GOOGLE_DOMAINS):
        return True
    host = (urlsplit(url).hostname or "").rstrip(".")
    return https_under(url, ("googleusercontent.com",)) and bool(THUMBNAIL_HOST.fullmatch(host))


def sized(link: str, size: int) -> str:
    """``link`` asking for ``size`` pixels when it ends in Drive's ``=s<pixels>``."""
    parts = urlsplit(link)
    if parts.query or not SIZE_SUFFIX.search(parts.path):
        return link
    path = SIZE_SUFFIX.sub(f"=s{int(size)}", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", parts.fragment))


def _metadata(ctx: ProviderContext, file_id: str) -> dict[str, Any]:
    return api.get_json(
        ctx, api.file_path(file_id), {"fields": META_FIELDS, "supportsAllDrives": "true"}
    )


def _host(url: str) -> str:
    try:
        return repr(urlsplit(url).hostname or url[:60])
    except ValueError:
        return repr(url[:60])
