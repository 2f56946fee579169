"""The ``benchfiles`` provider: browse and download against bench/upstream.py.

Only for ``make bench``: bench/run.py installs it into a temporary directory that is on the
hub's ``PYTHONPATH`` for one run, never into the project's environment. Modelled on the test
suite's provider (tests/support_provider.py): bearer auth, one endpoint ``api`` that is the
required ``serverUrl`` setting, and a ``files`` service.

Upstream shapes: ``GET /list?limit=&cursor=`` answers ``{"entries": [...], "next": cursor}``;
``GET /v1/file?size=N`` streams N bytes (``Range`` honoured). A file's item id is its size in
bytes, so the bench can ask for a 1 GiB download by id. The ``chunkKiB`` setting is the size of
the chunks a download is read and passed on in: by default ``hub.items.CHUNK_SIZE`` (1 MiB), as
every plugin that ships with the hub reads them.
"""

from __future__ import annotations

import datetime as dt

from hub import hookimpl
from hub.context import ProviderContext
from hub.errors import NotFound, UpstreamFailed
from hub.items import CHUNK_SIZE, Download, Item, Page
from hub.providers import Provider, Service, Setting

CHUNK_KIB = CHUNK_SIZE // 1024  # as the shipped plugins and the proxy; a setting may change it


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    params: dict[str, object] = {"limit": limit}
    if parent:
        params["parent"] = parent
    if cursor:
        params["cursor"] = cursor
    data = ctx.get_json("api", "/list", params=params)
    if not isinstance(data, dict) or "entries" not in data:
        raise UpstreamFailed(f"{ctx.name} answered an unexpected listing")
    items = [
        Item(
            id=entry["id"],
            name=entry["name"],
            kind="folder" if entry.get("dir") else "file",
            size=entry.get("size"),
            mime_type=entry.get("type"),
            modified_at=dt.datetime.fromtimestamp(entry["mtime"], dt.UTC)
            if "mtime" in entry
            else None,
        )
        for entry in data["entries"]
    ]
    return Page(items=items, next_cursor=data.get("next"))


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    if not item_id.isdigit():
        raise NotFound(f"{ctx.name} has no such item")
    headers = {"Range": range_header} if range_header else {}
    response = ctx.check(
        ctx.request(
            "GET",
            ctx.url("api", "/v1/file"),
            params={"size": item_id},
            headers=headers,
            stream=True,
        )
    )
    length = response.headers.get("Content-Length")
    chunk = int(ctx.settings.get("chunkKiB") or CHUNK_KIB) * 1024
    return Download(
        chunks=response.iter_content(chunk),
        filename=f"blob-{item_id}.bin",
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        size=int(length) if length else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


@hookimpl
def hub_register_providers() -> list[Provider]:
    return [
        Provider(
            name="benchfiles",
            display_name="Bench Files",
            description="A local upstream for make bench.",
            auth_types=("bearer",),
            endpoints={"api": "{serverUrl}"},
            api_endpoint="api",
            settings=(
                Setting("serverUrl", "Server URL", type="url", required=True),
                Setting("chunkKiB", "Download chunk size (KiB)", type="integer", default=CHUNK_KIB),
            ),
            services=(Service("files", "Files", browse=browse, download=download),),
        )
    ]
