"""The ``files`` operations unit-tested with the context they receive (``hub_context``) against
Dropbox played by requests-mock from the recorded answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dropbox_fakes import API, CONTENT, PAGE2_CURSOR, REPORTS, TEAM_SHARE, FakeDropbox, load

from hub.errors import ValidationError
from hub.items import Crumb
from hub_dropbox.files import browse, download, trail_of

BEARER = {"credentials": {"token": "sl.generated"}, "auth_type": "bearer"}
UMLAUTS = "id:a4ayc_80_OEAAAAAAAAAYc"


def test_the_root_is_listed_by_an_empty_path_with_the_limit(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        page = browse(ctx, None, None, 2)

    sent = requests_mock.last_request
    assert sent.method == "POST" and sent.url == f"{API}/2/files/list_folder"
    assert sent.json() == {
        "path": "",
        "limit": 2,
        "recursive": False,
        "include_deleted": False,
        "include_mounted_folders": True,
        "include_non_downloadable_files": False,
    }
    assert sent.headers["Authorization"] == "Bearer sl.generated"
    assert [(i.name, i.kind, i.size) for i in page.items] == [
        ("Reports", "folder", None),
        ("Prime_Numbers.txt", "file", 20),
    ]
    assert page.items[1].modified_at is not None and page.items[1].modified_at.year == 2015
    assert page.next_cursor == PAGE2_CURSOR and page.path == []


def test_the_next_page_continues_with_the_cursor_and_deleted_entries_are_left_out(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        page = browse(ctx, None, PAGE2_CURSOR, 2)

    assert requests_mock.last_request.url == f"{API}/2/files/list_folder/continue"
    assert requests_mock.last_request.json() == {"cursor": PAGE2_CURSOR}
    assert [i.name for i in page.items] == ["Team Share", "Grüße aus Zürich.txt"]
    assert page.next_cursor is None  # has_more is false, though Dropbox still gives a cursor


def test_a_folder_costs_one_listing_and_one_get_metadata(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        page = browse(ctx, TEAM_SHARE, None, 50)

    routes = [r.url.removeprefix(API) for r in requests_mock.request_history]
    assert routes == ["/2/files/list_folder", "/2/files/get_metadata"]
    assert page.path == [Crumb(TEAM_SHARE, "Team Share")]
    assert [i.name for i in page.items] == ["plan.md"]


def test_deeper_trails_name_each_ancestor_by_its_path() -> None:
    meta = load("math_metadata")

    assert trail_of("id:a4ayc_80_OEAAAAAAAAAXz", meta) == [
        Crumb("/Homework", "Homework"),
        Crumb("id:a4ayc_80_OEAAAAAAAAAXz", "math"),
    ]


def test_an_ancestor_path_opens_like_an_id(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    dropbox.rpc("files/list_folder", {"path": "/Homework"}, load("reports"))
    homework = {".tag": "folder", "name": "Homework", "path_display": "/Homework", "id": "id:h"}
    dropbox.rpc("files/get_metadata", {"path": "/Homework"}, homework)

    with hub_context("dropbox", **BEARER) as ctx:
        page = browse(ctx, "/Homework", None, 50)

    assert page.path == [Crumb("/Homework", "Homework")]


def test_a_folder_without_a_path_display_has_itself_as_trail() -> None:
    assert trail_of("id:x", {".tag": "folder", "name": "Elsewhere", "id": "id:x"}) == [
        Crumb("id:x", "Elsewhere")
    ]


def test_a_failed_get_metadata_leaves_the_page_without_trail(
    hub_context: Any, dropbox: FakeDropbox
) -> None:
    dropbox.rpc("files/get_metadata", {"path": REPORTS}, load("error_not_found"), status=409)

    with hub_context("dropbox", **BEARER) as ctx:
        page = browse(ctx, REPORTS, None, 50)

    assert page.path == [] and [i.name for i in page.items] == ["q3.csv"]


@pytest.mark.parametrize("bad", ["reports", "", "ns", "http://x/y"])
def test_something_else_than_an_id_or_path_is_refused_before_any_call(
    hub_context: Any, requests_mock: Any, bad: str
) -> None:
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(ValidationError):
        browse(ctx, bad, None, 50)
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(ValidationError):
        download(ctx, bad, None)

    assert requests_mock.call_count == 0


def test_a_download_sends_the_id_in_dropbox_api_arg_and_streams(
    hub_context: Any, dropbox: FakeDropbox, requests_mock: Any
) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        got = download(ctx, UMLAUTS, None)
        data = b"".join(got.chunks)

    sent = requests_mock.last_request
    assert sent.url == f"{CONTENT}/2/files/download" and sent.method == "POST"
    assert json.loads(sent.headers["Dropbox-API-Arg"]) == {"path": UMLAUTS}
    assert not sent.body  # the argument travels in the header only
    assert (got.filename, got.size, got.status, data) == (
        "Grüße aus Zürich.txt",
        16,
        200,
        b"Hallo aus Basel\n",
    )


def test_a_download_by_a_non_ascii_path_escapes_the_header(
    hub_context: Any, requests_mock: Any
) -> None:
    requests_mock.post(
        f"{CONTENT}/2/files/download",
        content=b"x",
        headers={"Dropbox-API-Result": '{"name": "Gr\\u00fc\\u00dfe.txt", "size": 1}'},
    )
    with hub_context("dropbox", **BEARER) as ctx:
        got = download(ctx, "/Grüße.txt", "bytes=0-0")

    sent = requests_mock.last_request
    assert sent.headers["Dropbox-API-Arg"] == '{"path":"/Gr\\u00fc\\u00dfe.txt"}'
    assert sent.headers["Range"] == "bytes=0-0"
    assert got.filename == "Grüße.txt"


def test_a_range_gives_206_with_the_content_range(hub_context: Any, dropbox: FakeDropbox) -> None:
    with hub_context("dropbox", **BEARER) as ctx:
        got = download(ctx, UMLAUTS, "bytes=0-0")
        data = b"".join(got.chunks)

    assert (got.status, got.content_range, got.size, data) == (206, "bytes 0-0/16", 1, b"H")


def test_without_content_length_the_size_comes_from_dropbox_api_result(
    hub_context: Any, requests_mock: Any
) -> None:
    requests_mock.post(
        f"{CONTENT}/2/files/download",
        content=b"abc",  # requests-mock sends no Content-Length of its own
        headers={"Dropbox-API-Result": '{"name": "a.bin", "size": 3}'},
    )
    with hub_context("dropbox", **BEARER) as ctx:
        got = download(ctx, "id:abc", None)

    assert got.size == 3 and got.filename == "a.bin"


def test_a_raw_utf8_dropbox_api_result_is_still_read(hub_context: Any, requests_mock: Any) -> None:
    raw = '{"name": "Grüße.txt", "size": 1}'.encode().decode("latin-1")
    requests_mock.post(
        f"{CONTENT}/2/files/download", content=b"x", headers={"Dropbox-API-Result": raw}
    )
    with hub_context("dropbox", **BEARER) as ctx:
        got = download(ctx, "id:abc", None)

    assert got.filename == "Grüße.txt"
