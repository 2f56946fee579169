"""kDrive's search, its views ("Shared with me", "Recent", "Favorites") and thumbnails.

Search, "Recent" and "Favorites" are per drive at kDrive (``/3/drive/{drive}/files/search``,
``…/files/last_modified``, ``…/files/favorites``, each paged by ``limit``/``cursor``), so they go
through the account's drives one after the other: a cursor is ``d{drive_id}:{kDrive's cursor}``,
the drive to read next and where in it. A page reads at most :data:`DRIVES_PER_PAGE` drives, so
it may be short while more remain. "Shared with me" is one list for the whole account
(``/3/drive/files/shared_with_me``); its entries carry their drive, so the folders of a drive
where the user is only a guest open with the ordinary browse (``"{drive_id}:{file_id}"``).

The search text is one query parameter (``query``), percent-encoded by the HTTP client: quotes,
backslashes, ``*`` and ``&`` reach kDrive as characters, never as syntax. Every result names the
folder it lives in (``Item.parent``), from its ``parent_id`` and ``path`` at no extra cost.

Thumbnails are kDrive's own (``/2/drive/{drive}/files/{id}/thumbnail``, which takes no size), for
pictures only: the file's record is read first and anything but an image is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.context import ProviderContext
from hub.errors import NotFound, ValidationError
from hub.items import Crumb, Download, Item, Page
from hub_infomaniak import kdrive, trail
from hub_infomaniak.envelope import data_list, get_envelope

SCOPE = kdrive.SCOPE
DRIVES_PER_PAGE = 3  # drives read for one page at most (Infomaniak allows ~60 calls a minute)
MAX_QUERY = 500  # characters of search text, as the hub allows
# A cursor of this module: the drive, then kDrive's own cursor of that drive's list (opaque,
# sent back as a query parameter; bounded in length and charset all the same).
DRIVE_CURSOR = re.compile(r"^d([0-9]{1,18}):([A-Za-z0-9_\-.=+/~]{0,512})$")
KDRIVE_CURSOR = re.compile(r"^[A-Za-z0-9_\-.=+/~]{1,512}$")
THUMBNAIL_NAME = "thumbnail"
# Sorted by relevance, as kDrive's Android app sorts its search (SortType.MOST_RELEVANT).
SEARCH_ORDER = {"order_by": "relevance", "order_for[relevance]": "desc"}


# -- search ------------------------------------------------------------------------------------


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """Files and folders whose name matches ``query``, drive after drive.

    :param ctx: the integration's authenticated session.
    :param query: the text typed; sent as the ``query`` parameter, never as syntax.
    :param cursor: the previous page's ``next_cursor``, or ``None``.
    :param limit: the page size asked for (1-1000).
    :return: the page; each item names the folder it lives in.
    """
    if not query.strip() or len(query) > MAX_QUERY:
        raise ValidationError("say what to search for", fields={"q": "1-500 characters"})
    params = {"query": query, **SEARCH_ORDER}
    return across_drives(ctx, lambda d: f"/3/drive/{d}/files/search", params, cursor, limit)


# -- views ---------------------------------------------------------------------------------------


def recent(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Recent" view: the files last modified in each drive (``files/last_modified``)."""
    return across_drives(ctx, lambda d: f"/3/drive/{d}/files/last_modified", {}, cursor, limit)


def favorites(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Favorites" view: what the user starred in each drive (``files/favorites``)."""
    return across_drives(ctx, lambda d: f"/3/drive/{d}/files/favorites", {}, cursor, limit)


def shared_with_me(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Shared with me" view: files and folders others shared with the user, on any drive,
    including drives where the user is only a guest (absent from the top level).

    The folder such an entry lives in is usually not the user's to open, so items name none.
    """
    params: dict[str, Any] = {"limit": min(limit, kdrive.MAX_PAGE), "with": "path"}
    if cursor:
        if not KDRIVE_CURSOR.match(cursor):
            raise ValidationError("not a cursor of Shared with me", fields={"cursor": "unknown"})
        params["cursor"] = cursor
    envelope = get_envelope(ctx, "api", "/3/drive/files/shared_with_me", params, scope=SCOPE)
    items = []
    for entry in _live(ctx, envelope):
        drive_id = entry.get("drive_id")
        if isinstance(drive_id, int) and not isinstance(drive_id, bool):
            items.append(kdrive.file_item(drive_id, entry))
    next_cursor = envelope.get("cursor") if envelope.get("has_more") else None
    return Page(items=items, next_cursor=str(next_cursor) if next_cursor else None)


# -- thumbnails ----------------------------------------------------------------------------------


def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download:
    """kDrive's thumbnail of a picture, streamed (the hub checks and bounds the bytes).

    :param ctx: the integration's authenticated session.
    :param item_id: a file id (``"{drive_id}:{file_id}"``).
    :param size: the width asked for; kDrive's thumbnail route has one size, so it is not sent.
    :return: the image.
    :raises hub.errors.ValidationError: naming ``itemId``, when the item is not a picture.
    """
    drive_id, file_id = kdrive.parse_item_id(item_id)
    record = get_envelope(ctx, "api", f"/3/drive/{drive_id}/files/{file_id}", scope=SCOPE)
    entry = record.get("data")
    if not isinstance(entry, dict):
        raise NotFound(f"{ctx.name} has no kDrive file {item_id!r}")
    if not is_picture(entry):
        what = "a folder" if entry.get("type") == "dir" else "not a picture"
        reason = f"{entry.get('name') or item_id!r} is {what}: thumbnails are for images only"
        raise ValidationError(reason, fields={"itemId": "not an image"}, code="not_an_image")
    url = ctx.url("api", f"/2/drive/{drive_id}/files/{file_id}/thumbnail")
    response = kdrive.fetch(ctx, url, {})
    length = response.headers.get("Content-Length")
    return Download(
        chunks=response.iter_content(kdrive.CHUNK),
        filename=THUMBNAIL_NAME,
        mime_type=response.headers.get("Content-Type") or "application/octet-stream",
        size=int(length) if length and length.isdigit() else None,
        close=response.close,
    )


def is_picture(entry: dict) -> bool:
    """Whether a kDrive file record is an image: ``extension_type`` ``image``, or a media type
    (kDrive's, else guessed from the name) under ``image/``."""
    if entry.get("type") == "dir":
        return False
    if entry.get("extension_type") == "image":
        return True
    return (kdrive.guess_mime_type(entry) or "").startswith("image/")


# -- across the drives ---------------------------------------------------------------------------


def across_drives(
    ctx: ProviderContext,
    path_of: Callable[[int], str],
    params: dict[str, Any],
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of a per-drive list read drive after drive, each entry with its folder.

    :param path_of: the list's path for a drive id.
    :param params: the list's own query parameters (``limit``, ``cursor`` and ``with`` added).
    :param cursor: ``d{drive_id}:{kDrive cursor}`` made here, or ``None``.
    :raises hub.errors.ValidationError: naming ``cursor``, for one not made here or naming a
        drive the account no longer has.
    """
    drives = account_drives(ctx)
    start, inner = _read_cursor(cursor)
    ids = [drive_id for drive_id, _ in drives]
    if start is not None and start not in ids:
        raise ValidationError(
            "the cursor names a drive this account no longer has: start again",
            fields={"cursor": "unknown drive"},
        )
    position = ids.index(start) if start is not None else 0
    names = dict(drives)
    items: list[Item] = []
    read = 0
    while position < len(ids) and read < DRIVES_PER_PAGE and len(items) < limit:
        drive_id = ids[position]
        asked = {**params, "limit": min(limit - len(items), kdrive.MAX_PAGE), "with": "path"}
        if inner:
            asked["cursor"] = inner
        envelope = get_envelope(ctx, "api", path_of(drive_id), asked, scope=SCOPE)
        read += 1
        items += [
            kdrive.file_item(drive_id, e, parent=parent_crumb(drive_id, names[drive_id], e))
            for e in _live(ctx, envelope)
        ]
        following = envelope.get("cursor") if envelope.get("has_more") else None
        if following:
            inner = str(following)
            if not KDRIVE_CURSOR.match(inner):
                raise ValidationError(
                    f"{ctx.name} gave a cursor this hub cannot hand on", fields={"cursor": "odd"}
                )
            return Page(items=items, next_cursor=f"d{drive_id}:{inner}")
        position, inner = position + 1, ""
    more = position < len(ids)
    return Page(items=items, next_cursor=f"d{ids[position]}:" if more else None)


def account_drives(ctx: ProviderContext) -> list[tuple[int, str]]:
    """``(drive_id, name)`` of every drive the account is a user or administrator of."""
    params = [*kdrive.DRIVE_ROLES, ("per_page", str(kdrive.MAX_PAGE))]
    envelope = get_envelope(ctx, "api", kdrive.DRIVES_PATH, params, scope=SCOPE)
    drives = [d for d in map(kdrive.drive_item, data_list(ctx, envelope)) if d is not None]
    found = [(int(d.extras["driveId"]), d.name) for d in drives]
    trail.remember_drives(ctx, found)
    return found


def parent_crumb(drive_id: int, drive_name: str, entry: dict) -> Crumb | None:
    """The folder an entry lives in, from its ``parent_id`` and ``path`` (read ``with=path``):
    the drive itself for an entry at its root."""
    parent_id = entry.get("parent_id")
    if not isinstance(parent_id, int) or isinstance(parent_id, bool) or parent_id <= 0:
        return None
    if parent_id == kdrive.ROOT_DIR:
        return Crumb(kdrive.kdrive_id(drive_id, kdrive.ROOT_DIR), drive_name)
    path = entry.get("path")
    names = [s for s in path.split("/") if s] if isinstance(path, str) else []
    name = names[-2] if len(names) >= 2 else f"folder {parent_id}"
    return Crumb(kdrive.kdrive_id(drive_id, parent_id), name)


def _live(ctx: ProviderContext, envelope: dict) -> list[dict]:
    return [
        e
        for e in data_list(ctx, envelope)
        if isinstance(e.get("id"), int) and not kdrive.trashed(e)
    ]


def _read_cursor(cursor: str | None) -> tuple[int | None, str]:
    if not cursor:
        return None, ""
    match = DRIVE_CURSOR.match(cursor)
    if match is None:
        raise ValidationError("not a cursor of this kDrive list", fields={"cursor": "unknown"})
    return int(match.group(1)), match.group(2)


__all__ = [
    "account_drives",
    "favorites",
    "is_picture",
    "recent",
    "search",
    "shared_with_me",
    "thumbnail",
]
