"""Browsing: the ``onedrive`` service (the user's drive and a "Shared with me" folder) and the
``sharepoint`` service (sites → document libraries → folders → files).

Ids are those of :mod:`hub_microsoft.graph` (``{driveId}:{itemId}[:/path]``). A SharePoint id
starts with its site (``{siteId}|{driveId}:root:/A``) so that a folder's breadcrumbs can name the
site and the library it sits in; site ids hold neither ``|`` nor ``:``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.context import ProviderContext
from hub.errors import ValidationError
from hub.items import Crumb, Item, Page, utc_time
from hub.paths import check_path
from hub_microsoft import graph
from hub_microsoft.graph import Ref

SHARED = "shared-with-me"  # the top-level folder of items other people shared with the user
SHARED_NAME = "Shared with me"
START = "0"  # the cursor of the root's first Graph page when the first hub page held only SHARED
LIST_PARAMS = {"$select": graph.ITEM_FIELDS}
SITE_FIELDS = "id,displayName,name"


def onedrive_browse(
    ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int
) -> Page:
    """One page of the user's OneDrive: the top level (with "Shared with me" first), the
    shared items, or a folder.

    :raises ValidationError: for an id or a cursor this plugin did not hand out.
    """
    if parent is None:
        return _top(ctx, cursor, limit)
    if parent == SHARED:
        values, after = graph.get_page(
            ctx, "/me/drive/sharedWithMe", cursor=_token(cursor), limit=limit, params=LIST_PARAMS
        )
        items = [i for v in values if (i := to_item(v, None)) is not None]
        trail = [Crumb(SHARED, SHARED_NAME)]
        return Page(items, after, trail if cursor is None else [])
    ref = graph.parse_ref(parent, "parent")
    values, after = graph.get_page(
        ctx, ref.url_path("/children"), cursor=_token(cursor), limit=limit, params=LIST_PARAMS
    )
    items = [i for v in values if (i := to_item(v, ref)) is not None]
    trail = drive_trail(ctx, ref, "") if cursor is None else []
    return Page(items, after, trail)


def _top(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The drive's root: the "Shared with me" folder leads the first page (it counts in
    ``limit``: a page never holds more than asked)."""
    shared = Item(SHARED, SHARED_NAME, "folder")
    if cursor is None and limit == 1:
        return Page([shared], START)
    first = cursor is None
    values, after = graph.get_page(
        ctx,
        "/me/drive/root/children",
        cursor=None if first else _token(cursor),
        limit=limit - 1 if first else limit,
        params=LIST_PARAMS,
    )
    items = [i for v in values if (i := to_item(v, None)) is not None]
    return Page([shared, *items] if first else items, after)


def sharepoint_browse(
    ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int
) -> Page:
    """One page of SharePoint: the sites the user can reach (``/sites?search=*``), a site's
    document libraries, or a folder in a library.

    :raises ValidationError: for an id or a cursor this plugin did not hand out.
    """
    token = _token(cursor)
    if parent is None:
        params = {"search": "*", "$select": SITE_FIELDS}
        values, after = graph.get_page(ctx, "/sites", cursor=token, limit=limit, params=params)
        sites = [
            Item(str(v["id"]), site_name(v), "folder", extras={"webUrl": v.get("webUrl")})
            for v in values
            if _usable_site_id(v.get("id"))
        ]
        return Page(sites, after)
    site, sep, rest = parent.partition("|")
    check_site(site, "parent")
    if not sep:
        path = f"/sites/{quote(site, safe='')}/drives"
        params = {"$select": "id,name,driveType"}
        values, after = graph.get_page(ctx, path, cursor=token, limit=limit, params=params)
        libraries = [
            Item(f"{site}|{v['id']}:root", str(v.get("name") or v["id"]), "folder")
            for v in values
            if isinstance(v.get("id"), str) and ":" not in v["id"]
        ]
        trail = [] if cursor is not None else [_site_crumb(ctx, site)]
        return Page(libraries, after, trail)
    ref = graph.parse_ref(rest, "parent")
    values, after = graph.get_page(
        ctx, ref.url_path("/children"), cursor=token, limit=limit, params=LIST_PARAMS
    )
    items = [i for v in values if (i := to_item(v, ref, prefix=f"{site}|")) is not None]
    trail = [] if cursor is not None else _library_trail(ctx, site, ref)
    return Page(items, after, trail)


def hidden(entry: dict[str, Any]) -> bool:
    """What cannot be opened or downloaded: deleted items, OneNote notebooks (which rclone
    hides too)."""
    return bool(entry.get("deleted")) or (entry.get("package") or {}).get("type") == "oneNote"


def to_item(entry: dict[str, Any], parent: Ref | None, prefix: str = "") -> Item | None:
    """A Graph driveItem as the hub's item; ``None`` for what cannot be opened or downloaded
    (:func:`hidden`)."""
    if hidden(entry):
        return None
    remote = entry.get("remoteItem")
    if isinstance(remote, dict):
        # Shared from another drive (rclone's remoteItem): the facets live in remoteItem and
        # the item is opened in its own drive. Its trail starts there: a shortcut.
        drive = (remote.get("parentReference") or {}).get("driveId")
        if not isinstance(drive, str) or not isinstance(remote.get("id"), str):
            return None
        ref = Ref(drive, remote["id"])
        name = str(entry.get("name") or remote.get("name") or remote["id"])
        return item_with(prefix + str(ref), name, remote, {"shortcut": prefix + str(ref)})
    item_id, name = entry.get("id"), entry.get("name")
    if not isinstance(item_id, str) or not isinstance(name, str):
        return None
    drive = (entry.get("parentReference") or {}).get("driveId")
    if parent is None:
        if not isinstance(drive, str):
            return None
        parent = Ref(drive, "root")
    if "folder" in entry and "/" not in name and ":" not in name:
        ref = parent.child(name)
    else:
        ref = Ref(drive if isinstance(drive, str) else parent.drive, item_id)
    return item_with(prefix + str(ref), name, entry, {})


def item_with(item_id: str, name: str, facets: dict[str, Any], extras: dict[str, Any]) -> Item:
    """An item called ``item_id`` from a driveItem's facets (``folder``, ``file``, ``size``,
    ``lastModifiedDateTime``; those of ``remoteItem`` for an item of another drive)."""
    folder = "folder" in facets
    file = facets.get("file") if isinstance(facets.get("file"), dict) else {}
    size = facets.get("size")
    return Item(
        item_id,
        name,
        "folder" if folder else "file",
        size=size if isinstance(size, int) and not folder else None,
        mime_type=file.get("mimeType") if not folder else None,
        modified_at=utc_time(facets.get("lastModifiedDateTime")),
        extras=extras,
    )


def drive_trail(ctx: ProviderContext, ref: Ref, prefix: str) -> list[Crumb]:
    """Breadcrumbs of a folder in a drive: one per path segment, after the item the path hangs
    from unless that is the drive's root (its name costs the one call a trail may spend)."""
    crumbs: list[Crumb] = []
    anchor = Ref(ref.drive, ref.item)
    if ref.item != "root":
        meta = graph.get_json(
            ctx, graph.graph_url(ctx, anchor.url_path()), params={"$select": "id,name"}
        )
        crumbs.append(Crumb(prefix + str(anchor), str(meta.get("name") or ref.item)))
    walked = anchor
    for name in ref.path.split("/")[1:]:
        walked = walked.child(name)
        crumbs.append(Crumb(prefix + str(walked), name))
    return crumbs


def _library_trail(ctx: ProviderContext, site: str, ref: Ref) -> list[Crumb]:
    """Site, library, then the folders: one call (the site with its libraries expanded)."""
    if ref.item != "root":
        raise ValidationError("not a SharePoint folder id", fields={"parent": "not a folder id"})
    data = graph.get_json(
        ctx,
        graph.graph_url(ctx, f"/sites/{quote(site, safe='')}"),
        params={"$select": SITE_FIELDS, "$expand": "drives($select=id,name)"},
    )
    drives = {d.get("id"): d.get("name") for d in data.get("drives") or [] if isinstance(d, dict)}
    library = Crumb(f"{site}|{ref.drive}:root", str(drives.get(ref.drive) or ref.drive))
    walked, crumbs = Ref(ref.drive, "root"), [Crumb(site, site_name(data)), library]
    for name in ref.path.split("/")[1:]:
        walked = walked.child(name)
        crumbs.append(Crumb(f"{site}|{walked}", name))
    return crumbs


def _site_crumb(ctx: ProviderContext, site: str) -> Crumb:
    data = graph.get_json(
        ctx, graph.graph_url(ctx, f"/sites/{quote(site, safe='')}"), params={"$select": SITE_FIELDS}
    )
    return Crumb(site, site_name(data))


def site_name(site: dict[str, Any]) -> str:
    """The name a site is shown under, the same in the listing and in breadcrumbs."""
    return str(site.get("displayName") or site.get("name") or site.get("id"))


def _usable_site_id(value: Any) -> bool:
    """A site id as Graph spells them (``host,siteGuid,webGuid``): never ``|``, ``:`` or ``/``,
    which would make the hub's ids ambiguous."""
    return isinstance(value, str) and bool(value) and not any(c in value for c in "|:/")


def check_site(site: str, field: str) -> str:
    """Return a site id taken from a caller's id, or refuse it (nothing is sent).

    :raises ValidationError: naming ``field``.
    """
    if not _usable_site_id(site):
        raise ValidationError("not a SharePoint site id", fields={field: "not a site id"})
    return check_path(site, field)


def _token(cursor: str | None) -> str | None:
    """The Graph cursor a hub cursor stands for (``None`` for the first page)."""
    return None if cursor is None or cursor == START else cursor
