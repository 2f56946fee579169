"""Search and thumbnails: what is sent to Dropbox (``files/search_v2`` and its continuation,
``files/get_thumbnail_v2``), how the recorded answers are read, and the same through the hub's
HTTP API with its access rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dropbox_fakes import (
    API,
    CONTENT,
    PICTURE,
    RECORDED,
    SEARCH_CURSOR,
    SEARCH_QUERY,
    FakeDropbox,
    load,
)

from hub.browse import thumbnail_response
from hub.errors import NotFound, UpstreamFailed, ValidationError
from hub.items import Crumb, Download
from hub.testing import signed_in_client
from hub_dropbox.files import browse
from hub_dropbox.finding import TOP_LEVEL, search, thumbnail, thumbnail_size

BEARER = {"credentials": {"token": "sl.generated"}, "auth_type": "bearer"}
SEARCH = f"{API}/2/files/search_v2"
THUMBNAIL = f"{CONTENT}/2/files/get_thumbnail_v2"
HOSTILE = [
    '"quoted" and \\back\\slashes\\',
    "*",
    "%_",
    "50% off_sale",
    "<b>&amp;</b>",
    "]]>",
    "name:plan OR path:/ AND -x",
    "' OR '1'='1",
    "tab\tnew\nline",
    "ünïcødé 🙂 \x7f",
]


def _empty(requests_mock: Any) -> None:
    requests_mock.post(SEARCH, json={"matches": [], "has_more": False, "cursor": None})


# -- search --------------------------------------------------------------------------------


def test_a_search_sends_the_query_with_its_options_and_reads_each_matchs_folder(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        page = search(ctx, SEARCH_QUERY, None, 2)

    sent = requests_mock.last_request
    assert sent.method == "POST" and sent.url == SEARCH
    assert sent.json() == {
        "query": "plan",
        "options": {"max_results": 2, "file_status": {".tag": "active"}, "filename_only": True},
    }
    assert [(i.id, i.name, i.kind, i.size, i.parent) for i in page.items] == [
        ("id:a4ayc_80_OEAAAAAAAAAYe", "plan.md", "file", 7, Crumb("/Team Share", "Team Share")),
        ("id:a4ayc_80_OEAAAAAAAAAYh", "Plans", "folder", None, Crumb("/Reports/2024", "2024")),
    ]
    assert page.items[0].extras == {"dropboxPath": "/Team Share/plan.md"}
    assert page.next_cursor == SEARCH_CURSOR and page.path == []


def test_the_next_page_continues_with_the_cursor_alone(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        page = search(ctx, SEARCH_QUERY, SEARCH_CURSOR, 2)

    sent = requests_mock.last_request
    assert sent.url == f"{API}/2/files/search/continue_v2"
    assert sent.json() == {"cursor": SEARCH_CURSOR}
    # the deleted match is left out; a match at the top level lives in the top level
    assert [(i.id, i.name, i.parent) for i in page.items] == [
        (PICTURE, "Floor plan.jpg", TOP_LEVEL)
    ]
    assert Crumb("", "Files") == TOP_LEVEL
    assert page.next_cursor is None


def test_a_match_without_a_path_has_no_folder_and_repeats_are_dropped(
    hub_context: Any, requests_mock: Any
) -> None:
    entry = {".tag": "file", "id": "id:unmounted", "name": "a.txt", "size": 1}
    match = {"metadata": {".tag": "metadata", "metadata": entry}}
    other = {"metadata": {".tag": "other"}}  # a MetadataV2 member the plugin does not know
    requests_mock.post(
        SEARCH, json={"matches": [match, match, other], "has_more": True, "cursor": None}
    )
    with hub_context("dropbox", **BEARER) as ctx:
        page = search(ctx, "a", None, 50)

    assert [(i.id, i.parent) for i in page.items] == [("id:unmounted", None)]
    assert page.next_cursor is None  # has_more without a cursor cannot be followed


def test_a_results_folder_opens_with_browse_and_holds_the_result(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    dropbox.rpc("files/list_folder", {"path": "/Team Share"}, load("team_share"))
    dropbox.rpc("files/get_metadata", {"path": "/Team Share"}, load("team_share_metadata"))
    with hub_context("dropbox", **BEARER) as ctx:
        found = search(ctx, SEARCH_QUERY, None, 2).items[0]
        assert found.parent is not None
        folder = browse(ctx, found.parent.id, None, 50)

    assert found.id in {i.id for i in folder.items}
    assert folder.path[-1] == Crumb("/Team Share", "Team Share")


def test_a_short_path_opens_too(hub_context: Any, requests_mock: Any) -> None:
    """A folder named ``Q3`` at the top level is the path ``/Q3``: a result's folder may be."""
    requests_mock.post(f"{API}/2/files/list_folder", json={"entries": [], "has_more": False})
    requests_mock.post(f"{API}/2/files/get_metadata", json={".tag": "folder", "name": "Q3"})
    with hub_context("dropbox", **BEARER) as ctx:
        browse(ctx, "/Q3", None, 10)

    assert requests_mock.request_history[0].json()["path"] == "/Q3"


@pytest.mark.parametrize("query", HOSTILE)
def test_a_hostile_query_is_sent_as_the_characters_it_is(
    hub_context: Any, requests_mock: Any, query: str
) -> None:
    _empty(requests_mock)
    with hub_context("dropbox", **BEARER) as ctx:
        search(ctx, query, None, 10)

    sent = requests_mock.last_request
    assert sent.json()["query"] == query  # nothing escaped away, added or interpreted
    assert set(sent.json()) == {"query", "options"}  # and nothing else took its place
    raw = sent.body.decode() if isinstance(sent.body, bytes) else sent.body
    assert json.dumps(query) in raw  # JSON's own escaping is the only escaping


def test_a_page_asks_for_at_most_dropboxs_maximum(hub_context: Any, requests_mock: Any) -> None:
    _empty(requests_mock)
    with hub_context("dropbox", **BEARER) as ctx:
        search(ctx, "x", None, 5000)
        search(ctx, "x", None, 0)

    assert [r.json()["options"]["max_results"] for r in requests_mock.request_history] == [1000, 1]


def test_a_refused_search_argument_names_q(hub_context: Any, requests_mock: Any) -> None:
    requests_mock.post(SEARCH, status_code=409, json=load("error_invalid_argument"))
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(ValidationError) as refused:
        search(ctx, "x" * 500, None, 10)

    assert "q" in refused.value.fields


def test_a_search_answer_without_matches_is_an_upstream_failure(
    hub_context: Any, requests_mock: Any
) -> None:
    requests_mock.post(SEARCH, json={"entries": []})
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(UpstreamFailed):
        search(ctx, "x", None, 10)


# -- thumbnails ----------------------------------------------------------------------------


def test_a_thumbnail_sends_its_argument_in_the_header_and_streams_the_jpeg(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        got = thumbnail(ctx, PICTURE, 128)
        data = b"".join(got.chunks)

    sent = requests_mock.last_request
    assert sent.method == "POST" and sent.url == THUMBNAIL
    assert json.loads(sent.headers["Dropbox-API-Arg"]) == {
        "resource": {".tag": "path", "path": PICTURE},
        "format": {".tag": "jpeg"},
        "size": {".tag": "w128h128"},
        "mode": {".tag": "strict"},
    }
    assert not sent.body  # the argument travels in the header only
    assert data == (RECORDED / "thumbnail.jpg").read_bytes()
    with hub_context("dropbox", **BEARER) as ctx:
        served = thumbnail_response(thumbnail(ctx, PICTURE, 128))
    assert served.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("size", "tag"),
    [
        (16, "w32h32"),
        (32, "w32h32"),
        (100, "w64h64"),
        (128, "w128h128"),
        (479, "w256h256"),
        (480, "w480h320"),
        (1000, "w960h640"),
        (1024, "w1024h768"),
    ],
)
def test_the_size_is_the_widest_of_dropboxs_no_wider_than_asked(size: int, tag: str) -> None:
    assert thumbnail_size(size) == tag


def test_a_non_ascii_path_is_escaped_in_the_header(hub_context: Any, requests_mock: Any) -> None:
    requests_mock.post(THUMBNAIL, content=(RECORDED / "thumbnail.jpg").read_bytes())
    with hub_context("dropbox", **BEARER) as ctx:
        thumbnail(ctx, "/Grüße \x7f.png", 64)

    header = requests_mock.last_request.headers["Dropbox-API-Arg"]
    assert header.isascii() and "\\u00fc\\u00dfe \\u007f.png" in header
    assert json.loads(header)["resource"]["path"] == "/Grüße \x7f.png"


@pytest.mark.parametrize("path", ["/Reports/q3.csv", "/notes", "/Team Share/plan.md"])
def test_a_path_that_is_not_a_picture_is_refused_before_any_call(
    hub_context: Any, requests_mock: Any, path: str
) -> None:
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(ValidationError) as refused:
        thumbnail(ctx, path, 128)

    assert refused.value.fields == {"itemId": "not a picture"}
    assert requests_mock.call_count == 0


def test_dropbox_refusing_a_thumbnail_means_there_is_none(
    hub_context: Any, dropbox: FakeDropbox
) -> None:
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(NotFound) as missing:
        thumbnail(ctx, "id:a4ayc_80_OEAAAAAAAAAYd", 128)  # q3.csv

    assert "unsupported_extension" in missing.value.message


def test_other_thumbnail_errors_are_read_as_for_any_route(
    hub_context: Any, requests_mock: Any
) -> None:
    requests_mock.post(THUMBNAIL, status_code=409, json=load("error_not_found"))
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(NotFound):
        thumbnail(ctx, "id:gone", 128)
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(ValidationError):
        thumbnail(ctx, "q3.csv", 128)  # neither an id nor a path


def test_bytes_that_are_not_an_image_are_not_served() -> None:
    html = Download(chunks=[b"<html><script>alert(1)</script>"], filename="thumbnail.jpg")
    with pytest.raises(UpstreamFailed):
        thumbnail_response(html)


# -- through the hub's API -----------------------------------------------------------------


def _connected(client: Any) -> int:
    created = client.post(
        "/api/integrations", json={"name": "Box", "provider": "dropbox", "authType": "bearer"}
    )
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["id"]
    answer = client.post(f"/api/integrations/{ref}/connection", json={"token": "sl.generated"})
    assert answer.status_code == 200, answer.get_json()
    return int(ref)


@pytest.fixture
def api_ref(hub_client: Any, dropbox: FakeDropbox, requests_mock: Any) -> int:
    requests_mock.post(f"{API}/2/users/get_current_account", json=load("account"))
    return _connected(hub_client)


def test_the_service_says_it_searches_and_shows_thumbnails(hub_client: Any, api_ref: int) -> None:
    services = hub_client.get(f"/api/integrations/{api_ref}/services").get_json()
    files = next(s for s in services["items"] if s["name"] == "files")
    assert (files["searchable"], files["thumbnails"], files["views"]) == (True, True, [])


@pytest.mark.parametrize("query", ["]]>", '"\\*%_', "name:x OR y"])
def test_the_api_passes_a_hostile_query_through_unchanged(
    hub_client: Any, api_ref: int, requests_mock: Any, query: str
) -> None:
    _empty(requests_mock)
    answer = hub_client.get(
        f"/api/integrations/{api_ref}/services/files/search", query_string={"q": query}
    )

    assert answer.status_code == 200, answer.get_json()
    assert requests_mock.last_request.json()["query"] == query


def test_the_api_serves_a_pictures_thumbnail_and_refuses_a_text_files(
    hub_client: Any, api_ref: int
) -> None:
    base = f"/api/integrations/{api_ref}/services/files/items"
    picture = hub_client.get(f"{base}/{PICTURE}/thumbnail?size=128")
    text = hub_client.get(f"{base}/id:a4ayc_80_OEAAAAAAAAAYd/thumbnail?size=128")

    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/jpeg"
    assert text.status_code == 404 and text.get_json()["error"]["code"] == "not_found"


def test_someone_who_cannot_see_the_integration_finds_and_sees_nothing(
    hub_app: Any, api_ref: int, requests_mock: Any
) -> None:
    before = requests_mock.call_count
    stranger = signed_in_client(hub_app, "eve")
    base = f"/api/integrations/{api_ref}/services/files"
    for path in (f"search?q={SEARCH_QUERY}", f"items/{PICTURE}/thumbnail?size=64"):
        assert stranger.get(f"{base}/{path}").status_code == 404, path
    assert requests_mock.call_count == before  # nothing reached Dropbox
