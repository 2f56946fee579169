"""Calls to Microsoft Graph: its error answers, its paging, and the item ids this plugin hands out.

**Item ids.** Graph addresses an item by drive and item id (``/drives/{drive}/items/{item}``), or
by a path under an item (``/drives/{drive}/items/{item}:/A/B:``, the form rclone uses for folders
shared from another drive). The ids given to the hub say which drive they live in, because items
reached through "Shared with me" live in other people's drives:

- ``{driveId}:{itemId}`` — an item by its id (files, and folders shared with the user);
- ``{driveId}:{itemId}:/A/B`` — the folder ``A/B`` under that item (``root`` for a drive's top).

Graph's drive and item ids never hold ``:`` or ``/`` (item names cannot hold ``:`` either), so
the id splits without ambiguity; every part passes :func:`hub.paths.check_path` and is
percent-encoded before it goes into a URL. A path-based folder id carries its own breadcrumbs:
one name per segment, no call needed.

**Cursors.** Graph pages with ``@odata.nextLink``, a whole URL. The hub never gets that URL:
the cursor is only the link's ``$skiptoken`` (checked to be on the Graph origin and the same
collection), and the next request is rebuilt from the listing's own path with that token as a
parameter, so a client cannot choose where the hub sends the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests

from hub.addresses import origin
from hub.context import ProviderContext, error_for
from hub.errors import (
    Forbidden,
    HubError,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    ValidationError,
)
from hub.paths import check_path

VERSION = "/v1.0"
# What a listing asks for: only the fields the hub shows (and those that say where an item lives).
ITEM_FIELDS = "id,name,size,lastModifiedDateTime,folder,file,parentReference,remoteItem"
# A $skiptoken is an opaque token of URL-safe characters; anything else is not ours.
CURSOR = re.compile(r"[A-Za-z0-9!$&'()*+,\-./:;=?@_~%]{1,4096}")


@dataclass(frozen=True)
class Ref:
    """A parsed item id: a drive, an item in it, and an optional path below that item."""

    drive: str
    item: str
    path: str = ""  # "" or "/A/B"

    def __str__(self) -> str:
        return f"{self.drive}:{self.item}" + (f":{self.path}" if self.path else "")

    def child(self, name: str) -> Ref:
        """The folder ``name`` below this one, addressed by path."""
        return Ref(self.drive, self.item, f"{self.path}/{name}")

    def url_path(self, suffix: str = "") -> str:
        """The Graph path of this item (``suffix`` such as ``/children`` or ``/content``)."""
        base = f"/drives/{quote(self.drive, safe='')}/items/{quote(self.item, safe='')}"
        if self.path:
            # Path addressing: /items/{id}:/A/B: then the action after a colon (Graph's syntax).
            return f"{base}:{quote(self.path, safe='/')}:{suffix}"
        return base + suffix


def parse_ref(value: str, field: str) -> Ref:
    """Read an id this plugin handed out; refuse anything else before a URL is built.

    :raises ValidationError: naming ``field`` (a 400 for the caller; nothing is sent).
    """
    drive, sep, rest = value.partition(":")
    item, _, path = rest.partition(":")
    if not sep or not drive or not item or (path and not path.startswith("/")):
        raise ValidationError(
            f"{value[:80]!r} is not a Microsoft item id", fields={field: "not an item id"}
        )
    check_path(drive, field)
    check_path(item, field)
    if path:
        # Names may hold '@' (it is percent-encoded); never '//' or a trailing '/'.
        check_path(path.lstrip("/"), field, allow_at=True)
        if "//" in path or path.endswith("/"):
            raise ValidationError("an empty name in an item path", fields={field: "empty segment"})
    return Ref(drive, item, path)


def graph_url(ctx: ProviderContext, path: str) -> str:
    """``path`` (``/me/drive/...``) under the integration's Graph endpoint, API version included."""
    return ctx.url("graph", VERSION + path)


def get_page(
    ctx: ProviderContext,
    path: str,
    *,
    cursor: str | None,
    limit: int,
    params: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a Graph collection at ``path``: its ``value`` and the cursor of the next page.

    :param cursor: ``None`` for the first page, else a cursor :func:`next_cursor` made.
    :raises ValidationError: for a cursor this plugin did not hand out.
    """
    query = {"$top": str(limit), **(params or {})}
    if cursor is not None:
        query.update(_paging(cursor))
    url = graph_url(ctx, path)
    data = get_json(ctx, url, params=query)
    values = data.get("value")
    if not isinstance(values, list):
        raise UpstreamFailed(f"{ctx.name} answered a listing without a value array")
    return [v for v in values if isinstance(v, dict)], next_cursor(ctx, url, data)


def next_cursor(ctx: ProviderContext, listed: str, data: dict[str, Any]) -> str | None:
    """The hub cursor for ``@odata.nextLink``: ``t`` + its ``$skiptoken`` (or ``k`` + its
    ``$skip``, which some collections use), after checking the link is on the Graph origin and
    continues the same collection (same last path segment, or the same function for a search:
    Graph may spell the path of a drive or item differently in the link than in the request).

    :raises UpstreamFailed: for a link elsewhere or without either parameter; the hub never
        calls a URL an answer chose.
    """
    link = data.get("@odata.nextLink")
    if link is None:
        return None
    if not isinstance(link, str):
        raise UpstreamFailed(f"{ctx.name} answered a nextLink that is not a URL")
    parts, wanted = urlsplit(link), urlsplit(listed)
    if origin(link) != origin(listed) or _collection(parts.path) != _collection(wanted.path):
        raise UpstreamFailed(
            f"{ctx.name} pointed the next page at another address: the hub does not follow it"
        )
    query = _paging_parameters(parts.query, parts.path)
    tokens, skips = query.get("skiptoken") or [], query.get("skip") or []
    if len(tokens) == 1 and CURSOR.fullmatch(tokens[0]):
        return "t" + tokens[0]
    if len(skips) == 1 and skips[0].isdigit() and len(skips[0]) < 10:
        return "k" + skips[0]
    raise UpstreamFailed(f"{ctx.name} answered a nextLink without a usable $skiptoken")


def _collection(path: str) -> str:
    """The collection a listing's path names: its last segment, without a function's
    parameters (``search(q='a/b')`` is ``search``; Graph's ids hold no ``(``)."""
    return unquote(path).split("(", 1)[0].rstrip("/").rsplit("/", 1)[-1].lower()


def _paging_parameters(query: str, path: str) -> dict[str, list[str]]:
    """A nextLink's query parameters by lower-case name without ``$`` (Graph writes
    ``$skiptoken``, ``$skipToken`` or ``skipToken``). The parameters may also follow a
    function's parameters in the path, ``search(query='x')&skipToken=…``, as the search
    reference's example shows."""
    found: dict[str, list[str]] = {}
    tail = unquote(path).rpartition(")")[2]
    for text in (query, tail[1:] if tail.startswith("&") else ""):
        for name, values in parse_qs(text).items():
            found.setdefault(name.lower().lstrip("$"), []).extend(values)
    return found


def _paging(cursor: str) -> dict[str, str]:
    """The query parameters a cursor of :func:`next_cursor` stands for, checked again: a
    client may send anything back."""
    kind, value = cursor[:1], cursor[1:]
    if kind == "t" and CURSOR.fullmatch(value):
        return {"$skiptoken": value}
    if kind == "k" and value.isdigit() and len(value) < 10:
        return {"$skip": value}
    raise ValidationError("this cursor is not one this hub gave", fields={"cursor": "unknown"})


def get_json(ctx: ProviderContext, url: str, **kwargs: Any) -> dict[str, Any]:
    """``GET url`` with the account's token; its JSON object, or the hub error Graph's says."""
    response = check(ctx, ctx.request("GET", url, **kwargs))
    try:
        data = response.json()
    except ValueError:
        raise UpstreamFailed(f"{ctx.name} did not answer JSON") from None
    if not isinstance(data, dict):
        raise UpstreamFailed(f"{ctx.name} answered JSON that is not an object")
    return data


def check(ctx: ProviderContext, response: requests.Response) -> requests.Response:
    """The response if it succeeded; otherwise the hub error for Graph's error code."""
    if response.status_code < 400:
        return response
    error = error_of(ctx, response)
    response.close()
    raise error


def error_of(ctx: ProviderContext, response: requests.Response) -> HubError:
    """The hub error for a failed Graph answer, read from ``{"error": {"code", ...}}``
    (the codes of Graph's error reference and rclone's ``api.Error``)."""
    status = response.status_code
    code = graph_code(response)
    said = f" ({code})" if code else ""
    if status in (429, 503) or code == "activityLimitReached":
        wait = response.headers.get("Retry-After", "")
        seconds = int(wait) if wait.isdigit() else None
        later = f" for {seconds} seconds" if seconds is not None else ""
        return RateLimited(
            f"{ctx.name} is throttling this account{said}; try again{later or ' later'}",
            retry_after=seconds,
        )
    if status == 401 or code == "InvalidAuthenticationToken":
        return ReauthRequired(f"{ctx.name} no longer accepts this connection{said}: connect again")
    if code == "itemNotFound" or status == 404:
        return NotFound(f"{ctx.name} has no such item, or it was deleted or moved{said}")
    if code == "accessDenied" or status == 403:
        return Forbidden(
            f"{ctx.name} refused this account access to this item{said}: it may need the "
            "Files.Read.All or Sites.Read.All permission, or the item's owner must share it"
        )
    if code == "quotaLimitReached":
        return Forbidden(f"{ctx.name} refused: the account's quota is reached{said}")
    mapped = error_for(ctx.name, response)
    if code and isinstance(mapped, UpstreamFailed):
        return UpstreamFailed(f"{ctx.name} answered {status}{said}")
    return mapped


def graph_code(response: requests.Response) -> str | None:
    """Graph's ``error.code`` of a failed answer (a short word), or ``None``."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]{0,63}", code):
        return code
    return None
