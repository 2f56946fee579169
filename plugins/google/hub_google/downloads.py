"""Downloading from Drive: a file's own bytes with ``alt=media`` (``Range`` passed on), or, for a
Google-native file, an export in the format the caller picks.

The file's metadata is read first: it gives the name to save under, tells a native file from
one with bytes, and resolves a shortcut to its target.
"""

from __future__ import annotations

from typing import Any

import requests

from hub.context import ProviderContext
from hub.errors import NotFound, ValidationError
from hub.items import CHUNK_SIZE, Download
from hub_google import api
from hub_google.exports import FALLBACK, FOLDER, SHORTCUT, Format, choose, filename, formats_of

META_FIELDS = "id,name,mimeType,size,shortcutDetails(targetId,targetMimeType)"
CHUNK_SIZE = CHUNK_SIZE  # the hub's download chunk size
# Compressed transfer would make Content-Length (and a Range) count other bytes than the file's.
IDENTITY = {"Accept-Encoding": "identity"}


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The bytes of file ``item_id``, streamed; a native file exported.

    :param ctx: the authenticated session to Google; ``ctx.options["format"]`` picks the export
        format of a Doc (``docx``, ``pdf``), Sheet (``xlsx``, ``csv``) or Slides (``pptx``,
        ``pdf``); the first of each is the default. It is ignored for other files.
    :param item_id: a file id (or a shortcut's, which is followed).
    :param range_header: the caller's ``Range``, passed on for files with bytes of their own;
        exports are always whole.
    :return: the download; ``status`` 206 with ``content_range`` when Drive honoured the range.
    :raises ValidationError: for a folder, or a format the file cannot be exported in.
    """
    meta = metadata(ctx, item_id)
    if meta.get("mimeType") == SHORTCUT:
        target = (meta.get("shortcutDetails") or {}).get("targetId")
        if not target:
            raise NotFound(f"the shortcut {meta.get('name')!r} no longer points to anything")
        meta = metadata(ctx, str(target))
    mime_type = meta.get("mimeType")
    if mime_type == FOLDER:
        raise ValidationError(
            f"{meta.get('name')!r} is a folder: browse it instead",
            fields={"itemId": "a folder"},
            code="not_a_file",
        )
    requested = ctx.options.get("format")
    formats = formats_of(mime_type)
    if formats:
        return export(ctx, meta, choose(formats, requested))
    headers = dict(IDENTITY)
    if range_header:
        headers["Range"] = range_header
    response = api.call(
        ctx,
        api.file_path(str(meta["id"])),
        params={"alt": "media", "supportsAllDrives": "true"},
        headers=headers,
        stream=True,
    )
    if response.status_code == 403 and api.NOT_DOWNLOADABLE in api.google_error(response).reasons:
        # A native type without an entry in EXPORTS (a drawing, say): Google converts it.
        response.close()
        return export(ctx, meta, choose(FALLBACK, requested))
    api.check(ctx, response)
    return streamed(response, str(meta.get("name") or item_id), mime_type)


def export(ctx: ProviderContext, meta: dict[str, Any], chosen: Format) -> Download:
    """A native file converted to ``chosen`` (``GET /files/{id}/export``), named accordingly.

    :raises Forbidden: with code ``export_too_large`` beyond Google's 10 MB export limit.
    """
    name = str(meta.get("name") or meta["id"])
    response = api.call(
        ctx,
        api.file_path(str(meta["id"]), "/export"),
        params={"mimeType": chosen.mime_type},
        headers=IDENTITY,
        stream=True,
    )
    if response.status_code == 400:
        response.close()
        raise ValidationError(
            f"{ctx.name} cannot export {name!r} as {chosen.name}",
            fields={"format": f"{chosen.name} is not available for this file"},
        )
    api.check(ctx, response)
    return streamed(response, filename(name, chosen), chosen.mime_type)


def metadata(ctx: ProviderContext, file_id: str) -> dict[str, Any]:
    """A file's id, name, type, size and shortcut target."""
    meta = api.get_json(
        ctx,
        api.file_path(file_id),
        {"fields": META_FIELDS, "supportsAllDrives": "true"},
    )
    meta.setdefault("id", file_id)
    return meta


def streamed(response: requests.Response, name: str, mime_type: str | None) -> Download:
    """A :class:`Download` reading ``response`` chunk by chunk, never whole."""
    length = response.headers.get("Content-Length", "")
    # A compressed answer is decoded by requests: its length on the wire is not what we serve.
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    size = int(length) if length.isdigit() and not encoded else None
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=name,
        mime_type=response.headers.get("Content-Type") or mime_type or "application/octet-stream",
        size=size,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )
