"""Browsing and downloading with the context an operation receives, against the recorded
answers on ``requests-mock``: ids, breadcrumbs, "Shared with me", SharePoint's trail, the
download host allow-list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from recorded_graph import DRIVE, FILES, GRAPH, LIBRARY, REMOTE, SITE, TEAM_PLANS, at, install, q

from hub.errors import UpstreamFailed, ValidationError
from hub_microsoft import downloads, folders

NOTES = "01BYE5RZ2JDIXXVHMHRFBKQVIQF6KMUDZS"


@pytest.fixture
def ctx(hub_context: Any, requests_mock: Any) -> Iterator[Any]:
    install(requests_mock)
    with hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer") as context:
        yield context


def crumbs(page: Any) -> list[tuple[str, str]]:
    return [(c.id, c.name) for c in page.path]


def test_the_top_level_starts_with_shared_with_me_and_keeps_the_limit(ctx, requests_mock):
    page = folders.onedrive_browse(ctx, None, None, 3)

    assert [i.name for i in page.items] == ["Shared with me", "Reports", "notes.txt"]
    assert page.path == []
    assert requests_mock.request_history[-1].qs["$top"] == ["2"]
    assert page.next_cursor == "tUGFnZWQ9VFJVRSZwX0lEPTI"
    reports = page.items[1]
    assert (reports.id, reports.kind) == (f"{DRIVE}:root:/Reports", "folder")
    assert (page.items[2].id, page.items[2].size) == (f"{DRIVE}:{NOTES}", 14)


def test_a_limit_of_one_gives_shared_with_me_then_the_root(ctx):
    first = folders.onedrive_browse(ctx, None, None, 1)
    second = folders.onedrive_browse(ctx, None, first.next_cursor, 1)

    assert [i.name for i in first.items] == ["Shared with me"]
    assert second.items[0].name == "Reports"


def test_a_folder_by_path_carries_its_trail_without_a_call(ctx, requests_mock):
    page = folders.onedrive_browse(ctx, f"{DRIVE}:root:/Reports", None, 50)

    assert crumbs(page) == [(f"{DRIVE}:root:/Reports", "Reports")]
    assert [i.name for i in page.items] == ["summary 2024.txt"]
    assert requests_mock.call_count == 1


def test_shared_items_live_in_their_own_drive_and_are_shortcuts(ctx):
    page = folders.onedrive_browse(ctx, "shared-with-me", None, 50)

    assert crumbs(page) == [("shared-with-me", "Shared with me")]
    folder, file = page.items
    assert folder.id == f"{REMOTE}:{TEAM_PLANS}" and folder.kind == "folder"
    assert folder.extras["shortcut"] == folder.id
    assert (file.kind, file.size) == ("file", 12)


def test_a_shared_folder_names_itself_with_one_call(ctx, requests_mock):
    page = folders.onedrive_browse(ctx, f"{REMOTE}:{TEAM_PLANS}", None, 50)

    assert crumbs(page) == [(f"{REMOTE}:{TEAM_PLANS}", "Team plans")]
    assert [i.name for i in page.items] == ["plan.txt"]
    assert requests_mock.call_count == 2  # the listing and the folder's name


def test_sharepoint_sites_libraries_and_folders(ctx):
    sites = folders.sharepoint_browse(ctx, None, None, 50)
    assert [(i.id, i.name) for i in sites.items] == [(SITE, "Marketing")]

    libraries = folders.sharepoint_browse(ctx, SITE, None, 50)
    assert [(i.id, i.name) for i in libraries.items] == [(f"{SITE}|{LIBRARY}:root", "Documents")]
    assert crumbs(libraries) == [(SITE, "Marketing")]

    library = folders.sharepoint_browse(ctx, f"{SITE}|{LIBRARY}:root", None, 50)
    assert crumbs(library) == [(SITE, "Marketing"), (f"{SITE}|{LIBRARY}:root", "Documents")]
    assert library.items[0].id == f"{SITE}|{LIBRARY}:01QLHYYHBKTZ3IW7TWFRBJSYFDOIO4CHDU"


def test_the_site_search_asks_for_every_site_and_only_the_fields_shown(ctx, requests_mock):
    folders.sharepoint_browse(ctx, None, None, 7)

    sent = requests_mock.request_history[-1]
    assert sent.qs["search"] == ["*"] and sent.qs["$top"] == ["7"]
    assert sent.qs["$select"] == ["id,displayname,name"]  # requests-mock lower-cases values


@pytest.mark.parametrize("parent", ["x:..", "b!x:root:/../../me", "a|b", "a/b|c:root"])
def test_bad_parents_are_refused_before_any_call(ctx, requests_mock, parent):
    with pytest.raises(ValidationError):
        folders.sharepoint_browse(ctx, parent, None, 5)
    assert requests_mock.call_count == 0


def test_a_download_streams_from_the_redirect_without_the_token(ctx, requests_mock):
    got = downloads.onedrive_download(ctx, f"{DRIVE}:{NOTES}", None)

    assert b"".join(got.chunks) == FILES[(DRIVE, NOTES)]
    assert (got.filename, got.size, got.status) == ("notes.txt", 14, 200)
    graph_call, content_call, host_call = requests_mock.request_history[-3:]
    assert graph_call.headers["Authorization"] == content_call.headers["Authorization"]
    assert "Authorization" not in host_call.headers
    assert host_call.hostname == "m365x214355.sharepoint.com"


def test_a_range_is_passed_on(ctx, requests_mock):
    got = downloads.onedrive_download(ctx, f"{DRIVE}:{NOTES}", "bytes=0-0")

    assert (got.status, got.content_range, got.size) == (206, "bytes 0-0/14", 1)
    assert requests_mock.request_history[-1].headers["Range"] == "bytes=0-0"


def test_a_folder_is_not_downloaded(ctx, requests_mock):
    requests_mock.get(at(f"/drives/{q(DRIVE)}/items/F1"), json={"id": "F1", "folder": {}})

    with pytest.raises(ValidationError):
        downloads.onedrive_download(ctx, f"{DRIVE}:F1", None)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://contoso.sharepoint.com/_layouts/15/download.aspx?x=1", True),
        ("https://contoso-my.sharepoint.com/personal/x/_layouts/15/download.aspx", True),
        ("https://b0mpua-by3301.files.1drv.com/y23vmag", True),
        ("https://public.bn1304.files.1drv.com/y4m", True),
        ("https://bl3301.livefilestore.com/y2m", True),
        ("https://files.1drv.com/", True),  # the downloads endpoint's default origin
        ("http://contoso.sharepoint.com/x", False),
        ("https://contoso.sharepoint.com:8443/x", False),
        ("https://sharepoint.com.attacker.example/x", False),
        ("https://attacker.example/x", False),
        ("https://contoso.sharepoint.com@attacker.example/x", False),
        ("https://attacker.example\\@contoso.sharepoint.com/x", False),
        ("https://graph.microsoft.com/v1.0/me", False),
    ],
)
def test_the_download_hosts_that_are_followed(ctx, url, allowed):
    assert downloads.may_download_from(ctx, url) is allowed


def test_a_redirect_elsewhere_is_refused_before_sending(ctx, requests_mock):
    path = f"/drives/{q(DRIVE)}/items/{NOTES}/content"
    requests_mock.get(at(path), status_code=302, headers={"Location": "https://evil.example/x"})
    evil = requests_mock.get("https://evil.example/x", content=b"no")

    with pytest.raises(UpstreamFailed, match="where the hub does not follow it"):
        downloads.onedrive_download(ctx, f"{DRIVE}:{NOTES}", None)
    assert evil.call_count == 0


def test_graph_urls_use_version_one(ctx):
    assert folders.graph.graph_url(ctx, "/me") == f"{GRAPH}/me"
