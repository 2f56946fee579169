"""A user points the hub at a PowerFolder server, connects, browses every folder, downloads every
file byte-identical, and the refresh keeps the connection alive — all through the hub's HTTP
API, against a small PowerFolder played in memory (tokens checked on every call, WebDAV answers
generated from a tree of files, the folder API closed to bearer tokens)."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest

SERVER = "https://pf.example.org"
CLIENT_ID = "hub-client"
CLIENT_SECRET = "pf-client-secret-value"
MODIFIED = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC)


def _bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


FILES = {
    ("Team Docs", "report 2024.pdf"): _bytes(1, 200_000),
    ("Team Docs", "notes.txt"): b"hello world",
    ("Team Docs", "empty.bin"): b"",
    ("Team Docs", "Plans", "roadmap.md"): b"# Roadmap\n",
    ("Team Docs", "Plans", "Q1 2024", "budget #50%?.csv"): b"a,b\n1,2\n",
    ("Fotos Grüße", "東京 夜景", "Café naïve 😀.jpg"): _bytes(2, 4096),
    ("Fotos Grüße", "a+b & c=d.png"): _bytes(3, 777),
}
FOLDERS = {path[:i] for path in FILES for i in range(1, len(path))} | {("Empty",)}


class FakePowerFolder:
    """The parts of a PowerFolder server the hub uses, with its access rules."""

    def __init__(self, requests_mock) -> None:
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.access: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refresh_requests: list[str] = []
        self.folder_api_requests = 0
        webdav = re.compile(re.escape(f"{SERVER}/webdav/") + ".*")
        requests_mock.post(f"{SERVER}/oauth/token", json=self.token)
        requests_mock.get(f"{SERVER}/api/folders", content=self.folders)
        requests_mock.register_uri("PROPFIND", webdav, content=self.propfind)
        requests_mock.get(webdav, content=self.get)

    # -- OAuth -------------------------------------------------------------------------------

    def allow(self, authorize_url: str) -> str:
        """The user clicks "Allow": the browser goes back to the hub with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        code = secrets.token_urlsafe(8)
        self.codes[code] = query["redirect_uri"]
        callback = urlsplit(query["redirect_uri"])
        return f"{callback.path}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, request, context):
        """``POST /oauth/token`` with a JSON body, for the code and for a refresh."""
        params = json.loads(request.body)
        grant = params.get("grant_type")
        if grant == "refresh_token":
            self.refresh_requests.append(request.url)
            valid = params.get("refresh_token") in self.refresh_tokens
        else:
            valid = grant == "authorization_code" and self.codes.pop(params.get("code"), None)
        client = (params.get("client_id"), params.get("client_secret"))
        if not valid or client != (CLIENT_ID, CLIENT_SECRET) or params.get("format") != "json":
            context.status_code = 400
            return {"error": "invalid_grant"}
        self.access.clear()  # a new access token replaces the old one
        access = secrets.token_urlsafe(16)
        self.access.add(access)
        answer = {"access_token": access, "expires_in": 86400}
        if grant == "authorization_code":
            answer["refresh_token"] = secrets.token_urlsafe(16)
            self.refresh_tokens.add(answer["refresh_token"])
        return answer

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def _authorised(self, request, context) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.access:
            return True
        context.status_code = 401
        return False

    # -- data --------------------------------------------------------------------------------

    def folders(self, request, context) -> bytes:
        """``/api/folders`` is documented for HTTP Basic only: this server refuses a token."""
        self.folder_api_requests += 1
        context.status_code = 401
        return b""

    def propfind(self, request, context) -> bytes:
        if not self._authorised(request, context):
            return b""
        assert request.headers["Depth"] == "1"
        path = self._path(request)
        if path and path not in FOLDERS:  # () is the WebDAV root: the account's folders
            context.status_code = 404
            return b""
        children = {p[: len(path) + 1] for p in [*FILES, *FOLDERS] if p[: len(path)] == path}
        status = ET.Element("{DAV:}multistatus")
        for child in sorted(children, key=len):
            self._response(status, child)
        context.status_code = 207
        context.headers["Content-Type"] = 'application/xml; charset="utf-8"'
        return ET.tostring(status, encoding="utf-8", xml_declaration=True)

    def get(self, request, context) -> bytes:
        if not self._authorised(request, context):
            return b""
        content = FILES.get(self._path(request))
        if content is None:
            context.status_code = 404
            return b""
        context.headers["Content-Type"] = "application/octet-stream"
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range", ""))
        if wanted:
            start = int(wanted[1])
            end = min(int(wanted[2] or len(content) - 1), len(content) - 1)
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content = content[start : end + 1]
        context.headers["Content-Length"] = str(len(content))
        return content

    @staticmethod
    def _path(request) -> tuple[str, ...]:
        path = urlsplit(request.url).path.removeprefix("/webdav/")
        return tuple(unquote(s) for s in path.split("/") if s)

    @staticmethod
    def _response(status: ET.Element, path: tuple[str, ...]) -> None:
        is_folder = path in FOLDERS
        response = ET.SubElement(status, "{DAV:}response")
        href = "/webdav/" + quote("/".join(path)) + ("/" if is_folder else "")
        ET.SubElement(response, "{DAV:}href").text = href
        propstat = ET.SubElement(response, "{DAV:}propstat")
        prop = ET.SubElement(propstat, "{DAV:}prop")
        kind = ET.SubElement(prop, "{DAV:}resourcetype")
        if is_folder:
            ET.SubElement(kind, "{DAV:}collection")
        else:
            ET.SubElement(prop, "{DAV:}getcontentlength").text = str(len(FILES[path]))
            ET.SubElement(prop, "{DAV:}getcontenttype").text = "application/octet-stream"
        ET.SubElement(prop, "{DAV:}getlastmodified").text = format_datetime(MODIFIED, usegmt=True)
        ET.SubElement(propstat, "{DAV:}status").text = "HTTP/1.1 200 OK"


# -- the user's journey ------------------------------------------------------------------------


@pytest.fixture
def server(requests_mock) -> FakePowerFolder:
    return FakePowerFolder(requests_mock)


@pytest.fixture
def integration(client, server) -> str:
    """Created with only serverUrl and the client, then connected through the allow page."""
    created = client.post(
        "/api/integrations",
        json={
            "name": "Our PowerFolder",
            "provider": "powerfolder",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "settings": {"serverUrl": SERVER},
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    started = client.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302, started.json
    done = client.get(server.allow(started.headers["Location"]))
    assert done.status_code == 303, done.get_data(as_text=True)
    return ref


def walk(client, ref, parent=None, limit=2):
    """Every item under ``parent``, following every page and every folder."""
    found, cursor = [], None
    while True:
        query = {"limit": limit, **({"parent": parent} if parent else {})}
        if cursor:
            query["cursor"] = cursor
        response = client.get(f"/api/integrations/{ref}/services/files/items", query_string=query)
        assert response.status_code == 200, response.json
        page = response.json
        for item in page["items"]:
            found.append(item)
            if item["kind"] == "folder":
                found.extend(walk(client, ref, item["id"], limit))
        cursor = page["nextCursor"]
        if cursor is None:
            return found


def download(client, ref, item_id, **headers):
    path = quote(item_id, safe="/")
    return client.get(
        f"/api/integrations/{ref}/services/files/items/{path}/download", headers=headers
    )


def test_connecting_stores_a_connected_oauth_connection(client, integration):
    status = client.get(f"/api/integrations/{integration}/connection").json

    assert (status["status"], status["hasRefreshToken"]) == ("connected", True)


def test_every_folder_and_file_is_found(client, integration):
    items = walk(client, integration)

    assert {tuple(i["id"].split("/")) for i in items if i["kind"] == "file"} == set(FILES)
    assert {tuple(i["id"].split("/")) for i in items if i["kind"] == "folder"} == FOLDERS


def test_every_file_downloads_byte_identical(client, integration):
    files = [i for i in walk(client, integration) if i["kind"] == "file"]

    for item in files:
        response = download(client, integration, item["id"])
        assert response.status_code == 200, (item["id"], response.json)
        assert response.data == FILES[tuple(item["id"].split("/"))], item["id"]
        assert item["size"] == len(response.data)


def test_a_range_of_a_file_downloads_byte_identical(client, integration):
    content = FILES[("Team Docs", "report 2024.pdf")]

    response = download(client, integration, "Team Docs/report 2024.pdf", Range="bytes=1000-1999")

    assert (response.status_code, response.data) == (206, content[1000:2000])
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(content)}"


def test_the_top_level_comes_from_webdav_not_the_folder_api(client, integration, server):
    page = client.get(f"/api/integrations/{integration}/services/files/items").json

    assert [i["id"] for i in page["items"]] == ["Empty", "Fotos Grüße", "Team Docs"]
    assert server.folder_api_requests == 0


def test_a_refresh_keeps_the_connection_alive(client, integration, server):
    refreshed = client.post(f"/api/integrations/{integration}/connection/refresh")

    assert refreshed.status_code == 200, refreshed.json
    assert urlsplit(server.refresh_requests[-1]).path == "/oauth/token"
    files = [i for i in walk(client, integration) if i["kind"] == "file"]
    assert len(files) == len(FILES)


def test_an_expired_access_token_is_refreshed_and_browsing_goes_on(client, integration, server):
    server.expire_access_tokens()

    items = walk(client, integration)

    assert len(server.refresh_requests) == 1
    assert len([i for i in items if i["kind"] == "file"]) == len(FILES)
    assert download(client, integration, "Team Docs/notes.txt").data == b"hello world"
