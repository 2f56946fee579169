"""The ``kdrive`` service: every drive of the account, its folders and files, and downloads.

The top level lists the drives as folders. A drive's folder id is its root directory
(``"{drive_id}:1"``), and every item id is ``"{drive_id}:{file_id}"``, so a folder or file id is
enough to reach it again. Folders are read through the v3 listing (``limit``/``cursor``,
``has_more``); trashed entries are never shown. Opening a folder costs at most three calls at
any depth: the listing, the folder's own record (for breadcrumbs, :mod:`hub_infomaniak.trail`)
and, once per connection, the drive list (for the drive's name). Downloads stream the file's
bytes and pass the caller's ``Range`` on.

Every call needs the ``drive`` scope; a refusal says so.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from typing import Any

import requests

from hub.context import ProviderContext, anywhere
from hub.disposition import filename_from_disposition
from hub.errors import HubError, NotFound, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub_infomaniak import trail
from hub_infomaniak.envelope import RETRY_ON, data_list, get_envelope, raise_for_status
from hub_infomaniak.scopes import SERVICE_SCOPES

SCOPE = SERVICE_SCOPES["kdrive"]  # what every kDrive call needs
ROOT_DIR = trail.ROOT_DIR  # every drive's root directory has this file id
DRIVES_PATH = "/2/drive/users/current/drives"
# The drive and its account nested under each entry (data[].drive.account), as kDrive's desktop
# client asks; older answers put ``account`` at the top of the entry: both are read.
DRIVE_ROLES = (("roles[]", "admin"), ("roles[]", "user"), ("with", "drive,drive.account"))
MAX_PAGE = 1000  # the most the v3 listing returns at once
# kDrive's files carry a kind (``extension_type``), rarely a ``mime_type``: the name decides
# first, then these kinds that name one type.
EXTENSION_TYPES = {"pdf": "application/pdf", "text": "text/plain", "mail": "message/rfc822"}
CHUNK = CHUNK_SIZE  # the hub's download chunk size
# Ids are 64-bit numbers at Infomaniak: 18 digits always fit, and bound what int() parses.
ITEM_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")
PAGE_CURSOR = re.compile(r"^page:([1-9][0-9]{0,5})$")


def kdrive_id(drive_id: int | str, file_id: int | str) -> str:
    """The hub's id of a kDrive file or folder: ``"{drive_id}:{file_id}"``."""
    return f"{drive_id}:{file_id}"


def parse_item_id(value: str) -> tuple[int, int]:
    """``(drive_id, file_id)`` from an id made by :func:`kdrive_id`.

    :raises hub.errors.NotFound: when ``value`` is not such an id.
    """
    match = ITEM_ID.fullmatch(value)
    if match is None:
        raise NotFound(f"{value[:100]!r} is not a kDrive item: ids look like '<drive>:<file>'")
    return int(match.group(1)), int(match.group(2))


# -- browse ------------------------------------------------------------------------------------


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of kDrive: the drives at the top level, else the entries of a folder.

    :param ctx: the integration's authenticated session.
    :param parent: ``None`` for the drives, else a folder id (``"{drive_id}:{file_id}"``).
    :param cursor: the previous page's ``next_cursor``, or ``None`` for the first page.
    :param limit: the page size asked for (1-1000).
    :return: the page; breadcrumbs come with the first page of a folder.
    """
    if parent is None:
        return list_drives(ctx, cursor, limit)
    drive_id, dir_id = parse_item_id(parent)
    return list_directory(ctx, drive_id, dir_id, cursor, limit)


def list_drives(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The drives the account is a user or an administrator of, as folders (v2 paging)."""
    page = 1
    if cursor:
        match = PAGE_CURSOR.match(cursor)
        if match is None:
            raise ValidationError("not a cursor of the drive list", fields={"cursor": "unknown"})
        page = int(match.group(1))
    params = [*DRIVE_ROLES, ("page", str(page)), ("per_page", str(min(limit, MAX_PAGE)))]
    envelope = get_envelope(ctx, "api", DRIVES_PATH, params, scope=SCOPE)
    items = [drive_item(drive) for drive in data_list(ctx, envelope)]
    trail.remember_drives(ctx, ((i.extras["driveId"], i.name) for i in items if i is not None))
    more = page < _page_count(envelope)
    return Page(
        items=[i for i in items if i is not None], next_cursor=f"page:{page + 1}" if more else None
    )


def _page_count(envelope: dict) -> int:
    """How many pages a v2 list has: ``pages``, else from ``total`` and ``items_per_page``."""
    pages, total, size = (envelope.get(k) for k in ("pages", "total", "items_per_page"))
    if isinstance(pages, int):
        return pages
    if isinstance(total, int) and isinstance(size, int) and size > 0:
        return -(-total // size)
    return 1


def drive_item(drive: dict) -> Item | None:
    """A drive of the drive list as a folder item (its root), or ``None`` without a drive id."""
    # users/current/drives answers drive_id/drive_name (its own ``id`` is the link between the
    # user and the drive, not the drive) and nests the drive; drive/init answers id/name.
    nested = drive.get("drive") if isinstance(drive.get("drive"), dict) else {}
    drive_id = drive.get("drive_id", nested.get("id", drive.get("id")))
    if drive_id is None:
        return None
    name = drive.get("drive_name") or drive.get("name") or nested.get("name")
    extras: dict[str, Any] = {"driveId": drive_id}
    account = nested.get("account") or drive.get("account")
    if isinstance(account, dict) and account.get("name"):
        extras["account"] = account["name"]
    if drive.get("in_maintenance") or nested.get("in_maintenance"):
        extras["inMaintenance"] = True
    name = name or f"kDrive {drive_id}"
    return Item(id=kdrive_id(drive_id, ROOT_DIR), name=str(name), kind="folder", extras=extras)


def list_directory(
    ctx: ProviderContext, drive_id: int, dir_id: int, cursor: str | None, limit: int
) -> Page:
    """One page of a directory through the v3 listing, trashed entries left out."""
    params: dict[str, Any] = {"limit": min(limit, MAX_PAGE), "with": "path"}
    if cursor:
        params["cursor"] = cursor
    listing = f"/3/drive/{drive_id}/files/{dir_id}/files"
    envelope = get_envelope(ctx, "api", listing, params, scope=SCOPE)
    entries = [e for e in data_list(ctx, envelope) if e.get("id") is not None and not trashed(e)]
    trail.remember_listing(ctx, drive_id, dir_id, entries)
    items = [file_item(drive_id, entry) for entry in entries]
    next_cursor = envelope.get("cursor") if envelope.get("has_more") else None
    path = [] if cursor else breadcrumbs(ctx, drive_id, dir_id)
    return Page(items=items, next_cursor=str(next_cursor) if next_cursor else None, path=path)


def trashed(entry: dict) -> bool:
    """Whether a kDrive entry is in the trash (its ``status`` says so)."""
    return "trash" in str(entry.get("status") or "").lower()


def file_item(drive_id: int, entry: dict, parent: Crumb | None = None) -> Item:
    """A kDrive file or folder record as an item; ``parent`` names the folder it lives in."""
    is_dir = entry.get("type") == "dir"
    extras = {"path": entry["path"]} if isinstance(entry.get("path"), str) else {}
    return Item(
        id=kdrive_id(drive_id, entry.get("id")),
        name=str(entry.get("name") or entry.get("id")),
        kind="folder" if is_dir else "file",
        size=None if is_dir else _integer(entry.get("size")),
        mime_type=None if is_dir else guess_mime_type(entry),
        modified_at=_timestamp(
            entry.get("last_modified_at") or entry.get("updated_at") or entry.get("added_at")
        ),
        extras=extras,
        parent=parent,
    )


def guess_mime_type(entry: dict) -> str | None:
    """A file's media type: kDrive's ``mime_type`` when it sends one, else guessed from the
    name, else from ``extension_type`` when that kind names a single type."""
    given = entry.get("mime_type")
    if isinstance(given, str) and given:
        return given
    guessed, _ = mimetypes.guess_type(str(entry.get("name") or ""), strict=False)
    return guessed or EXTENSION_TYPES.get(str(entry.get("extension_type") or ""))


def breadcrumbs(ctx: ProviderContext, drive_id: int, dir_id: int) -> list[Crumb]:
    """The trail from the drive down to ``dir_id``, in at most two calls at any depth.

    The folder's own record (``with=path``) names every ancestor; see :mod:`hub_infomaniak.trail`
    for their ids. On a drive the account is only a guest of (reached through "Shared with
    me"), the drive and the folders above are not the user's to open: the trail is the folder
    alone. Breadcrumbs are a convenience: if Infomaniak cannot tell (an error), the listing is
    served without them.
    """
    try:
        record: Any = {}
        if dir_id != ROOT_DIR:
            path = f"/3/drive/{drive_id}/files/{dir_id}"
            record = get_envelope(ctx, "api", path, {"with": "path"}, scope=SCOPE).get("data")
        if not isinstance(record, dict):
            return []
        name = drive_name(ctx, drive_id)
    except HubError:
        return []
    if name is None:  # a guest's drive
        own = record.get("name")
        return [Crumb(kdrive_id(drive_id, dir_id), str(own))] if own else []
    drive = Crumb(kdrive_id(drive_id, ROOT_DIR), name)
    return trail.build_trail(ctx, drive_id, record, drive, kdrive_id) if record else [drive]


def drive_name(ctx: ProviderContext, drive_id: int) -> str | None:
    """The drive's name: remembered from this connection's drive list, else read from it once.

    :return: the name, or ``None`` for a drive the account is not a user or administrator of
        (a guest's, reached through "Shared with me"); that too is remembered.
    """
    known = trail.drive_name_from_memory(ctx, drive_id)
    if known is not None:
        return known or None
    params = [*DRIVE_ROLES, ("per_page", str(MAX_PAGE))]
    envelope = get_envelope(ctx, "api", DRIVES_PATH, params, scope=SCOPE)
    drives = [i for i in map(drive_item, data_list(ctx, envelope)) if i is not None]
    trail.remember_drives(ctx, ((i.extras["driveId"], i.name) for i in drives))
    for drive in drives:
        if str(drive.extras["driveId"]) == str(drive_id):
            return drive.name
    trail.remember_drives(ctx, [(drive_id, trail.GUEST)])
    return None


# -- download ----------------------------------------------------------------------------------


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """A file's bytes, streamed, with the caller's ``Range`` passed to kDrive.

    :param ctx: the integration's authenticated session.
    :param item_id: a file id (``"{drive_id}:{file_id}"``).
    :param range_header: the caller's ``Range`` header, or ``None``.
    :return: the download: 206 with ``Content-Range`` when kDrive honoured the range.
    """
    drive_id, file_id = parse_item_id(item_id)
    url = ctx.url("api", f"/2/drive/{drive_id}/files/{file_id}/download")
    headers = {"Range": range_header} if range_header else {}
    response = fetch(ctx, url, headers)
    length = response.headers.get("Content-Length")
    filename = (
        filename_from_disposition(response.headers.get("Content-Disposition"))
        or _file_name(ctx, drive_id, file_id)
        or f"file-{file_id}"
    )
    return Download(
        chunks=response.iter_content(CHUNK),
        filename=filename,
        mime_type=response.headers.get("Content-Type") or "application/octet-stream",
        size=int(length) if length and length.isdigit() else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def fetch(ctx: ProviderContext, url: str, headers: dict[str, str]) -> requests.Response:
    """GET a download (or a thumbnail), following a redirect to a storage host without the
    credentials (a signed storage URL carries its own authority)."""
    response = ctx.request("GET", url, headers=headers, stream=True, retry_on=RETRY_ON)
    response = ctx.follow(
        response,
        url,
        headers=headers,
        elsewhere=anywhere,
        resend=lambda target: ctx.request(
            "GET", target, headers=headers, stream=True, retry_on=RETRY_ON
        ),
    )
    return raise_for_status(ctx, response, SCOPE)


def _file_name(ctx: ProviderContext, drive_id: int, file_id: int) -> str | None:
    try:
        path = f"/3/drive/{drive_id}/files/{file_id}"
        entry = get_envelope(ctx, "api", path, scope=SCOPE).get("data")
    except HubError:
        return None
    return str(entry["name"]) if isinstance(entry, dict) and entry.get("name") else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None
