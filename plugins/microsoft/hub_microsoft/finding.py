"""Finding files in OneDrive: search, the "Shared with me" and "Recent" views, and thumbnails.

**Search** is ``GET /me/drive/root/search(q='{text}')``. The text is an OData string literal in
the URL's path: each ``'`` is doubled (OData's escape), then every character but the unreserved
ones is percent-encoded, so quotes, ``)``, ``/``, ``?``, ``#``, ``%`` and the rest are text to
find — the literal can neither end early nor spill into the path or the query.

**Ids.** A result may sit anywhere in the drive, or in another drive (``remoteItem``), so every
result's id addresses it by drive and item id (``{driveId}:{itemId}``), never by a path from
the root; such a folder opens with the service's ordinary browse. The folder a result lives in
(``Item.parent``) comes with Graph's answer, ``parentReference`` (``driveId``, ``id``, and
``name`` or else the last segment of its percent-encoded ``path``): no call is made for it. An
item at the root of the user's drive lives in the service's top level: ``Crumb("", "OneDrive")``.

**Paging** is Graph's ``@odata.nextLink`` kept as an opaque cursor, as browsing does
(:func:`hub_microsoft.graph.next_cursor`).

**Thumbnails** are ``GET /drives/{d}/items/{i}/thumbnails/0/{small|medium|large}/content``,
which answers ``302`` to a pre-authenticated URL; it is followed without the token, only to
Graph's download hosts (those of :mod:`hub_microsoft.downloads`) and the thumbnail service
``*.svc.ms`` (``{region}-mediap.svc.ms/transform/thumbnail``, where OneDrive for Business and
SharePoint serve them).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from hub.context import ProviderContext, https_under, unambiguous
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.providers import View
from hub_microsoft import downloads, folders, graph
from hub_microsoft.graph import Ref

#: Graph's named thumbnail sizes and their longest edge in pixels (driveitem-list-thumbnails).
SIZES = (("small", 96), ("medium", 176), ("large", 800))
#: Where a thumbnail redirect may go besides the download hosts (no token is sent there).
THUMBNAIL_DOMAINS = ("svc.ms",)
#: How Graph writes the path of the root of the drive asked about (``/me/drive``).
TOP_PATHS = frozenset({"/drive/root:", "/drive/root:/"})
TOP_NAME = "OneDrive"  # the service's name for its top level


def search_path(text: str) -> str:
    """The Graph path searching the user's drive for ``text`` (see the module)."""
    literal = quote(text.replace("'", "''"), safe="")
    return f"/me/drive/root/search(q='{literal}')"


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """One page of the items of the user's drive (and those shared with them) that match
    ``query`` in their name, metadata or content, each with the folder it lives in.

    :param query: the user's text, searched for as typed.
    :param cursor: the previous page's ``next_cursor``.
    :raises ValidationError: for a cursor this plugin did not hand out.
    """
    values, after = graph.get_page(
        ctx,
        search_path(query),
        cursor=cursor,
        limit=limit,
        params=folders.LIST_PARAMS,
    )
    return Page([i for v in values if (i := found_item(v)) is not None], after)


def shared_with_me(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Shared with me" view: the items of the top level's "Shared with me" folder
    (``GET /me/drive/sharedWithMe``), without breadcrumbs."""
    page = folders.onedrive_browse(ctx, folders.SHARED, cursor, limit)
    return Page(page.items, page.next_cursor)


def recent(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Recent" view: items the user used lately (``GET /me/drive/recent``), in their
    drive or in others'."""
    values, after = graph.get_page(
        ctx, "/me/drive/recent", cursor=cursor, limit=limit, params=folders.LIST_PARAMS
    )
    return Page([i for v in values if (i := found_item(v)) is not None], after)


VIEWS: tuple[View, ...] = (
    View("shared", "Shared with me", browse=shared_with_me, description="Shared by others"),
    View("recent", "Recent", browse=recent, description="What you used lately"),
)


def found_item(entry: dict[str, Any]) -> Item | None:
    """A search or "Recent" result as the hub's item: addressed by drive and item id, with the
    folder it lives in; ``None`` for what cannot be opened (as :func:`folders.to_item`)."""
    if isinstance(entry.get("remoteItem"), dict):
        item = folders.to_item(entry, None)
        reference = entry["remoteItem"].get("parentReference")
    else:
        reference = entry.get("parentReference")
        drive = (reference or {}).get("driveId")
        item_id, name = entry.get("id"), entry.get("name")
        if folders.hidden(entry) or not _plain_id(drive) or not _plain_id(item_id):
            return None
        item = folders.item_with(str(Ref(drive, item_id)), str(name or item_id), entry, {})
    if item is None:
        return None
    parent = parent_crumb(reference)
    return _replace(item, parent=parent) if parent is not None else item


def parent_crumb(reference: Any) -> Crumb | None:
    """The folder an ``itemReference`` names, as a crumb browse opens; ``None`` without ids.
    The root of the user's drive (``path`` ``/drive/root:``) is the top level, ``Crumb("",
    "OneDrive")``. Another folder's name is ``name``, else the last segment of ``path``
    (``/drive/root:/A/B``), else empty (another drive's root, whose path has no segment)."""
    if not isinstance(reference, dict):
        return None
    if reference.get("path") in TOP_PATHS:
        # The root of the user's own drive is the service's top level, which an empty id opens.
        return Crumb("", TOP_NAME)
    drive, item = reference.get("driveId"), reference.get("id")
    if not _plain_id(drive) or not _plain_id(item):
        return None
    name = reference.get("name")
    if not isinstance(name, str):
        path = reference.get("path")
        tail = path.partition(":")[2] if isinstance(path, str) else ""
        name = unquote(tail.rstrip("/").rsplit("/", 1)[-1]) if tail.strip("/") else ""
    return Crumb(str(Ref(drive, item)), name)


def _plain_id(value: Any) -> bool:
    """A Graph drive or item id this plugin can put in its own ids (no ``:``, ``|`` or ``/``)."""
    return isinstance(value, str) and bool(value) and not any(c in value for c in ":|/")


def _replace(item: Item, **changes: Any) -> Item:
    fields = {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "size": item.size,
        "mime_type": item.mime_type,
        "modified_at": item.modified_at,
        "extras": item.extras,
        "parent": item.parent,
    }
    return Item(**{**fields, **changes})


def size_name(size: int) -> str:
    """The smallest of Graph's named sizes at least ``size`` pixels wide (``large`` beyond)."""
    return next((name for name, pixels in SIZES if size <= pixels), SIZES[-1][0])


def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download:
    """A small image of an item of the ``onedrive`` service, about ``size`` pixels on its
    longest edge; the hub checks it is a PNG, JPEG or WebP before serving it.

    :raises ValidationError: for an id this plugin did not hand out (nothing is sent).
    :raises NotFound: when Graph has no thumbnail of the item.
    :raises UpstreamFailed: for a redirect anywhere but a Microsoft download or thumbnail host.
    """
    ref = graph.parse_ref(item_id, "itemId")
    url = graph.graph_url(ctx, ref.url_path(f"/thumbnails/0/{size_name(size)}/content"))
    response = ctx.request("GET", url, stream=True)
    response = ctx.follow(response, url, elsewhere=lambda target: may_fetch_from(ctx, target))
    graph.check(ctx, response)
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename="thumbnail",
        mime_type=response.headers.get("Content-Type") or "application/octet-stream",
        close=response.close,
    )


def may_fetch_from(ctx: ProviderContext, url: str) -> bool:
    """Whether a thumbnail redirect may be followed to ``url`` (without the token)."""
    return downloads.may_download_from(ctx, url) or (
        unambiguous(url) and https_under(url, THUMBNAIL_DOMAINS)
    )
