"""The ``demo`` provider: the hub's own Demo server on a loopback port, for trying the hub offline.

Off unless asked for: the provider is declared only when ``HUB_DEMO`` is ``1``, ``true`` or
``yes`` (``hub serve --demo`` sets it). The server (:mod:`hub_demo.server`) runs with
``hub demo-server``; its address comes from ``HUB_DEMO_URL`` (default
``http://127.0.0.1:5001``). Every URL of the declaration hangs off the one endpoint ``server``,
so an operator's ``HUB_DEMO_ENDPOINTS='{"server": "..."}'`` moves them all. The client id and
secret (:data:`CLIENT_ID`, :data:`CLIENT_SECRET`) are a published demo credential. Never use any
of this as a real provider.
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import quote

import click

from hub import hookimpl
from hub.context import ProviderContext
from hub.errors import UpstreamFailed
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.paths import check_path
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service, View
from hub_demo.server import CLIENT_ID, CLIENT_SECRET

#: The plugin API versions (``hub.plugins.PLUGIN_API_VERSION``) this plugin is written for.
HUB_PLUGIN_API = ">=1.0,<2"

DEFAULT_URL = "http://127.0.0.1:5001"
TRUTHY = frozenset({"1", "true", "yes"})
#: The base of the OAuth2 URLs: the endpoint ``server``, which the profile lookup and the file
#: API (``ctx.url("server", ...)``) name too, so moving it moves every URL.
SERVER = "{endpoints.server}"


def demo_enabled() -> bool:
    """Whether ``HUB_DEMO`` asks for the demo provider."""
    return os.environ.get("HUB_DEMO", "").strip().lower() in TRUTHY


def demo_url() -> str:
    """The Demo server's base URL: ``HUB_DEMO_URL``, else :data:`DEFAULT_URL`."""
    return (os.environ.get("HUB_DEMO_URL") or DEFAULT_URL).strip().rstrip("/")


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of a Demo folder (``None``: the top level)."""
    return _listing(ctx, "/api/list", {"parent": parent or "root"}, cursor, limit)


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """Files and folders whose name holds ``query`` (the server takes it as plain text, sent
    as a query parameter: nothing in it is syntax)."""
    return _listing(ctx, "/api/search", {"q": query}, cursor, limit)


def recent(ctx: ProviderContext, cursor: str | None, limit: int) -> Page:
    """The "Recent" view: every file."""
    return _listing(ctx, "/api/recent", {}, cursor, limit)


def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download:
    """A picture's thumbnail (the Demo server's pictures are small already: ``size`` is not
    needed)."""
    path = quote(check_path(item_id, "itemId"), safe="/")
    response = ctx.check(ctx.request("GET", ctx.url("server", "/api/thumbnail/" + path)))
    return Download(
        chunks=[response.content],
        filename="thumbnail",
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
    )


def _listing(
    ctx: ProviderContext, path: str, params: dict[str, str], cursor: str | None, limit: int
) -> Page:
    query: dict[str, str | int] = {**params, "limit": limit}
    if cursor:
        query["cursor"] = cursor
    data = ctx.get_json("server", path, params=query)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise UpstreamFailed(f"{ctx.name} answered an unexpected listing")
    items = [
        Item(
            id=entry["id"],
            name=entry["name"],
            kind="folder" if entry.get("dir") else "file",
            size=entry.get("size"),
            mime_type=entry.get("type"),
            modified_at=_time(entry.get("mtime")),
            parent=_crumb(entry.get("parent")),
        )
        for entry in data["entries"]
    ]
    crumbs = [Crumb(c["id"], c["name"]) for c in data.get("path") or []]
    return Page(items=items, next_cursor=data.get("next"), path=crumbs)


def _crumb(value: object) -> Crumb | None:
    if not isinstance(value, dict):
        return None
    return Crumb(str(value.get("id", "")), str(value.get("name", "")))


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC)


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """A Demo file's bytes, streamed; a ``Range`` is passed on. An id that could leave
    ``/api/content/`` in any server's reading (SECURITY 33) is refused before anything is sent."""
    headers = {"Range": range_header} if range_header else {}
    path = quote(check_path(item_id, "itemId"), safe="/")
    response = ctx.check(
        ctx.request(
            "GET",
            ctx.url("server", "/api/content/" + path),
            headers=headers,
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


def provider() -> Provider:
    """The ``demo`` declaration, built now (the server address is read from the environment).

    Every URL goes through the endpoint ``server`` (:data:`SERVER`), never written literally."""
    return Provider(
        name="demo",
        display_name="Demo (local test server)",
        description=(
            "A demo: the hub's own test server on this computer, with a few made-up files. "
            "No account anywhere; not a real provider."
        ),
        auth_types=("oauth2",),
        icon=Icon.from_package(__name__, "icon.svg"),
        oauth2=OAuth2Settings(
            authorize_url=f"{SERVER}/authorize",
            token_url=f"{SERVER}/token",
            revoke_url=f"{SERVER}/revoke",
            scopes=("profile", "files"),
            token_auth="form",
            pkce=True,
            default_token_lifetime=3600,
            reauth_hint=(
                "The Demo server keeps its grants in memory: restarting it, or revoking on its "
                "page, ends every connection."
            ),
        ),
        endpoints={"server": demo_url()},
        api_endpoint="server",
        profile=ProfileLookup(
            endpoint="server",
            path="/userinfo",
            id_field="sub",
            email_field="email",
            name_field="name",
            unauthorized_hint="Is the Demo server (hub demo-server) running?",
        ),
        services=(
            Service(
                "files",
                "Files",
                description="A few demo folders and files generated by the Demo server.",
                browse=browse,
                download=download,
                search=search,
                views=(View("recent", "Recent", browse=recent, description="Every file"),),
                thumbnail=thumbnail,
            ),
        ),
    )


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the ``demo`` provider when ``HUB_DEMO`` asks for it; otherwise nothing."""
    return [provider()] if demo_enabled() else []


@hookimpl
def hub_register_commands(cli: click.Group) -> None:
    """Add ``hub demo-server``."""

    @click.command("demo-server")
    @click.option("--port", default=5001, show_default=True, type=int)
    def demo_server(port: int) -> None:
        """Run the Demo OAuth2 server and file API on 127.0.0.1 (for trying the hub)."""
        from hub_demo import server

        click.echo(
            f"Demo server (not a real provider) on http://127.0.0.1:{port} — "
            f"client id {CLIENT_ID!r}, client secret {CLIENT_SECRET!r}; state is in memory."
        )
        server.run(port)

    cli.add_command(demo_server)
