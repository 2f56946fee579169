"""Browse and download: the two operations of the `files` service."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from hub.context import ProviderContext
from hub.disposition import filename_from_disposition
from hub.errors import UpstreamFailed
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.paths import check_path


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of ``parent`` (``None``: the top level); the provider's cursor passes through."""
    params: dict[str, Any] = {"parent": parent or "root", "limit": limit}
    if cursor:
        params["cursor"] = cursor
    data = ctx.get_json("api", "/v1/list", params=params)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise UpstreamFailed(f"{ctx.name} answered a listing without entries")
    return Page(
        items=[_item(entry) for entry in data["entries"]],
        next_cursor=data.get("next") or None,
        path=[Crumb(str(c["id"]), str(c["name"])) for c in data.get("path") or []],
    )


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """The file's bytes, streamed; a ``Range`` is passed on."""
    headers = {"Range": range_header} if range_header else {}
    url = ctx.url("api", "/v1/content/" + quote(check_path(item_id, "itemId"), safe=""))
    response = ctx.check(ctx.request("GET", url, headers=headers, stream=True))
    length = response.headers.get("Content-Length")
    named = filename_from_disposition(response.headers.get("Content-Disposition"))
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=named or item_id,
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        size=int(length) if length and length.isdigit() else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def _item(entry: dict[str, Any]) -> Item:
    modified = entry.get("modified")
    return Item(
        id=str(entry["id"]),
        name=str(entry["name"]),
        kind="folder" if entry.get("folder") else "file",
        size=entry.get("size"),
        mime_type=entry.get("type"),
        modified_at=dt.datetime.fromtimestamp(modified, dt.UTC) if modified else None,
    )
