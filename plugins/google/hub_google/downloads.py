"""Downloading from Drive: a file's own bytes with ``alt=media`` (``Range`` passed on), or, for a
Google-native file, an export in the format the caller picks.

The file's metadata is read first: it gives the name to save under, tells a native file from
one with bytes, resolves a shortcut to its target, and lists the file's export links. A native
file is exported through its export link (no 10 MB limit, see :mod:`hub_google.links`), and
through ``files.export`` only when its metadata lists no link for the format; a native type
without any export is refused before any further call.
"""

from __future__ import annotations

from typing import Any

import requests

from hub.context import ProviderContext
from hub.errors import NotFound, ValidationError
from hub.items import CHUNK_SIZE, Download
from hub_google import api, links
from hub_google.exports import (
    FOLDER,
    KNOWN_FORMATS,
    NO_EXPORT,
    SHORTCUT,
    Format,
    choose,
    filename,
    formats_of,
    formats_offered,
    is_native,
    not_exportable,
)

META_FIELDS = "id,name,mimeType,size,shortcutDetails(targetId,targetMimeType),exportLinks"
CHUNK_SIZE = CHUNK_SIZE  # the hub's download chunk size
# Compressed transfer would make Content-Length (and a Range) count other bytes than the file's.
IDENTITY = {"Accept-Encoding": "identity"}


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The bytes of file ``item_id``, streamed; a native file exported.

    :param ctx: the authenticated session to Google; ``ctx.options["format"]`` picks the export
        format of a native file (:data:`hub_google.exports.EXPORTS`: a Doc ``docx`` or ``pdf``,
        a Drawing ``svg``, ``png``, ``jpeg`` or ``pdf``, ...); the first of each is the default.
        It is ignored for files with bytes of their own.
    :param item_id: a file id (or a shortcut's, which is followed).
    :param range_header: the caller's ``Range``, passed on for files with bytes of their own;
        exports are always whole.
    :return: the download; ``status`` 206 with ``content_range`` when Drive honoured the range.
    :raises ValidationError: for a folder, a native file without any export (a Form, a Site),
        or a format the file cannot be exported in; no export is asked of Google then.
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
    if is_native(mime_type):
        name = str(meta.get("name") or item_id)
        if mime_type in NO_EXPORT:
            raise not_exportable(name, mime_type)
        # A native type the table does not know: what its export links offer.
        formats = formats_of(mime_type) or formats_offered(meta.get("exportLinks"))
        if not formats:
            raise not_exportable(name, mime_type)
        return export(ctx, meta, choose(formats, requested, mime_type))
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
        # A file of another type that Google will not hand out as is: it may still convert it.
        response.close()
        formats = formats_offered(meta.get("exportLinks")) or KNOWN_FORMATS
        return export(ctx, meta, choose(formats, requested, mime_type))
    api.check(ctx, response)
    return streamed(response, str(meta.get("name") or item_id), mime_type)


def export(ctx: ProviderContext, meta: dict[str, Any], chosen: Format) -> Download:
    """A native file converted to ``chosen``, named accordingly: through the file's export link
    for that format, else ``GET /files/{id}/export``.

    :raises Forbidden: with code ``export_too_large`` when only ``files.export`` was possible
        and the export is over Google's 10 MB limit for it.
    :raises UpstreamFailed: when the export link points elsewhere than Google (nothing is sent).
    """
    name = str(meta.get("name") or meta["id"])
    link = links.export_link(ctx, meta, chosen)
    if link is not None:
        response = links.fetch(ctx, link, IDENTITY)
    else:
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
    """A file's id, name, type, size, shortcut target and export links."""
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
