"""OneDrive's search, "Shared with me" and "Recent" views and thumbnails, against the recorded
Graph answers (``recorded_graph``): the exact path sent for hostile queries, paging by
``@odata.nextLink``, the folder of each result, the thumbnail redirect rules, and the access
rules of the hub's API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from recorded_graph import (
    DRIVE,
    GRAPH,
    PHOTO,
    REMOTE,
    SEARCH_SKIPTOKEN,
    TEAM_PLANS,
    THUMBNAIL_PNG,
    THUMBNAIL_URL,
    at,
    install,
    q,
)

from hub.errors import UpstreamFailed, ValidationError
from hub_microsoft import finding, folders, graph

REPORTS = "01BYE5RZ4MYIHEXFSW2RHJR2QY3MPLWMM6"
ROOT_ITEM = "01BYE5RZ56Y2GOVW7725BZO354PWSELRRZ"
SEARCH_PREFIX = "/v1.0/me/drive/root/search(q='"
THUMBNAIL = f"/drives/{q(DRIVE)}/items/{PHOTO}/thumbnails/0"


@pytest.fixture
def ctx(hub_context: Any, requests_mock: Any) -> Iterator[Any]:
    install(requests_mock)
    with hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer") as context:
        yield context


def odata_literal(text: str) -> str:
    """The value of an OData string literal's inside: ``''`` is a quote, a lone ``'`` would
    end the literal (and fails here)."""
    value, i = [], 0
    while i < len(text):
        if text[i] == "'":
            assert text[i + 1 : i + 2] == "'", f"a lone quote ends the literal in {text!r}"
            i += 1
        value.append(text[i])
        i += 1
    return "".join(value)


def searched_for(request: Any) -> str:
    """What a request to Graph's search asked for, read as Graph reads it: the raw path's
    literal (which must hold nothing but percent-encoded and unreserved characters), decoded,
    then unescaped."""
    path = urlsplit(request.url).path
    assert path.startswith(SEARCH_PREFIX) and path.endswith("')"), path
    raw = path[len(SEARCH_PREFIX) : -2]
    assert re.fullmatch(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})*", raw), raw
    return odata_literal(unquote(raw))


# -- search ---------------------------------------------------------------------------------------


def test_search_asks_graph_and_names_each_results_folder(ctx, requests_mock):
    page = finding.search(ctx, "report", None, 2)

    sent = requests_mock.request_history[-1]
    assert urlsplit(sent.url).path == "/v1.0/me/drive/root/search(q='report')"
    assert sent.qs["$top"] == ["2"] and "parentreference" in sent.qs["$select"][0]
    assert [(i.id, i.name, i.kind) for i in page.items] == [
        (f"{DRIVE}:{REPORTS}", "Reports", "folder"),  # by id: it may sit anywhere
        (f"{DRIVE}:01BYE5RZ3XQJ5JQ6XGSVBZMBDTBRDT4VXA", "summary 2024.txt", "file"),
    ]
    # the drive's root is the service's top level (an empty parent); a folder's name is the
    # last segment of its path
    assert [(i.parent.id, i.parent.name) for i in page.items] == [
        ("", "OneDrive"),
        (f"{DRIVE}:{REPORTS}", "Reports"),
    ]
    assert page.path == [] and page.next_cursor == "t" + SEARCH_SKIPTOKEN


def test_search_pages_to_the_end_by_the_stored_skiptoken(ctx, requests_mock):
    page = finding.search(ctx, "report", "t" + SEARCH_SKIPTOKEN, 2)

    sent = requests_mock.request_history[-1]
    assert urlsplit(sent.url).path == "/v1.0/me/drive/root/search(q='report')"
    assert sent.qs["$skiptoken"] == [SEARCH_SKIPTOKEN.lower()]  # requests-mock lowercases
    assert SEARCH_SKIPTOKEN in sent.url
    [item] = page.items
    # an item of another drive: opened in its own drive, its folder named by Graph
    assert item.id == f"{REMOTE}:01DJMOPNTEAMREPORTDOCXXXXXXXXXXXXX"
    assert (item.parent.id, item.parent.name) == (f"{REMOTE}:{TEAM_PLANS}", "Team plans")
    assert page.next_cursor is None


def test_a_results_folder_opens_with_the_ordinary_browse(ctx, requests_mock):
    requests_mock.get(
        at(f"/drives/{q(DRIVE)}/items/{REPORTS}"), json={"id": REPORTS, "name": "Reports"}
    )
    requests_mock.get(at(f"/drives/{q(DRIVE)}/items/{REPORTS}/children"), json={"value": []})
    parent = finding.search(ctx, "report", None, 2).items[1].parent
    opened = folders.onedrive_browse(ctx, parent.id, None, 10)
    assert [(c.id, c.name) for c in opened.path] == [(parent.id, "Reports")]


HOSTILE = [
    "'",
    "''",
    "\\",
    "o'brien's \\ notes",
    "x') or (name eq 'y",
    "report')/children?$top=1#",
    "') and contains(name,'",
    "* or 1 eq 1",
    "a/b\\c?d#e%f&g=h",
    "100% ça marche",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_query_is_searched_for_as_text(ctx, requests_mock, text):
    searched = requests_mock.get(
        re.compile(re.escape(GRAPH + "/me/drive/root/search(")), json={"value": []}
    )

    assert finding.search(ctx, text, None, 10).items == []
    assert searched.call_count == 1
    assert searched_for(searched.last_request) == text


def test_the_escaping_is_exactly_odatas():
    assert finding.search_path("o'brien") == "/me/drive/root/search(q='o%27%27brien')"
    assert finding.search_path("a b/c") == "/me/drive/root/search(q='a%20b%2Fc')"
    assert finding.search_path("x')") == "/me/drive/root/search(q='x%27%27%29')"


@pytest.mark.parametrize(
    "link",
    [
        "https://graph.microsoft.com/v1.0/me/drive/root/search(q='report')?$skiptoken=abc",
        "https://graph.microsoft.com/v1.0/me/drive/root/search(q='report')?$skipToken=abc",
        # the shape of the search reference's own example
        "https://graph.microsoft.com/v1.0/me/drive/root/search(query='report')&skipToken=abc",
    ],
)
def test_a_search_next_link_becomes_a_stored_cursor(ctx, link):
    listed = graph.graph_url(ctx, finding.search_path("a/b 'c'"))
    assert graph.next_cursor(ctx, listed, {"@odata.nextLink": link}) == "tabc"


@pytest.mark.parametrize(
    "link",
    [
        "https://attacker.example/v1.0/me/drive/root/search(q='report')?$skiptoken=abc",
        "https://graph.microsoft.com/v1.0/me/drive/root/children?$skiptoken=abc",
    ],
)
def test_a_search_next_link_elsewhere_is_refused(ctx, link):
    listed = graph.graph_url(ctx, finding.search_path("report"))
    with pytest.raises(UpstreamFailed):
        graph.next_cursor(ctx, listed, {"@odata.nextLink": link})


def test_a_cursor_the_hub_did_not_give_is_refused_before_graph_is_asked(ctx, requests_mock):
    before = len(requests_mock.request_history)
    with pytest.raises(ValidationError):
        finding.search(ctx, "report", "https://attacker.example/next", 10)
    assert len(requests_mock.request_history) == before


# -- views ----------------------------------------------------------------------------------------


def test_shared_with_me_is_a_view_with_the_folders_items(ctx):
    page = finding.shared_with_me(ctx, None, 10)

    assert [(i.id, i.name, i.kind) for i in page.items] == [
        (f"{REMOTE}:{TEAM_PLANS}", "Team plans", "folder"),
        (f"{REMOTE}:01DJMOPNHMXDCMHQ2KDNFL4AIZNKMBWW5Y", "budget.csv", "file"),
    ]
    assert page.path == []  # a view's page has no breadcrumbs


def test_recent_lists_items_of_every_drive_with_their_folders(ctx, requests_mock):
    page = finding.recent(ctx, None, 10)

    assert urlsplit(requests_mock.request_history[-1].url).path == "/v1.0/me/drive/recent"
    assert [(i.id, i.name, i.parent.id) for i in page.items] == [
        (f"{REMOTE}:01DJMOPNHMXDCMHQ2KDNFL4AIZNKMBWW5Y", "budget.csv", f"{REMOTE}:{TEAM_PLANS}"),
        (f"{DRIVE}:01BYE5RZ2JDIXXVHMHRFBKQVIQF6KMUDZS", "notes.txt", f"{DRIVE}:{ROOT_ITEM}"),
    ]
    assert page.next_cursor is None


def test_the_recent_view_pages_by_its_next_link(ctx, requests_mock):
    requests_mock.get(
        at("/me/drive/recent"),
        json={
            "value": [],
            "@odata.nextLink": f"{GRAPH}/me/drive/recent?$top=1&$skiptoken=UmVjZW50Mg",
        },
    )
    assert finding.recent(ctx, None, 1).next_cursor == "tUmVjZW50Mg"


# -- thumbnails -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size,name", [(16, "small"), (96, "small"), (128, "medium"), (800, "large"), (1024, "large")]
)
def test_the_thumbnail_size_is_the_smallest_named_one_that_is_large_enough(size, name):
    assert finding.size_name(size) == name


def test_a_thumbnail_follows_graphs_redirect_without_the_token(ctx, requests_mock):
    download = finding.thumbnail(ctx, f"{DRIVE}:{PHOTO}", 128)

    assert b"".join(download.chunks) == THUMBNAIL_PNG
    asked, served = requests_mock.request_history[-2:]
    assert urlsplit(asked.url).path == f"/v1.0{THUMBNAIL}/medium/content"
    assert asked.headers["Authorization"] == "Bearer t"
    assert served.url == THUMBNAIL_URL and "Authorization" not in served.headers


@pytest.mark.parametrize(
    "location",
    [
        "https://attacker.example/thumb.png",
        "https://westus1-mediap.svc.ms.attacker.example/thumb.png",
        "http://westus1-mediap.svc.ms/thumb.png",
        "https://westus1-mediap.svc.ms:8443/thumb.png",
        "https://westus1-mediap.svc.ms@attacker.example/thumb.png",
    ],
)
def test_a_thumbnail_redirect_elsewhere_is_refused_before_anything_is_sent(
    ctx, requests_mock, location
):
    requests_mock.get(
        at(f"{THUMBNAIL}/medium/content"), status_code=302, headers={"Location": location}
    )
    before = len(requests_mock.request_history)

    with pytest.raises(UpstreamFailed):
        finding.thumbnail(ctx, f"{DRIVE}:{PHOTO}", 128)
    assert len(requests_mock.request_history) == before + 1  # the Graph call only


def test_an_id_the_plugin_did_not_give_is_refused_before_graph_is_asked(ctx, requests_mock):
    before = len(requests_mock.request_history)
    for bad in ("nope", f"{DRIVE}:..", "a:b:c"):
        with pytest.raises(ValidationError):
            finding.thumbnail(ctx, bad, 128)
    assert len(requests_mock.request_history) == before


# -- through the hub's API ------------------------------------------------------------------------


@pytest.fixture
def connected(hub_client: Any, requests_mock: Any) -> str:
    """A connected OneDrive integration over the recorded answers: its API base."""
    install(requests_mock)
    created = hub_client.post(
        "/api/integrations",
        json={"name": "OneDrive", "provider": "microsoft", "authType": "bearer"},
    )
    ref = created.get_json()["id"]
    assert (
        hub_client.post(f"/api/integrations/{ref}/connection", json={"token": "t"}).status_code
        == 200
    )
    return f"/api/integrations/{ref}/services/onedrive"


def test_the_views_are_declared_and_browsed_through_the_api(hub_client, connected):
    views = hub_client.get(f"{connected}/views").get_json()
    assert [(v["name"], v["displayName"]) for v in views["items"]] == [
        ("shared", "Shared with me"),
        ("recent", "Recent"),
    ]
    shared = hub_client.get(f"{connected}/views/shared").get_json()
    assert [i["name"] for i in shared["items"]] == ["Team plans", "budget.csv"]
    # the "Shared with me" folder of the top level stays
    top = hub_client.get(f"{connected}/items").get_json()
    assert top["items"][0]["name"] == "Shared with me"


def test_a_thumbnail_is_served_as_an_icon_is(hub_client, connected):
    response = hub_client.get(f"{connected}/items/{q(DRIVE + ':' + PHOTO)}/thumbnail?size=64")
    assert response.status_code == 200, response.get_json()
    assert response.data == THUMBNAIL_PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "body", [b"<html><script>alert(1)</script></html>", b"%PDF-1.7\n", b"GIF89a\x01\x00"]
)
def test_a_thumbnail_that_is_not_a_png_jpeg_or_webp_is_refused(
    hub_client, connected, requests_mock, body
):
    requests_mock.get(THUMBNAIL_URL, content=body, headers={"Content-Type": "image/png"})

    response = hub_client.get(f"{connected}/items/{q(DRIVE + ':' + PHOTO)}/thumbnail")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "not_an_image"


def test_an_item_without_a_thumbnail_is_not_found(hub_client, connected, requests_mock, recorded):
    requests_mock.get(
        at(f"{THUMBNAIL}/medium/content"), status_code=404, json=recorded("error_not_found")
    )

    response = hub_client.get(f"{connected}/items/{q(DRIVE + ':' + PHOTO)}/thumbnail?size=128")
    assert response.status_code == 404


def test_someone_who_cannot_see_the_integration_finds_and_sees_nothing(
    hub_login, connected, requests_mock
):
    stranger = hub_login("eve")
    before = len(requests_mock.request_history)
    for path in (
        "search?q=report",
        "views",
        "views/recent",
        f"items/{q(DRIVE + ':' + PHOTO)}/thumbnail",
    ):
        assert stranger.get(f"{connected}/{path}").status_code == 404, path
    assert len(requests_mock.request_history) == before


def test_sharepoint_declares_none_of_them(hub_client, connected):
    services = hub_client.get(connected.rsplit("/", 2)[0] + "/services").get_json()["items"]
    sharepoint = next(s for s in services if s["name"] == "sharepoint")
    assert (sharepoint["searchable"], sharepoint["thumbnails"], sharepoint["views"]) == (
        False,
        False,
        [],
    )
