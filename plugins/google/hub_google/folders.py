"""Browsing Drive: My Drive and the shared drives at the top level, then folders page by page.

Item ids are Drive's own ids, so each one is a parent to list or a file to download: My Drive is
``root`` (Drive's alias of it), a shared drive is its id (which is also the id of its root
folder). A shortcut is listed under its own name with its target's id and type, so a shortcut
to a folder opens that folder and one to a file downloads the file.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.context import ProviderContext
from hub.errors import HubError, ReauthRequired, UpstreamFailed, ValidationError
from hub.items import Crumb, Item, Page, utc_time
from hub_google import api
from hub_google.exports import FOLDER, SHORTCUT, formats_of

log = logging.getLogger(__name__)

MY_DRIVE = Crumb("root", "My Drive")
TOP_CURSOR = "drives:"  # + the nextPageToken of /drives ("" for its first page)
MAX_PAGE = 1000  # the largest pageSize of files.list
MAX_DRIVES_PAGE = 100  # ... and of drives.list
MAX_DEPTH = 32  # breadcrumbs deeper than this are not looked up
FILE_FIELDS = "id,name,mimeType,size,modifiedTime,parents,shortcutDetails(targetId,targetMimeType)"
LIST_FIELDS = f"nextPageToken,files({FILE_FIELDS})"
ALL_DRIVES = {"supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of ``parent``: the top level when ``None``, else a folder's children.

    :param ctx: the authenticated session to Google.
    :param parent: ``None``, ``root``, a shared drive's id or a folder's id.
    :param cursor: the previous page's ``next_cursor``.
    :param limit: at most this many items (1-1000).
    :return: the page; its ``path`` is filled on a folder's first page.
    """
    limit = max(1, min(limit, MAX_PAGE))
    if parent is None:
        return top_level(ctx, cursor, limit)
    return folder(ctx, parent, cursor, limit)


def top_level(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """My Drive, then every shared drive (``GET /drives``, paged)."""
    items: list[Item] = []
    if cursor is None:
        items.append(_drive_item(MY_DRIVE.id, MY_DRIVE.name, shared=False))
        token = None
        room = limit - 1
    elif cursor.startswith(TOP_CURSOR):
        token = cursor.removeprefix(TOP_CURSOR) or None
        room = limit
    else:
        raise ValidationError(
            "the cursor is not one of the top level's: start again from the first page",
            fields={"cursor": "invalid"},
        )
    if room == 0:
        return Page(items, next_cursor=TOP_CURSOR)
    params: dict[str, Any] = {"pageSize": min(room, MAX_DRIVES_PAGE)}
    if token:
        params["pageToken"] = token
    data = api.get_json(ctx, "/drives", params)
    drives = _entries(ctx, data, "drives")
    items += [_drive_item(str(d["id"]), str(d.get("name") or d["id"]), shared=True) for d in drives]
    next_token = data.get("nextPageToken")
    return Page(items, next_cursor=f"{TOP_CURSOR}{next_token}" if next_token else None)


def _drive_item(drive_id: str, name: str, *, shared: bool) -> Item:
    return Item(drive_id, name, "folder", mime_type=FOLDER, extras={"sharedDrive": shared})


def folder(ctx: ProviderContext, parent: str, cursor: str | None, limit: int) -> Page:
    """The children of a folder that are not in the trash (``GET /files``, paged)."""
    params: dict[str, Any] = {
        "q": f"'{quoted(parent)}' in parents and trashed=false",
        "fields": LIST_FIELDS,
        "pageSize": limit,
        **ALL_DRIVES,
    }
    if cursor:
        params["pageToken"] = cursor
    data = api.get_json(ctx, "/files", params)
    items = [item_of(entry) for entry in _entries(ctx, data, "files")]
    next_token = data.get("nextPageToken")
    # Later pages leave the trail out: the caller has it from the first, and every crumb is
    # one more call to Google.
    path = trail(ctx, parent) if cursor is None else []
    return Page(items, next_cursor=str(next_token) if next_token else None, path=path)


def item_of(entry: dict[str, Any]) -> Item:
    """An item from a ``files`` entry; a shortcut becomes its target under its own name."""
    item_id = str(entry["id"])
    mime_type = entry.get("mimeType")
    extras: dict[str, Any] = {}
    size = _size(entry.get("size"))
    details = entry.get("shortcutDetails")
    if mime_type == SHORTCUT and isinstance(details, dict) and details.get("targetId"):
        extras["shortcut"] = {
            "id": item_id,
            "targetId": str(details["targetId"]),
            "targetMimeType": details.get("targetMimeType"),
        }
        item_id, mime_type, size = str(details["targetId"]), details.get("targetMimeType"), None
    formats = formats_of(mime_type)
    if formats:
        extras["exportFormats"] = [f.name for f in formats]  # the default first
    return Item(
        id=item_id,
        name=str(entry.get("name") or item_id),
        kind="folder" if mime_type == FOLDER else "file",
        size=size,
        mime_type=mime_type,
        modified_at=utc_time(entry.get("modifiedTime")),
        extras=extras,
    )


def trail(ctx: ProviderContext, folder_id: str) -> list[Crumb]:
    """The breadcrumbs from the top level down to ``folder_id``, walking ``parents`` up.

    Best effort: a folder reached through a shortcut from outside My Drive, one too deep, or any
    failure of Google other than a lost grant gives an empty trail, never a failed page.
    """
    if folder_id == MY_DRIVE.id:
        return [MY_DRIVE]
    try:
        return _walk_up(ctx, folder_id)
    except ReauthRequired:
        raise
    except (HubError, KeyError, TypeError) as exc:
        log.info("no breadcrumbs for Drive folder %s: %s", folder_id, exc)
        return []


def _walk_up(ctx: ProviderContext, folder_id: str) -> list[Crumb]:
    crumbs: list[Crumb] = []
    current = folder_id
    for _ in range(MAX_DEPTH):
        meta = api.get_json(
            ctx,
            api.file_path(current),
            {"fields": "id,name,parents,driveId", "supportsAllDrives": "true"},
        )
        parents = meta.get("parents") or []
        if parents:
            crumbs.append(Crumb(current, str(meta["name"])))
            current = str(parents[0])
            continue
        crumbs.append(_top_crumb(ctx, current, meta))
        return crumbs[::-1]
    return []


def _top_crumb(ctx: ProviderContext, folder_id: str, meta: dict[str, Any]) -> Crumb:
    """The crumb of a folder without parents: a shared drive, My Drive, or a folder shared
    with the account from someone else's drive."""
    drive_id = meta.get("driveId")
    if drive_id:
        drive = api.get_json(ctx, api.drive_path(str(drive_id)), {})
        return Crumb(str(drive_id), str(drive.get("name") or meta["name"]))
    root = api.get_json(ctx, api.file_path(MY_DRIVE.id), {"fields": "id"})
    if root.get("id") == meta.get("id"):
        return MY_DRIVE
    return Crumb(folder_id, str(meta["name"]))


def quoted(value: str) -> str:
    """A value for a single-quoted string in a Drive query (``\\`` and ``'`` escaped)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _entries(ctx: ProviderContext, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise UpstreamFailed(f"{ctx.name} answered an unexpected listing (no {key} list)")
    return [e for e in entries if isinstance(e, dict) and e.get("id")]


def _size(value: Any) -> int | None:
    """Drive sends sizes as decimal strings (int64 in JSON); folders and native files have none."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
