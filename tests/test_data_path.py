"""Browse, download, preview and the proxy, through a provider plugin registered by the tests
(tests/support_provider.py) whose API is played by requests-mock."""

from __future__ import annotations

import io
import tracemalloc

import pytest
import requests

from tests.support_provider import API

ITEMS = f"{API}/list"


def base(ref) -> str:
    return f"/api/integrations/{ref}/services/files"


def listing(entries, next_cursor=None, path=()):
    return {"entries": entries, "next": next_cursor, "path": list(path)}


# -- services and pages ---------------------------------------------------------------------------


def test_services_are_listed_with_what_they_can_do(files_client, files_integration):
    items = files_client.get(f"/api/integrations/{files_integration}/services").json["items"]
    assert [(s["name"], s["browsable"]) for s in items] == [("files", True), ("archive", False)]


def test_a_page_of_items_has_the_documented_shape(files_client, files_integration, requests_mock):
    requests_mock.get(
        ITEMS,
        json=listing(
            [
                {"id": "d1", "name": "Docs", "dir": True},
                {"id": "f1", "name": "a.txt", "size": 3, "type": "text/plain", "mtime": 1700000000},
            ],
            next_cursor="opaque-2",
        ),
    )
    page = files_client.get(f"{base(files_integration)}/items?limit=2").json
    assert page["items"][0] == {
        "id": "d1", "name": "Docs", "kind": "folder", "size": None, "mimeType": None,
        "modifiedAt": None, "starred": False,
    }  # fmt: skip
    assert page["items"][1]["modifiedAt"] == "2023-11-14T22:13:20Z"
    assert page["nextCursor"] == "opaque-2"
    request = requests_mock.last_request
    assert request.qs["parent"] == ["root"] and request.qs["limit"] == ["2"]
    assert request.headers["Authorization"] == "Bearer tok-123"


def test_cursors_and_parents_pass_through_untouched(files_client, files_integration, requests_mock):
    requests_mock.get(ITEMS, json=listing([], path=[{"id": "d1", "name": "Docs"}]))
    page = files_client.get(
        f"{base(files_integration)}/items",
        query_string={"parent": "d1/ü x", "cursor": "c:ü/2"},
    ).json
    assert page["path"] == [{"id": "d1", "name": "Docs"}]
    assert requests_mock.last_request.qs["cursor"] == ["c:ü/2"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "bogus=1"])
def test_bad_paging_is_400(files_client, files_integration, query):
    response = files_client.get(f"{base(files_integration)}/items?{query}")
    assert response.status_code == 400


def test_an_unknown_service_is_404_naming_the_known_ones(files_client, files_integration):
    response = files_client.get(f"/api/integrations/{files_integration}/services/nope/items")
    assert response.status_code == 404 and "files" in response.json["error"]["message"]


def test_a_service_without_browse_says_so(files_client, files_integration):
    response = files_client.get(f"/api/integrations/{files_integration}/services/archive/items")
    assert response.status_code == 400 and response.json["error"]["code"] == "not_supported"


def test_browsing_without_a_connection_is_409(files_client, files_integration):
    files_client.delete(f"/api/integrations/{files_integration}/connection")
    response = files_client.get(f"{base(files_integration)}/items")
    assert response.status_code == 409 and response.json["error"]["code"] == "not_connected"


@pytest.mark.parametrize(
    "mock, status, code",
    [
        ({"status_code": 404, "json": {}}, 404, "not_found"),
        ({"status_code": 403, "json": {}}, 403, "forbidden"),
        ({"status_code": 500, "text": "boom"}, 502, "upstream_failed"),
        (
            {"text": "<html>login</html>", "headers": {"Content-Type": "text/html"}},
            502,
            "upstream_failed",
        ),
        (
            {"text": '{"entries": [', "headers": {"Content-Type": "application/json"}},
            502,
            "upstream_failed",
        ),
        ({"exc": requests.ConnectTimeout}, 504, "upstream_timeout"),
        ({"exc": requests.ConnectionError}, 502, "upstream_failed"),
    ],
)
def test_provider_failures_map_to_the_hubs_errors(
    files_client, files_integration, requests_mock, mock, status, code
):
    requests_mock.get(ITEMS, **mock)
    response = files_client.get(f"{base(files_integration)}/items")
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert "Test Files" in response.json["error"]["message"]


def test_a_rate_limit_is_retried_honouring_retry_after(
    files_client, files_integration, requests_mock, monkeypatch
):
    waits = []
    monkeypatch.setattr("hub.context.time.sleep", waits.append)
    requests_mock.get(
        ITEMS,
        [{"status_code": 429, "headers": {"Retry-After": "2"}, "json": {}}, {"json": listing([])}],
    )
    response = files_client.get(f"{base(files_integration)}/items")
    assert response.status_code == 200 and waits == [2.0]


def test_a_retry_after_beyond_the_bound_is_not_waited_for(
    files_client, files_integration, requests_mock, monkeypatch
):
    waits = []
    monkeypatch.setattr("hub.context.time.sleep", waits.append)
    requests_mock.get(ITEMS, status_code=429, headers={"Retry-After": "3600"}, json={})
    response = files_client.get(f"{base(files_integration)}/items")
    assert response.status_code == 429 and waits == []
    assert response.headers["Retry-After"] == "3600"


# -- downloads ------------------------------------------------------------------------------


def test_a_download_streams_with_safe_headers(files_client, files_integration, requests_mock):
    requests_mock.get(
        f"{API}/content/docs%2F%C3%A9t%C3%A9%20%22plan%22.html",
        content=b"<script>alert(1)</script>",
        headers={"Content-Type": "text/html", "Content-Length": "25"},
    )
    response = files_client.get(
        f'/api/integrations/{files_integration}/services/files/items/docs/été "plan".html/download'
    )
    assert response.status_code == 200
    assert response.data == b"<script>alert(1)</script>"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C3%A9t%C3%A9%20%22plan%22.html" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response.headers["Content-Length"] == "25"


def test_a_range_is_passed_through(files_client, files_integration, requests_mock):
    requests_mock.get(
        f"{API}/content/big.bin",
        status_code=206,
        content=b"2345",
        headers={"Content-Range": "bytes 2-5/10", "Content-Length": "4"},
    )
    response = files_client.get(
        f"{base(files_integration)}/items/big.bin/download",
        headers={"Range": "bytes=2-5"},
    )
    assert requests_mock.last_request.headers["Range"] == "bytes=2-5"
    assert response.status_code == 206 and response.data == b"2345"
    assert response.headers["Content-Range"] == "bytes 2-5/10"


class Zeros(io.RawIOBase):
    """A file of ``size`` zero bytes produced on demand: never held in memory at once."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


@pytest.mark.parametrize("item", ["/Reports/q3.csv", "//double", "a//b"])
def test_an_id_with_leading_or_doubled_slashes_reaches_the_operation_whole(
    files_client, files_integration, requests_mock, item
):
    """A Dropbox path starts with '/': the route neither merges the slashes nor redirects."""
    quoted = item.replace("/", "%2F")
    requests_mock.get(f"{API}/content/{quoted}", content=b"x", headers={"Content-Length": "1"})

    response = files_client.get(
        f"/api/integrations/{files_integration}/services/files/items/{item}/download"
    )

    assert response.status_code == 200, response.status_code
    assert response.data == b"x"


def test_a_large_download_keeps_memory_flat(files_client, files_integration, requests_mock):
    size = 256 * 1024 * 1024
    requests_mock.get(
        f"{API}/content/huge.bin",
        body=Zeros(size),
        headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
    )
    tracemalloc.start()
    response = files_client.get(
        f"{base(files_integration)}/items/huge.bin/download",
        buffered=False,
    )
    received = sum(len(chunk) for chunk in response.response)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte download"


# -- preview ----------------------------------------------------------------------------------


def test_preview_shows_the_top_of_every_service(files_client, files_integration, requests_mock):
    requests_mock.get(ITEMS, json=listing([{"id": "d1", "name": "Docs", "dir": True}]))
    tree = files_client.get(f"/api/integrations/{files_integration}/preview").json
    files, archive = tree["services"]
    assert [i["name"] for i in files["items"]] == ["Docs"]
    assert archive["error"] == "not browsable"


def test_an_unsaved_integration_is_previewed_without_storing_anything(
    files_client, files_integration, requests_mock
):
    requests_mock.get(ITEMS, json=listing([{"id": "x", "name": "X.txt"}]))
    before = files_client.get("/api/integrations").json["items"]
    response = files_client.post(
        "/api/integrations/preview",
        json={"provider": "testfiles", "authType": "bearer", "credentials": {"token": "try-me"}},
    )
    assert response.status_code == 200, response.json
    assert response.json["services"][0]["items"][0]["name"] == "X.txt"
    assert requests_mock.last_request.headers["Authorization"] == "Bearer try-me"
    assert files_client.get("/api/integrations").json["items"] == before


def test_an_unsaved_preview_checks_its_credentials(files_client):
    response = files_client.post(
        "/api/integrations/preview",
        json={"provider": "testfiles", "authType": "bearer", "credentials": {"apiKey": "k"}},
    )
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"credentials.token", "credentials.apiKey"}


def test_download_query_parameters_reach_the_operation(
    files_client, files_integration, requests_mock
):
    requests_mock.get(f"{API}/content/doc", content=b"x")
    files_client.get(f"{base(files_integration)}/items/doc/download?format=pdf")
    assert requests_mock.last_request.qs == {"format": ["pdf"]}


def test_a_range_outside_the_file_is_416(files_client, files_integration, requests_mock):
    requests_mock.get(
        f"{API}/content/small.bin", status_code=416, headers={"Content-Range": "bytes */10"}
    )
    response = files_client.get(
        f"{base(files_integration)}/items/small.bin/download", headers={"Range": "bytes=50-60"}
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */10"


# -- a setting's pattern ------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["EU", "eu-west", "e", "e1"])
def test_a_setting_outside_its_pattern_is_refused_naming_it(files_client, region):
    created = files_client.post(
        "/api/integrations",
        json={"name": "F", "provider": "testfiles", "authType": "bearer",
              "settings": {"region": region}},
    )  # fmt: skip
    assert created.status_code == 400
    assert created.json["error"]["fields"] == {
        "settings.region": "is not a valid region: two lower-case letters, such as eu or us"
    }


def test_a_setting_matching_its_pattern_is_kept(files_client):
    created = files_client.post(
        "/api/integrations",
        json={"name": "F", "provider": "testfiles", "authType": "bearer",
              "settings": {"region": "us"}},
    )  # fmt: skip
    assert created.status_code == 201 and created.json["settings"]["region"] == "us"
