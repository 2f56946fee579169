"""A provider plugin used by the data-path tests: a small file API at files.example.org."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from hub import hookimpl
from hub.context import ProviderContext
from hub.errors import UpstreamFailed
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.providers import OAuth2Settings, Provider, Service, Setting

API = "https://files.example.org"


def browse(ctx: ProviderContext, parent, cursor, limit) -> Page:
    params = {"parent": parent or "root", "limit": limit}
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
            extras={"starred": entry.get("starred", False)},
        )
        for entry in data["entries"]
    ]
    path = [Crumb(c["id"], c["name"]) for c in data.get("path", [])]
    return Page(items=items, next_cursor=data.get("next"), path=path)


def download(ctx: ProviderContext, item_id, range_header) -> Download:
    headers = {"Range": range_header} if range_header else {}
    response = ctx.check(
        ctx.request(
            "GET",
            ctx.url("api", "/content/" + quote(item_id, safe="")),
            headers=headers,
            params=ctx.options,  # e.g. an export format chosen by the caller
            stream=True,
        )
    )
    length = response.headers.get("Content-Length")
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=item_id.rsplit("/", 1)[-1],
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        size=int(length) if length else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def thumbnail(ctx: ProviderContext, item_id, size) -> Download:
    response = ctx.check(
        ctx.request(
            "GET",
            ctx.url("api", "/thumb/" + quote(item_id, safe="")),
            params={"size": size},
            stream=True,
        )
    )
    return Download(
        chunks=response.iter_content(64 * 1024),
        filename="thumbnail",
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        close=response.close,
    )


@hookimpl
def hub_register_providers() -> list[Provider]:
    return [
        Provider(
            name="testfiles",
            display_name="Test Files",
            auth_types=("oauth2", "bearer"),
            oauth2=OAuth2Settings(
                authorize_url="https://auth.example.org/authorize",
                token_url="https://auth.example.org/token",
            ),
            endpoints={"api": API},
            api_endpoint="api",
            auth_help={"bearer": "Create a token at files.example.org/tokens with files:read."},
            settings=(
                # Plugin code could build a host from this: it is declared a destination.
                Setting(
                    "region",
                    "Region",
                    default="eu",
                    destination=True,
                    pattern="[a-z]{2}",
                    help="two lower-case letters, such as eu or us",
                ),
                Setting("label", "Label", default=""),
            ),
            services=(
                Service("files", "Files", browse=browse, download=download, thumbnail=thumbnail),
                Service("archive", "Archive"),
            ),
        )
    ]
