"""Finding files in Drive: search, the "Shared with me", "Starred" and "Recent" views, and the
folder each result lives in.

All four are ``files.list`` with a query (``q``) instead of a folder: the user's text goes into
the query only inside a single-quoted string, with ``\\`` and ``'`` escaped by a backslash as
Drive's query language requires (:func:`hub_google.folders.quoted`), so whatever was typed —
quotes, ``contains``, ``or``, parentheses — is text to find, never part of the query.

A result's folder (``Item.parent``) is its first ``parents`` entry. Drive gives only its id, so
the names are looked up once per page for each distinct folder, at most
:data:`MAX_PARENT_LOOKUPS` ``files.get`` calls (plus one ``drives.get`` for a shared drive's
root, whose file is named "Drive"); a folder that is itself on the page costs nothing. Beyond the
budget, or when Google refuses a lookup, the folder keeps its id with an empty name (it still
opens). Items without ``parents`` (most of "Shared with me": Drive hides folders the account
cannot see) have no ``parent``.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.context import ProviderContext
from hub.errors import HubError, ReauthRequired, UpstreamFailed
from hub.items import Crumb, Item, Page
from hub.providers import View
from hub_google import api, folders
from hub_google.exports import FOLDER

log = logging.getLogger(__name__)

MAX_PAGE = 100  # results per page: every page may cost parent lookups besides
MAX_PARENT_LOOKUPS = 10  # files.get calls per page for the names of results' folders
RESULT_FIELDS = f"{folders.FILE_FIELDS},driveId"
LIST_FIELDS = f"nextPageToken,files({RESULT_FIELDS})"
NOT_TRASHED = "trashed = false"
#: Search, and the views that may hold files of shared drives, ask every drive.
ALL_CORPORA = {"corpora": "allDrives", **folders.ALL_DRIVES}


def search_query(text: str) -> str:
    """The Drive query finding ``text`` in names or contents, outside the trash; ``text`` only
    ever appears inside quoted strings, escaped."""
    value = folders.quoted(text)
    return f"(name contains '{value}' or fullText contains '{value}') and {NOT_TRASHED}"


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """One page of the files and folders whose name or content matches ``query``, in every
    drive of the account, each with the folder it lives in.

    :param query: the user's text, searched for as typed.
    :param cursor: Drive's ``nextPageToken`` from the previous page.
    :param limit: at most this many items (capped at :data:`MAX_PAGE`).
    """
    return listing(ctx, {"q": search_query(query), **ALL_CORPORA}, cursor, limit)


def shared_with_me(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Shared with me" view: what others shared with the account (``sharedWithMe``)."""
    params = {"q": f"sharedWithMe = true and {NOT_TRASHED}", **folders.ALL_DRIVES}
    return listing(ctx, params, cursor, limit)


def starred(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Starred" view: files and folders the account starred, in every drive."""
    return listing(ctx, {"q": f"starred = true and {NOT_TRASHED}", **ALL_CORPORA}, cursor, limit)


def recent(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Recent" view: files (no folders), the ones the account viewed last first."""
    params = {
        "q": f"mimeType != '{FOLDER}' and {NOT_TRASHED}",
        "orderBy": "viewedByMeTime desc",
        **folders.ALL_DRIVES,
    }
    return listing(ctx, params, cursor, limit)


VIEWS: tuple[View, ...] = (
    View("shared", "Shared with me", browse=shared_with_me, description="Shared by others"),
    View("starred", "Starred", browse=starred, description="What you starred"),
    View("recent", "Recent", browse=recent, description="Files you viewed lately"),
)


def listing(ctx: ProviderContext, params: dict[str, Any], cursor: str | None, limit: int) -> Page:
    """One page of ``files.list`` with ``params`` (a ``q`` and its corpora), items with their
    folders; a view's or a search's page has no breadcrumbs."""
    query = {**params, "fields": LIST_FIELDS, "pageSize": max(1, min(limit, MAX_PAGE))}
    if cursor:
        query["pageToken"] = cursor
    data = api.get_json(ctx, "/files", query)
    entries = data.get("files", [])
    if not isinstance(entries, list):
        raise UpstreamFailed(f"{ctx.name} answered an unexpected listing (no files list)")
    entries = [e for e in entries if isinstance(e, dict) and e.get("id")]
    names = ParentNames(ctx, entries)
    items = [_with_parent(folders.item_of(e), e, names) for e in entries]
    token = data.get("nextPageToken")
    return Page(items, next_cursor=str(token) if token else None)


def _with_parent(item: Item, entry: dict[str, Any], names: ParentNames) -> Item:
    parents = entry.get("parents")
    if not isinstance(parents, list) or not parents or not isinstance(parents[0], str):
        return item
    return Item(
        id=item.id,
        name=item.name,
        kind=item.kind,
        size=item.size,
        mime_type=item.mime_type,
        modified_at=item.modified_at,
        extras=item.extras,
        parent=Crumb(parents[0], names(parents[0])),
    )


class ParentNames:
    """The names of one page's folders, looked up at most :data:`MAX_PARENT_LOOKUPS` times."""

    def __init__(
        self,
        ctx: ProviderContext,
        entries: list[dict[str, Any]],
        budget: int = MAX_PARENT_LOOKUPS,
    ) -> None:
        self.ctx = ctx
        self.budget = budget
        # A folder that is on the page names itself.
        self.known: dict[str, str] = {
            str(e["id"]): str(e.get("name") or "")
            for e in entries
            if e.get("mimeType") == FOLDER and e.get("name")
        }

    def __call__(self, folder_id: str) -> str:
        if folder_id not in self.known:
            self.known[folder_id] = self._look_up(folder_id)
        return self.known[folder_id]

    def _look_up(self, folder_id: str) -> str:
        if self.budget <= 0:
            return ""
        self.budget -= 1
        try:
            return _folder_name(self.ctx, folder_id)
        except ReauthRequired:
            raise
        except (HubError, KeyError, TypeError) as exc:
            log.info("no name for Drive folder %s: %s", folder_id, exc)
            return ""


def _folder_name(ctx: ProviderContext, folder_id: str) -> str:
    meta = api.get_json(
        ctx,
        api.file_path(folder_id),
        {"fields": "id,name,parents,driveId", "supportsAllDrives": "true"},
    )
    drive_id = meta.get("driveId")
    if not meta.get("parents") and drive_id == folder_id:
        # The root folder of a shared drive is named "Drive": the drive has the real name.
        drive = api.get_json(ctx, api.drive_path(str(drive_id)), {})
        return str(drive.get("name") or "")
    return str(meta.get("name") or "")
