"""The provider contract kit (``hub.contract``, ``hub.pytest_plugin``) run the way a plugin
author runs it: a plugin's test module, in a pytest of its own (``pytester``), against a small
provider — once as written, then broken in each way the contract must catch, and the kit has to
say what is wrong in one sentence."""

from __future__ import annotations

import textwrap

import pytest

PROVIDER = '''
"""A small file API at kit.example.org, with switches that break it."""

from urllib.parse import quote

from hub import hookimpl
from hub.context import ProviderContext
from hub.errors import UpstreamFailed
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.paths import check_path
from hub.providers import Icon, OAuth2Settings, Provider, Service

BROKEN = {broken!r}
ICON = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1"/></svg>'


def browse(ctx: ProviderContext, parent, cursor, limit):
    params = {{"parent": parent or "root"}}
    if cursor:
        params["cursor"] = cursor
    response = ctx.request("GET", ctx.url("api", "/list"), params=params)
    if BROKEN == "error mapping" and response.status_code == 404:
        raise UpstreamFailed("something went wrong")
    data = ctx.check(response).json()
    next_cursor = data.get("next")
    if BROKEN == "cursor" and next_cursor is None and cursor is not None:
        next_cursor = cursor  # hands the same cursor back: the folder never ends
    path = [Crumb(c["id"], c["name"]) for c in data.get("path", [])]
    if BROKEN == "breadcrumb":
        path = path[:-1]
    return Page(
        items=[
            Item(e["id"], e["name"], "folder" if e["dir"] else "file", size=e.get("size"))
            for e in data["entries"]
        ],
        next_cursor=next_cursor,
        path=path,
    )


def search(ctx: ProviderContext, query, cursor, limit):
    params = {{"q": query}}
    if cursor:
        params["cursor"] = cursor
    data = ctx.check(ctx.request("GET", ctx.url("api", "/search"), params=params)).json()
    next_cursor = data.get("next")
    if BROKEN == "search cursor" and next_cursor is None and cursor is not None:
        next_cursor = cursor
    return Page(
        items=[
            Item(
                e["id"], e["name"], "file", size=e.get("size"),
                parent=Crumb(e["parent"], e["parent"]) if e.get("parent") else None,
            )
            for e in data["entries"]
        ],
        next_cursor=next_cursor,
    )


def download(ctx: ProviderContext, item_id, range_header):
    headers = {{"Range": range_header}} if range_header else {{}}
    url = ctx.url("api", "/content/" + quote(check_path(item_id, "itemId"), safe=""))
    response = ctx.check(ctx.request("GET", url, headers=headers, stream=True))
    length = response.headers.get("Content-Length")
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=item_id,
        mime_type=response.headers.get("Content-Type", "application/octet-stream"),
        size=None if BROKEN == "length" else (int(length) if length else None),
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


@hookimpl
def hub_register_providers():
    return [
        Provider(
            name="kitfiles",
            display_name="Kit Files",
            auth_types=("oauth2", "bearer"),
            oauth2=OAuth2Settings(
                authorize_url="{{endpoints.login}}/authorize",
                token_url="{{endpoints.login}}/token",
                scopes=({scope!r},),
            ),
            endpoints={{"api": "https://kit.example.org", "login": "https://login.kit.example.org"}},
            api_endpoint="api",
            icon=Icon(ICON, "image/svg+xml"),
            services=(
                Service("files", "Files", browse=browse, download=download, search=search),
            ),
        )
    ]
'''

CONTRACT = """
import re

import pytest

from hub.contract import ErrorCase, ProviderContract

API = "https://kit.example.org"


def listing(parent):
    return re.compile(re.escape(API + "/list?parent=" + parent) + "($|&)")


class TestKitContract(ProviderContract):
    provider = "kitfiles"
    plugin = "kitfiles=kit_provider"
    known_scopes = frozenset({{"files.read", "files.write"}})
    search_query = "t"

    @pytest.fixture
    def contract_api(self, requests_mock):
        root = {{"entries": [{{"id": "docs", "name": "Docs", "dir": True}}], "next": "p2"}}
        page2 = {{"entries": [{{"id": "a.txt", "name": "a.txt", "dir": False, "size": 5}}]}}
        requests_mock.get(listing("root"), json=root)
        requests_mock.get(re.compile(re.escape(API + "/list?parent=root&cursor=p2")), json=page2)
        docs = {{
            "entries": [{{"id": "b.txt", "name": "b.txt", "dir": False, "size": 3}}],
            "path": [{{"id": "docs", "name": "Docs"}}],
        }}
        requests_mock.get(listing("docs"), json=docs)
        found = {{"entries": [{{"id": "a.txt", "name": "a.txt", "size": 5}}], "next": "s2"}}
        found2 = {{"entries": [{{"id": "b.txt", "name": "b.txt", "size": 3, "parent": "docs"}}]}}
        requests_mock.get(re.compile(re.escape(API + "/search?q=t") + "$"), json=found)
        requests_mock.get(re.compile(re.escape(API + "/search?q=t&cursor=s2")), json=found2)
        for name, body in (("a.txt", b"hello"), ("b.txt", b"abc")):
            def answer(request, context, body=body):
                if request.headers.get("Range") == "bytes=0-0":
                    context.status_code = 206
                    context.headers["Content-Range"] = f"bytes 0-0/{{len(body)}}"
                    body = body[:1]
                context.headers["Content-Length"] = str(len(body))
                return body
            requests_mock.get(API + "/content/" + name, content=answer)

    @pytest.fixture
    def contract_errors(self):
        return [
            ErrorCase("GET", listing("root"), 404, "not_found", json={{"error": "no"}}),
            ErrorCase("GET", listing("root"), 403, "forbidden", json={{"error": "no"}}),
            ErrorCase("GET", listing("root"), 429, "rate_limited", headers={{"Retry-After": "60"}}),
            ErrorCase("GET", listing("docs"), 404, "not_found", json={{}}, parent="docs"),
            ErrorCase(
                "GET", API + "/content/a.txt", 416, "range_not_satisfiable", item="a.txt",
                headers={{"Content-Range": "bytes */5"}}, request_headers={{"Range": "bytes=9-"}},
            ),
        ]
"""


def run_contract(pytester: pytest.Pytester, broken: str | None = None, scope: str = "files.read"):
    pytester.makepyfile(kit_provider=textwrap.dedent(PROVIDER.format(broken=broken, scope=scope)))
    # What `pip install` leaves beside the module: the distribution and its entry point.
    installed = pytester.mkdir("hub_kit-0.1.dist-info")
    (installed / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-kit\nVersion: 0.1\n")
    (installed / "entry_points.txt").write_text("[hub.plugins]\nkitfiles = kit_provider\n")
    pytester.makepyfile(test_kit_contract=textwrap.dedent(CONTRACT.format()))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")


def failures(result) -> str:
    return "\n".join(line for line in result.outlines if line.startswith("E ") or "Failed:" in line)


@pytest.mark.slow
def test_a_provider_keeping_the_contract_passes_it(pytester):
    result = run_contract(pytester)

    # views and thumbnails are not offered: those checks skip, saying so
    result.assert_outcomes(passed=10, skipped=2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken, failing, sentence",
    [
        (
            "cursor",
            "test_every_service_pages_to_the_end_with_stable_cursors",
            "files top level pages in a loop: cursor 'p2' came back",
        ),
        (
            "breadcrumb",
            "test_breadcrumbs_end_with_the_folder_and_extend_its_parents",
            "files 'Docs' has no breadcrumbs: give Page(path=...) ending with the folder",
        ),
        (
            "error mapping",
            "test_error_answers_become_the_hubs_errors",
            "404 from GET ",
        ),
        (
            "search cursor",
            "test_search_finds_items_and_pages_to_the_end",
            "searching files for 't' pages in a loop: cursor 's2' came back",
        ),
        (
            "length",
            "test_downloads_stream_with_a_name_and_the_listed_length",
            "downloading 'a.txt' (files) carries no length though the listing says 5 bytes",
        ),
    ],
)
def test_a_provider_breaking_the_contract_is_told_what_is_wrong(
    pytester, broken, failing, sentence
):
    result = run_contract(pytester, broken)

    assert f"FAILED test_kit_contract.py::TestKitContract::{failing}" in result.stdout.str()
    assert sentence in failures(result), failures(result)


@pytest.mark.slow
def test_a_scope_the_provider_does_not_have_is_named(pytester):
    result = run_contract(pytester, scope="kdrive")

    assert "kitfiles asks for scopes it does not have: kdrive" in failures(result)
    assert result.parseoutcomes().get("failed") == 1
