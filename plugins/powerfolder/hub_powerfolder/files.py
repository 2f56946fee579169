"""The ``files`` service: PowerFolder folders at the top, WebDAV below them, downloads by GET.

The top level depends on how the connection authenticates. PowerFolder documents its folder API
(``GET {server}/api/folders?action=getAll``) for HTTP Basic only, and the one public working
OAuth client lists the top level with ``PROPFIND {server}/webdav/`` instead; so a bearer token
(OAuth2) gets the WebDAV root and a username and password the folder API. Inside a folder every
level is a WebDAV ``PROPFIND`` with ``Depth: 1`` (see :mod:`hub_powerfolder.webdav` for ids and
parsing). WebDAV has no paging, so a folder is read whole and sliced by an opaque offset cursor
at the caller's ``limit``; folders come first, then files, each by name, so the slices are stable.

A folder's internal name (the segment in WebDAV URLs, and so the item id) may differ from the
name users see: ids come from ``internalName`` or the ``href``, names from ``name`` or
``d:displayname``.

A PowerFolder server that does not accept the credentials may answer its login page (HTML, or a
redirect to it) instead of JSON or XML; that is reported as :class:`~hub.errors.ReauthRequired`
with a message saying so, never as a parse error. Redirects are followed on the same server
only, so credentials never travel to another origin.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from hub.context import ProviderContext
from hub.errors import HubError, ReauthRequired, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub_powerfolder import webdav

log = logging.getLogger(__name__)

CHUNK = CHUNK_SIZE  # the hub's download chunk size
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # a folder listing or the folder list, read whole
HTML_NAMES = (".html", ".htm", ".xhtml", ".xht", ".shtml")
MAX_REDIRECTS = 3


class RangeNotSatisfiable(HubError):
    """The file is shorter than the range asked for (the server's ``416``)."""

    status = 416
    code = "range_not_satisfiable"


# -- the operations ------------------------------------------------------------------------


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of ``parent``: the account's top-level folders (``None``), else the folders and
    files inside the WebDAV path ``parent``.

    :param cursor: the offset of this page, as the previous page returned it.
    :param limit: how many items at most.
    """
    start = _offset(cursor)
    if parent is None:
        items, path = top_level(ctx), []
    else:
        segments = _segments(parent, "parent")
        items, shown = listing(ctx, segments)
        path = [
            Crumb(webdav.join_item_id(segments[: i + 1]), segment)
            for i, segment in enumerate(segments)
        ]
        if shown:  # the folder's own entry named it: show that, not its URL segment
            path[-1] = Crumb(path[-1].id, shown)
    end = start + limit
    return Page(
        items=items[start:end], next_cursor=str(end) if end < len(items) else None, path=path
    )


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The file ``item_id`` by WebDAV ``GET``, streamed; ``Range`` is passed on as given."""
    segments = _segments(item_id, "itemId")
    headers = {"Range": range_header} if range_header else {}
    url = ctx.url("server", "/webdav/" + webdav.encode_path(segments))
    response = _checked(ctx, _send(ctx, "GET", url, headers=headers, stream=True))
    if response.status_code == 416:
        response.close()
        unsatisfied = response.headers.get("Content-Range")
        raise RangeNotSatisfiable(
            f"{ctx.name}: the range {range_header} is beyond the end of the file",
            headers={"Content-Range": unsatisfied} if unsatisfied else None,
        )
    name = segments[-1]
    if _is_html(response) and not name.lower().endswith(HTML_NAMES):
        response.close()
        raise _login_page(ctx)
    if response.status_code not in (200, 206):
        response.close()
        raise UpstreamFailed(f"{ctx.name} answered {response.status_code} to a download")
    length = response.headers.get("Content-Length")
    return Download(
        chunks=response.iter_content(CHUNK),
        filename=name,
        mime_type=response.headers.get("Content-Type") or "application/octet-stream",
        size=int(length) if length and length.isdigit() else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


# -- the listings ----------------------------------------------------------------------------


def top_level(ctx: ProviderContext) -> list[Item]:
    """The account's top-level folders: the folder API with a username and password (the only
    authentication it is documented for), else the WebDAV root, as the OAuth client does."""
    if ctx.integration.auth_type == "basic":
        return folders(ctx)
    items, _ = listing(ctx, ())
    return items


def folders(ctx: ProviderContext) -> list[Item]:
    """The account's PowerFolder folders from ``GET /api/folders?action=getAll``
    (``ResultSet.Result[]``), as top-level items whose id is the folder's ``internalName`` (its
    segment under ``/webdav/``) and whose name is its ``name``."""
    url = ctx.url("server", "/api/folders")
    response = _send(
        ctx, "GET", url, params={"action": "getAll"}, headers={"Accept": "application/json"}
    )
    body = _body(ctx, _checked(ctx, response))
    try:
        data = json.loads(body)
    except ValueError:
        raise UpstreamFailed(f"{ctx.name}'s folder list is not JSON") from None
    results = data.get("ResultSet", {}).get("Result") if isinstance(data, dict) else None
    if isinstance(results, dict):  # one folder may come as an object instead of a list
        results = [results]
    if not isinstance(results, list):
        raise UpstreamFailed(f"{ctx.name}'s folder list has no ResultSet.Result")
    items = [item for folder in results if (item := _folder_item(ctx, folder)) is not None]
    return sorted(items, key=lambda item: (item.name.casefold(), item.name))


def _folder_item(ctx: ProviderContext, folder: object) -> Item | None:
    if not isinstance(folder, dict):
        return None
    name, internal = folder.get("name"), folder.get("internalName")
    # WebDAV addresses a folder by its internal name (the Thunderbird add-on builds its WebDAV
    # paths from it); servers that send none use the name for both.
    segment = internal if isinstance(internal, str) and internal else name
    if not isinstance(segment, str) or not _addressable(segment):
        log.warning("%s: skipping a folder whose name cannot be addressed", ctx.name)
        return None
    shown = webdav.usable_display_name(name) or segment
    size = folder.get("size")
    folder_id = _folder_id(folder)
    return Item(
        id=segment,
        name=shown,
        kind="folder",
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        extras={"folderId": folder_id} if folder_id else {},
    )


def _folder_id(folder: dict[str, Any]) -> str | None:
    """The folder's id in PowerFolder's API: ``folderID``, else the tail of ``resourceURL``
    after ``files/`` (where the Thunderbird add-on takes it from)."""
    folder_id = folder.get("folderID")
    if folder_id is not None and not isinstance(folder_id, (dict, list)):
        return str(folder_id)
    resource = folder.get("resourceURL")
    if isinstance(resource, str) and "files/" in resource:
        return resource.split("files/", 1)[1].strip("/") or None
    return None


def listing(ctx: ProviderContext, segments: webdav.Segments) -> tuple[list[Item], str | None]:
    """The folders and files directly inside the WebDAV collection ``segments`` (``()`` for the
    WebDAV root: the account's folders), and the collection's own display name if it has one.

    Like the working client, the ``PROPFIND`` has no body: the server then answers every
    property it has (RFC 4918 ``allprop``), ``d:displayname`` among them.
    """
    path = "/webdav/" + (webdav.encode_path(segments) + "/" if segments else "")
    response = _send(
        ctx,
        "PROPFIND",
        ctx.url("server", path),
        headers={"Depth": "1", "Accept": "application/xml, text/xml"},
        stream=True,
    )
    if response.status_code in (405, 501):
        response.close()
        raise UpstreamFailed(f"{ctx.name} does not offer WebDAV at {ctx.url('server', '/webdav')}")
    body = _body(ctx, _checked(ctx, response))
    if response.status_code not in (200, 207):
        raise UpstreamFailed(f"{ctx.name} answered {response.status_code} to a folder listing")
    try:
        entries = webdav.parse_multistatus(body)
    except webdav.MultistatusRefused as exc:
        raise UpstreamFailed(f"{ctx.name}'s folder listing was refused: {exc}") from None
    base = (*webdav.path_segments(ctx.url("server")), "webdav")
    items = [
        _item(entry, segments)
        for entry in entries
        if _child_of(entry.segments, base, segments) and _addressable(entry.name)
    ]
    shown = next((e.display_name for e in entries if _is_itself(e.segments, base, segments)), None)
    items.sort(key=lambda item: (item.kind != "folder", item.name.casefold(), item.name))
    return items, shown


def _child_of(href: webdav.Segments, base: webdav.Segments, parent: webdav.Segments) -> bool:
    """Whether ``href`` is an entry directly inside ``parent`` (not ``parent`` itself).

    Hrefs are expected under ``{serverUrl}/webdav/``; behind a proxy that rewrites the path
    prefix they are matched by their ``webdav/{parent}/`` tail instead.
    """
    expected = base + parent
    if href[:-1] == expected:
        return True
    if href == expected:
        return False
    tail = ("webdav", *parent)
    return len(href) > len(tail) and href[-len(tail) - 1 : -1] == tail


def _is_itself(href: webdav.Segments, base: webdav.Segments, parent: webdav.Segments) -> bool:
    """Whether ``href`` is ``parent``'s own entry (matched like :func:`_child_of`)."""
    tail = ("webdav", *parent)
    return href == base + parent or href[-len(tail) :] == tail


def _item(entry: webdav.Entry, parent: webdav.Segments) -> Item:
    item_id = webdav.join_item_id((*parent, entry.name))
    if entry.is_collection:
        return Item(id=item_id, name=entry.shown_name, kind="folder", modified_at=entry.modified_at)
    return Item(
        id=item_id,
        name=entry.shown_name,
        kind="file",
        size=entry.size,
        mime_type=entry.content_type,
        modified_at=entry.modified_at,
    )


# -- answers -------------------------------------------------------------------------------


def _send(ctx: ProviderContext, method: str, url: str, **kwargs: Any) -> requests.Response:
    """``ctx.request``, following redirects on the same server only (a collection's missing
    slash, a download moved elsewhere on the server): credentials never leave its origin. A
    redirect to a login page, or to another server, raises instead."""
    for _ in range(MAX_REDIRECTS + 1):
        response = ctx.request(method, url, **kwargs)
        if not 300 <= response.status_code < 400:
            return response
        response.close()
        location = response.headers.get("Location")
        if not location:
            raise UpstreamFailed(f"{ctx.name} answered {response.status_code} without a Location")
        target = urlsplit(urljoin(url, location))
        if (target.scheme, target.netloc) != urlsplit(url)[:2]:
            raise UpstreamFailed(
                f"{ctx.name} redirected to {target.scheme}://{target.netloc}: check the "
                "integration's serverUrl"
            )
        if "login" in target.path.lower():
            raise _login_page(ctx)
        url = target.geturl()
        kwargs.pop("params", None)  # the Location carries its own query
        if response.status_code == 303:
            method = "GET"
            kwargs.pop("data", None)
    raise UpstreamFailed(f"{ctx.name} redirected more than {MAX_REDIRECTS} times")


def _checked(ctx: ProviderContext, response: requests.Response) -> requests.Response:
    """The response, unless it is an error or a refusal of the credentials; those raise the
    hub's errors."""
    status = response.status_code
    if status == 401 and ctx.integration.auth_type == "basic":
        response.close()
        raise ReauthRequired(
            f"{ctx.name} refused the username and password: set the credentials again"
        )
    if status == 416:
        return response  # for a download to report with the file's size
    return ctx.check(response)


def _body(ctx: ProviderContext, response: requests.Response) -> bytes:
    """The whole body of a JSON or XML answer, bounded; a login page raises ReauthRequired."""
    if _is_html(response):
        response.close()
        raise _login_page(ctx)
    chunks, total = [], 0
    try:
        for chunk in response.iter_content(CHUNK):
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise UpstreamFailed(f"{ctx.name}'s answer is larger than {MAX_ANSWER_BYTES} bytes")
            chunks.append(chunk)
    except requests.RequestException:
        raise UpstreamFailed(f"{ctx.name} broke off its answer") from None
    finally:
        response.close()
    body = b"".join(chunks)
    if _looks_like_html(body):
        raise _login_page(ctx)
    return body


def _is_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "text/html" in content_type or "application/xhtml" in content_type


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _login_page(ctx: ProviderContext) -> ReauthRequired:
    how = (
        "check the username and password"
        if ctx.integration.auth_type == "basic"
        else "connect again"
    )
    return ReauthRequired(
        f"{ctx.name} answered with a login page instead of data: it did not accept this "
        f"connection's credentials; {how}",
    )


# -- arguments -----------------------------------------------------------------------------


def _segments(item_id: str, field: str) -> webdav.Segments:
    try:
        return webdav.split_item_id(item_id)
    except ValueError as exc:
        raise ValidationError(f"{field} {exc}", fields={field: str(exc)}) from None


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 9:
        raise ValidationError("cursor is not one this provider returned", fields={"cursor": "bad"})
    return int(cursor)


def _addressable(name: str) -> bool:
    try:
        return webdav.split_item_id(name) == (name,)
    except ValueError:
        return False
