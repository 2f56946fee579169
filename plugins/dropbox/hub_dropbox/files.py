"""Browse and download: the two operations of the ``files`` service.

Folders are listed with ``files/list_folder`` and paged with ``files/list_folder/continue``;
Dropbox's own cursor is the page cursor (it encodes the folder and position, so the same cursor
gives the same page from any worker). Item ids are Dropbox file ids (``id:…``). Shared folders
mounted in the account appear where they are mounted (``include_mounted_folders``).

Breadcrumbs cost one ``files/get_metadata`` call on a folder's first page: its ``path_display``
names every ancestor. Dropbox gives no ids for the ancestors in that answer, and asking for each
would cost one call per level, so ancestors are crumbs whose id is their path (``/Reports``),
which ``browse`` accepts as a ``parent`` like an ``id:…``; the last crumb is the folder as
opened.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hub.context import ProviderContext
from hub.errors import HubError, ReauthRequired, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page, utc_time

from .api import header_safe_json, raise_for_error, rpc

log = logging.getLogger(__name__)

MAX_LIMIT = 2000  # ListFolderArg.limit's maximum in Dropbox's API spec (files.stone)


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of ``parent`` (``None``: the top level of the account).

    :param ctx: the authenticated session to Dropbox.
    :param parent: ``None``, a folder id (``id:…``) or a path (``/Reports``, from breadcrumbs).
    :param cursor: Dropbox's ``list_folder`` cursor from the previous page.
    :param limit: how many entries to ask for (Dropbox treats it as approximate).
    :return: the page; breadcrumbs come with a folder's first page.
    """
    if cursor:
        data = rpc(ctx, "files/list_folder/continue", {"cursor": cursor}, field="cursor")
        return _page(ctx, data, [])
    path = "" if parent is None else dropbox_path(parent, "parent")
    argument = {
        "path": path,  # "" is the root, as Dropbox's spec wants it
        "limit": max(1, min(limit, MAX_LIMIT)),
        "recursive": False,
        "include_deleted": False,
        "include_mounted_folders": True,
        # Files Dropbox cannot download (Google Docs kept in Dropbox) would fail on download.
        "include_non_downloadable_files": False,
    }
    data = rpc(ctx, "files/list_folder", argument, field="parent")
    trail = [] if parent is None else breadcrumbs(ctx, parent)
    return _page(ctx, data, trail)


def breadcrumbs(ctx: ProviderContext, parent: str) -> list[Crumb]:
    """The trail down to ``parent`` from one ``files/get_metadata`` call.

    Best effort: when Dropbox cannot tell (an error other than a lost grant), the folder's page
    is still served, without a trail.
    """
    try:
        meta = rpc(ctx, "files/get_metadata", {"path": parent}, field="parent")
    except ReauthRequired:
        raise
    except HubError as exc:
        log.info("no breadcrumbs for Dropbox folder %s: %s", parent, exc.message)
        return []
    return trail_of(parent, meta)


def trail_of(parent: str, meta: Any) -> list[Crumb]:
    """Crumbs from a folder's metadata: one per ancestor named in ``path_display`` (its id the
    ancestor's path), then the folder itself with the id it was opened by."""
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return []
    display = meta.get("path_display")
    if not isinstance(display, str) or not display.startswith("/"):
        return [Crumb(parent, meta["name"])]  # not mounted: Dropbox gives no path
    names = [part for part in display.split("/") if part][:-1]
    crumbs = []
    for depth, name in enumerate(names, start=1):
        crumbs.append(Crumb("/" + "/".join(names[:depth]), name))
    # Only the last component of path_display is reliably cased; ``name`` always is.
    crumbs.append(Crumb(parent, meta["name"]))
    return crumbs


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The file's bytes from ``files/download``, streamed; a ``Range`` is passed on."""
    path = dropbox_path(item_id, "itemId")
    headers = {"Dropbox-API-Arg": header_safe_json({"path": path})}
    if range_header:
        headers["Range"] = range_header
    response = ctx.request(
        "POST", ctx.url("content", "/2/files/download"), headers=headers, stream=True,
        idempotent=True,  # it only reads: a short 429 may be waited out and retried
    )  # fmt: skip
    raise_for_error(ctx, response, field="itemId")
    meta = _result_header(response.headers.get("Dropbox-API-Result"))
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() else None
    if size is None and response.status_code == 200 and isinstance(meta.get("size"), int):
        size = meta["size"]
    name = meta.get("name")
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=name if isinstance(name, str) and name else path.rsplit("/", 1)[-1],
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        size=size,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def dropbox_path(value: str, field: str) -> str:
    """``value`` if Dropbox can read it as a file id or a path, else a ``ValidationError``.

    Ids and paths travel in JSON (a body or the ``Dropbox-API-Arg`` header), never in a URL, so
    no URL-path check applies; anything else is refused before a call is made.
    """
    if len(value) <= 4096 and (
        (value.startswith("id:") and len(value) > 3) or (value.startswith("/") and len(value) > 1)
    ):
        return value
    raise ValidationError(
        "a Dropbox item is named by its id (id:…) or its path (/…)",
        fields={field: "not a Dropbox id or path"},
    )


def _page(ctx: ProviderContext, data: Any, trail: list[Crumb]) -> Page:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise UpstreamFailed(f"{ctx.name} answered a listing without entries")
    items = [item for item in map(entry_item, data["entries"]) if item is not None]
    more = data.get("has_more") is True and isinstance(data.get("cursor"), str)
    return Page(items=items, next_cursor=data["cursor"] if more else None, path=trail)


def entry_item(entry: Any) -> Item | None:
    """An entry of a listing or a search (file or folder metadata) as an item; ``deleted``
    entries (and anything unknown) are ``None``."""
    if not isinstance(entry, dict):
        return None
    tag, entry_id, name = entry.get(".tag"), entry.get("id"), entry.get("name")
    if tag not in ("file", "folder") or not isinstance(entry_id, str) or not name:
        return None
    extras = {"dropboxPath": entry["path_display"]} if entry.get("path_display") else {}
    if tag == "folder":
        return Item(entry_id, str(name), "folder", extras=extras)
    size = entry.get("size")
    return Item(
        entry_id,
        str(name),
        "file",
        size=size if isinstance(size, int) else None,
        modified_at=utc_time(entry.get("server_modified")),
        extras=extras,
    )


def _result_header(value: str | None) -> dict[str, Any]:
    """The ``Dropbox-API-Result`` header's file metadata (JSON), or ``{}``."""
    if not value:
        return {}
    if not value.isascii():
        # Dropbox escapes it as ASCII; should raw UTF-8 come, requests has read it as Latin-1.
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
