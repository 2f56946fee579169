"""Search and thumbnails: the ``files`` service's ``search`` and ``thumbnail`` operations.

Search is ``files/search_v2``, paged with ``files/search/continue_v2``; Dropbox's cursor is the
page cursor. The query travels as a JSON string in the request body: Dropbox's search has no
query syntax (it splits the text on spaces into words, the last one matched as a prefix), and
JSON escaping is the only escaping it needs — quotes, backslashes, ``*``, ``%``, ``<`` and
the like are sent as the characters they are. Results are file and folder metadata as
``list_folder`` gives them, so their ids are the ids ``browse`` and ``download`` use. Each
result's folder is named by its path, taken from the result's ``path_display`` (the way
breadcrumbs name ancestors: ``browse`` opens ``/Reports`` like an id); a result at the top
level has the top level as its folder (id ``""``); one Dropbox gives no path for (not mounted)
has none.

Thumbnails are ``files/get_thumbnail_v2`` on the content host, the argument in the
``Dropbox-API-Arg`` header: a JPEG scaled down to fit the largest of Dropbox's sizes no wider
than the ``size`` asked for. Dropbox makes thumbnails of pictures only (jpg, jpeg, png, tiff,
tif, gif, webp, ppm, bmp); an item named by a path with another extension is refused before
any call, and Dropbox's own refusal of an item named by id (``unsupported_extension``...) is a
:class:`~hub.errors.NotFound`: that item has no thumbnail. Sources are listed in the plugin's
README.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NoReturn

import requests

from hub.context import ProviderContext
from hub.errors import NotFound, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page

from .api import dropbox_error, error_tags, header_safe_json, raise_for_error, rpc
from .files import dropbox_path, entry_item

#: ``SearchOptions.max_results``'s maximum in Dropbox's API spec (files.stone).
MAX_RESULTS = 1000
#: What the top level is called when it is a result's folder (the service's own name).
TOP_LEVEL = Crumb("", "Files")
#: Dropbox's thumbnail sizes (``ThumbnailSize``), by width, narrowest first.
THUMBNAIL_SIZES = (
    (32, "w32h32"),
    (64, "w64h64"),
    (128, "w128h128"),
    (256, "w256h256"),
    (480, "w480h320"),
    (640, "w640h480"),
    (960, "w960h640"),
    (1024, "w1024h768"),
    (2048, "w2048h1536"),
)
#: The extensions ``get_thumbnail_v2`` converts (its route description in files.stone).
PICTURE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "tiff", "tif", "gif", "webp", "ppm", "bmp"})
#: ``ThumbnailV2Error`` tags meaning this item has no thumbnail.
NO_THUMBNAIL = frozenset(
    {"unsupported_extension", "unsupported_image", "encrypted_content", "conversion_error"}
)


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """One page of the files and folders whose name matches ``query``.

    :param ctx: the authenticated session to Dropbox.
    :param query: what the user typed, sent as it is (a JSON string; never syntax).
    :param cursor: Dropbox's search cursor from the previous page.
    :param limit: how many results to ask for (at most 1000).
    :return: the page, each item with the folder it lives in when Dropbox tells it.
    """
    if cursor:
        data = rpc(ctx, "files/search/continue_v2", {"cursor": cursor}, field="cursor")
    else:
        argument = {
            "query": query,
            "options": {
                "max_results": max(1, min(limit, MAX_RESULTS)),
                "file_status": {".tag": "active"},  # not deleted files
                # Names only: content search is for Business accounts, and the hub finds by name.
                "filename_only": True,
            },
        }
        data = rpc(ctx, "files/search_v2", argument, field="q")
    if not isinstance(data, dict) or not isinstance(data.get("matches"), list):
        raise UpstreamFailed(f"{ctx.name} answered a search without matches")
    items: list[Item] = []
    seen: set[str] = set()
    for match in data["matches"]:
        item = _match_item(match)
        if item is not None and item.id not in seen:  # Dropbox may repeat a match
            seen.add(item.id)
            items.append(item)
    more = data.get("has_more") is True and isinstance(data.get("cursor"), str)
    return Page(items=items, next_cursor=data["cursor"] if more else None)


def _match_item(match: Any) -> Item | None:
    """A ``SearchMatchV2``: its ``metadata`` is the ``MetadataV2`` union, whose ``metadata``
    member holds the file or folder metadata; other members (and deleted entries) are left out."""
    if not isinstance(match, dict):
        return None
    wrapper = match.get("metadata")
    if not isinstance(wrapper, dict) or wrapper.get(".tag") != "metadata":
        return None
    entry = wrapper.get("metadata")
    item = entry_item(entry)
    return None if item is None else replace(item, parent=folder_of(entry))


def folder_of(entry: dict[str, Any]) -> Crumb | None:
    """The folder an entry lives in, from its ``path_display``: ``/Reports/q3.csv`` lives in
    ``/Reports`` (named ``Reports``), ``/q3.csv`` at the top level; ``None`` without a path."""
    display = entry.get("path_display")
    if not isinstance(display, str) or not display.startswith("/"):
        return None
    names = [part for part in display.split("/") if part][:-1]
    if not names:
        return TOP_LEVEL
    return Crumb("/" + "/".join(names), names[-1])


def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download:
    """A JPEG thumbnail of the picture ``item_id``, at most about ``size`` pixels wide.

    :param ctx: the authenticated session to Dropbox.
    :param item_id: the picture's id (``id:…``) or path (``/…``).
    :param size: the widest the thumbnail may be, in pixels.
    :return: the thumbnail's bytes (the hub checks they are an image of at most 1 MiB).
    """
    path = dropbox_path(item_id, "itemId")
    if path.startswith("/") and _extension(path) not in PICTURE_EXTENSIONS:
        raise ValidationError(
            f"{ctx.name} makes thumbnails of pictures only "
            f"({', '.join(sorted(PICTURE_EXTENSIONS))})",
            fields={"itemId": "not a picture"},
        )
    argument = {
        "resource": {".tag": "path", "path": path},
        "format": {".tag": "jpeg"},
        "size": {".tag": thumbnail_size(size)},
        "mode": {".tag": "strict"},  # scaled down to fit within the size
    }
    response = ctx.request(
        "POST",
        ctx.url("content", "/2/files/get_thumbnail_v2"),
        headers={"Dropbox-API-Arg": header_safe_json(argument)},
        stream=True,
        idempotent=True,  # it only reads
    )
    if response.status_code == 409:
        _refuse_thumbnail(ctx, response)
    raise_for_error(ctx, response, field="itemId")
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename="thumbnail.jpg",
        mime_type=response.headers.get("Content-Type", "image/jpeg"),
        close=response.close,
    )


def _refuse_thumbnail(ctx: ProviderContext, response: requests.Response) -> NoReturn:
    """A ``409`` of ``get_thumbnail_v2``: no thumbnail of this item (``NotFound``), or the
    error its tags mean for any route (a path not found, not a file...)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    response.close()
    tags = error_tags(body.get("error") if isinstance(body, dict) else None)
    if tags and tags[-1] in NO_THUMBNAIL:
        raise NotFound(f"{ctx.name} has no thumbnail of this file ({tags[-1]})")
    raise dropbox_error(ctx, response, tags, body, field="itemId")


def thumbnail_size(size: int) -> str:
    """Dropbox's size tag for ``size`` pixels: the widest no wider than it (``w32h32`` at the
    least)."""
    chosen = THUMBNAIL_SIZES[0][1]
    for width, tag in THUMBNAIL_SIZES:
        if width <= size:
            chosen = tag
    return chosen


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
