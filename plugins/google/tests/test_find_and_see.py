"""Search, the "Shared with me", "Starred" and "Recent" views, and thumbnails, through the hub's
HTTP API against the recorded Drive answers (``tests/recorded/README.md``)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.testing import signed_in_client
from hub_google import finding

RECORDED = Path(__file__).parent / "recorded"
DRIVE_API = "https://www.googleapis.com/drive/v3"
MY_DRIVE_ID = "0AHk2mYdRiVeRoOtUk9PVA"
ENGINEERING = "0AEnGiNeErInGdRiVe"
PROJECTS = "1PrOjEcTsFoLdEr7xQ"
LOGO = "1LoGoPnGtArGeT0ccc"
TOKEN = "ya29.a0AfB_first-access-token"  # recorded/token.json
THUMBNAIL_LINK = "https://lh3.googleusercontent.com/drive-storage/AJQWtBNlOgOtHuMbNaIlQ0f3kE9rBxYz"
SEARCH_SKELETON = "(name contains '' or fullText contains '') and trashed = false"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text())


def sent_query(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def png(width: int = 4, height: int = 4) -> bytes:
    """A small valid PNG (one grey pixel row repeated)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def drive_literals(q: str) -> tuple[str, list[str]]:
    """Read a Drive query as Drive does: the text outside single-quoted strings (each string
    left as ``''``) and the value of each string, ``\\x`` standing for ``x``."""
    skeleton, values, i = [], [], 0
    while i < len(q):
        if q[i] != "'":
            skeleton.append(q[i])
            i += 1
            continue
        value, i = [], i + 1
        while q[i] != "'":
            if q[i] == "\\":
                i += 1
            value.append(q[i])
            i += 1
        i += 1
        skeleton.append("''")
        values.append("".join(value))
    return "".join(skeleton), values


def files_list(google: Any, spec: Any, *, q: str, page_token: str | None = None) -> Any:
    """``files.list`` for one exact ``q`` and page token."""
    answers = [{"json": recorded(spec)}] if isinstance(spec, str) else [{"json": spec}]
    return google.mocker.get(
        f"{DRIVE_API}/files",
        answers,
        additional_matcher=lambda r: (
            sent_query(r).get("q") == q and sent_query(r).get("pageToken") == page_token
        ),
    )


@pytest.fixture
def api(drive: Any) -> Any:
    """The hub's data API of the connected Drive: ``api("search", q=...)``."""

    def get(path: str, **params: Any) -> Any:
        return drive.client.get(
            f"/api/integrations/{drive.ref}/services/drive/{path}", query_string=params
        )

    get.ref = drive.ref
    return get


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- search ---------------------------------------------------------------------------------------


def test_search_sends_drive_the_escaped_query_and_pages_to_the_end(api, google):
    q = finding.search_query("report")
    assert q == "(name contains 'report' or fullText contains 'report') and trashed = false"
    first = files_list(google, "search_report_page1", q=q)
    token = recorded("search_report_page1")["nextPageToken"]
    second = files_list(google, "search_report_page2", q=q, page_token=token)
    google.file(MY_DRIVE_ID, "meta_my_drive")
    google.file(PROJECTS, "meta_projects")
    google.file(ENGINEERING, "meta_engineering_root")
    google.drive(ENGINEERING, "drive_engineering")
    google.file("1YeAr2024FoLdErqqq", "meta_projects_2024")
    google.file("1RePoRtSfOlDeRkkkk", "meta_reports_folder")

    page = ok(api("search", q="report", limit=3))
    sent = sent_query(first.last_request)
    assert sent["corpora"] == "allDrives"
    assert sent["includeItemsFromAllDrives"] == sent["supportsAllDrives"] == "true"
    assert sent["pageSize"] == "3" and "parents" in sent["fields"]
    assert [(i["name"], i["parent"]) for i in page["items"]] == [
        ("report.pdf", {"id": MY_DRIVE_ID, "name": "My Drive"}),
        # a shared drive's root folder is named "Drive": the drive's own name is shown
        ("Reports", {"id": ENGINEERING, "name": "Engineering"}),
        ("Q2 report draft", {"id": PROJECTS, "name": "Projects"}),
    ]
    assert page["path"] == [] and page["nextCursor"] == token

    last = ok(api("search", q="report", limit=3, cursor=token))
    assert sent_query(second.last_request)["pageToken"] == token
    assert [(i["name"], i["parent"]["name"]) for i in last["items"]] == [
        ("annual report 2024.xlsx", "2024"),
        ("README of the reports.txt", "Reports"),
    ]
    assert last["nextCursor"] is None


def test_a_results_folder_opens_with_the_ordinary_browse(api, google):
    files_list(google, "search_report_page1", q=finding.search_query("report"))
    google.file(MY_DRIVE_ID, "meta_my_drive")
    google.file(PROJECTS, "meta_projects")
    google.file(ENGINEERING, "meta_engineering_root")
    google.drive(ENGINEERING, "drive_engineering")
    google.folder(PROJECTS, "files_projects")
    google.file("root", "meta_my_drive")

    found = ok(api("search", q="report"))
    folder = next(i["parent"] for i in found["items"] if i["name"] == "Q2 report draft")
    opened = ok(api("items", parent=folder["id"]))
    assert [c["name"] for c in opened["path"]] == ["My Drive", "Projects"]


HOSTILE = [
    "'",
    "\\",
    "\\'",
    "quinn's paper\\essay",
    "x' or name contains 'y",
    "') or trashed = true or (name contains '",
    "* or fullText contains *",
    '"quoted" and (parens)',
    "' in parents",
    "%27 %5C",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_query_is_searched_for_as_text(api, google, text):
    listed = google.mocker.get(f"{DRIVE_API}/files", json={"files": []})

    assert ok(api("search", q=text))["items"] == []
    q = sent_query(listed.last_request)["q"]
    skeleton, values = drive_literals(q)
    # Only the plugin's own operators are outside strings; both strings hold the text as typed.
    assert skeleton == SEARCH_SKELETON
    assert values == [text, text]


def test_the_escaping_is_exactly_drives(api, google):
    listed = google.mocker.get(f"{DRIVE_API}/files", json={"files": []})

    ok(api("search", q="quinn's paper\\essay"))
    assert sent_query(listed.last_request)["q"] == (
        "(name contains 'quinn\\'s paper\\\\essay' or fullText contains 'quinn\\'s paper\\\\essay')"
        " and trashed = false"
    )


def test_folder_names_cost_at_most_ten_lookups_a_page(api, google):
    folders = [
        {"id": f"1FoLdEr{n:02d}xxxxxxxx", "name": f"Folder {n}", "parents": [f"1PaReNt{n:02d}xx"]}
        for n in range(12)
    ]
    entries = [
        {"id": f"1FiLe{n:02d}xxxxxxxxx", "name": f"report {n}.txt", "mimeType": "text/plain",
         "parents": [f"1PaReNt{n:02d}xx"]}
        for n in range(12)
    ]  # fmt: skip
    # One result lives in a folder that is itself a result: its name costs nothing.
    entries.append(
        {"id": "1ChIlDxxxxxxxxxxxx", "name": "inside.txt", "mimeType": "text/plain",
         "parents": ["1OnThEpAgExxxxxxxx"]}
    )  # fmt: skip
    entries.append(
        {"id": "1OnThEpAgExxxxxxxx", "name": "Here", "mimeType": finding.FOLDER,
         "parents": ["1PaReNt00xx"]}
    )  # fmt: skip
    google.mocker.get(f"{DRIVE_API}/files", json={"files": entries})
    for n, meta in enumerate(folders):
        google.file(f"1PaReNt{n:02d}xx", {**meta, "id": f"1PaReNt{n:02d}xx"})

    page = ok(api("search", q="report"))
    lookups = [r for r in google.mocker.request_history if "/drive/v3/files/" in r.url]
    assert len(lookups) == finding.MAX_PARENT_LOOKUPS == 10
    names = [i["parent"]["name"] for i in page["items"]]
    assert names[:10] == [f"Folder {n}" for n in range(10)]
    # beyond the budget the folder keeps its id (it still opens), without a name
    assert page["items"][10]["parent"] == {"id": "1PaReNt10xx", "name": ""}
    assert page["items"][12]["parent"] == {"id": "1OnThEpAgExxxxxxxx", "name": "Here"}


def test_a_refused_folder_lookup_leaves_the_name_empty_not_the_page(api, google):
    google.mocker.get(
        f"{DRIVE_API}/files",
        json={"files": [recorded("search_report_page1")["files"][0]]},
    )
    google.file(
        MY_DRIVE_ID, [{"status_code": 403, "json": recorded("error_insufficient_permissions")}]
    )

    page = ok(api("search", q="report"))
    assert page["items"][0]["parent"] == {"id": MY_DRIVE_ID, "name": ""}


# -- views ----------------------------------------------------------------------------------------


def test_the_views_are_declared(api):
    views = ok(api("views"))
    assert [(v["name"], v["displayName"]) for v in views["items"]] == [
        ("shared", "Shared with me"),
        ("starred", "Starred"),
        ("recent", "Recent"),
    ]


def test_shared_with_me_lists_what_others_shared_and_its_folders_open(api, google):
    listed = files_list(google, "files_shared_with_me", q="sharedWithMe = true and trashed = false")
    google.folder("1DeSiGnFoLdErTaRgT", "files_design")
    google.file("1DeSiGnFoLdErTaRgT", "meta_design_shared")
    google.file("root", "meta_my_drive")

    page = ok(api("views/shared"))
    assert "corpora" not in sent_query(listed.last_request)
    assert [(i["name"], i["kind"], i.get("parent")) for i in page["items"]] == [
        ("Design", "folder", None),  # Drive gives no parents for what others shared
        ("budget (shared).xlsx", "file", None),
    ]
    assert page["path"] == [] and page["nextCursor"] is None
    opened = ok(api("items", parent="1DeSiGnFoLdErTaRgT"))
    assert [c["name"] for c in opened["path"]] == ["Design"]
    assert opened["items"]


def test_starred_asks_every_drive(api, google):
    listed = files_list(google, "files_starred", q="starred = true and trashed = false")
    google.file(ENGINEERING, "meta_engineering_root")
    google.drive(ENGINEERING, "drive_engineering")
    google.file(MY_DRIVE_ID, "meta_my_drive")

    page = ok(api("views/starred"))
    assert sent_query(listed.last_request)["corpora"] == "allDrives"
    assert [(i["name"], i["parent"]) for i in page["items"]] == [
        ("architecture.png", {"id": ENGINEERING, "name": "Engineering"}),
        ("Projects", {"id": MY_DRIVE_ID, "name": "My Drive"}),
    ]


def test_recent_lists_files_viewed_last_first_and_pages(api, google):
    q = "mimeType != 'application/vnd.google-apps.folder' and trashed = false"
    first = files_list(google, "files_recent_page1", q=q)
    token = recorded("files_recent_page1")["nextPageToken"]
    files_list(google, "files_recent_page2", q=q, page_token=token)
    google.file(MY_DRIVE_ID, "meta_my_drive")
    google.file(PROJECTS, "meta_projects")
    google.file("1DeSiGnFoLdErTaRgT", "meta_design_shared")

    page = ok(api("views/recent", limit=2))
    assert sent_query(first.last_request)["orderBy"] == "viewedByMeTime desc"
    assert [i["name"] for i in page["items"]] == ["Meeting notes", "plan.txt"]
    assert page["items"][0]["exportFormats"][0] == "docx"
    last = ok(api("views/recent", limit=2, cursor=page["nextCursor"]))
    assert [(i["name"], i["parent"]["name"]) for i in last["items"]] == [("logo.png", "Design")]
    assert last["nextCursor"] is None


def test_an_unknown_view_is_not_found_naming_the_views(api):
    response = api("views/favourites")
    assert response.status_code == 404
    assert "shared, starred, recent" in response.get_json()["error"]["message"]


# -- thumbnails -----------------------------------------------------------------------------------


def test_a_thumbnail_is_fetched_with_the_token_from_googles_thumbnail_host(api, google):
    meta = google.file(LOGO, "meta_logo_thumbnail")
    image = png()
    link = google.mocker.get(
        THUMBNAIL_LINK + "=s128", content=image, headers={"Content-Type": "image/png"}
    )

    response = api(f"items/{LOGO}/thumbnail", size=128)
    assert response.status_code == 200, response.get_json()
    assert response.data == image
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "thumbnailLink" in sent_query(meta.last_request)["fields"]
    # Drive: a link to a file that is not public "must be fetched using a credentialed request"
    assert link.last_request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_thumbnail_link_is_sized_only_when_it_ends_in_a_size():
    from hub_google.thumbnails import sized

    assert sized(THUMBNAIL_LINK + "=s220", 64) == THUMBNAIL_LINK + "=s64"
    other = "https://docs.google.com/feeds/vt?gd=true&id=1x&sz=s220"
    assert sized(other, 64) == other
    assert sized(THUMBNAIL_LINK, 64) == THUMBNAIL_LINK


@pytest.mark.parametrize(
    "link",
    [
        "https://lh3.googleusercontent.com.attacker.example/drive-storage/x=s220",
        "https://attacker.example/lh3.googleusercontent.com/x=s220",
        "https://1-2-3-4.bc.googleusercontent.com/x=s220",  # rented machines live there too
        "http://lh3.googleusercontent.com/x=s220",
        "https://lh3.googleusercontent.com:8443/x=s220",
        "https://lh3.googleusercontent.com@attacker.example/x=s220",
    ],
)
def test_the_token_never_goes_to_a_link_outside_googles_thumbnail_hosts(api, google, link):
    google.file(LOGO, {**recorded("meta_logo_thumbnail"), "thumbnailLink": link})
    before = len(google.mocker.request_history)

    response = api(f"items/{LOGO}/thumbnail")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_failed"
    sent = google.mocker.request_history[before:]
    assert all("googleapis.com" in urlsplit(r.url).hostname for r in sent)


def test_a_redirect_to_another_google_host_is_followed_without_the_token(api, google):
    google.file(LOGO, "meta_logo_thumbnail")
    signed = "https://lh4.googleusercontent.com/signed/AJQWtBN?expires=1715000000"
    google.mocker.get(THUMBNAIL_LINK + "=s256", status_code=302, headers={"Location": signed})
    served = google.mocker.get(signed, content=png(), headers={"Content-Type": "image/png"})

    assert api(f"items/{LOGO}/thumbnail").status_code == 200
    assert "Authorization" not in served.last_request.headers


def test_a_redirect_away_from_google_is_refused_before_anything_is_sent(api, google):
    google.file(LOGO, "meta_logo_thumbnail")
    google.mocker.get(
        THUMBNAIL_LINK + "=s256",
        status_code=302,
        headers={"Location": "https://attacker.example/steal"},
    )
    response = api(f"items/{LOGO}/thumbnail")
    assert response.status_code == 502
    assert not [r for r in google.mocker.request_history if "attacker" in r.url]


@pytest.mark.parametrize(
    "body",
    [b"<html><script>alert(1)</script></html>", b'<svg xmlns="http://www.w3.org/2000/svg"/>'],
)
def test_a_thumbnail_that_is_not_an_image_is_refused(api, google, body):
    google.file(LOGO, "meta_logo_thumbnail")
    google.mocker.get(THUMBNAIL_LINK + "=s256", content=body, headers={"Content-Type": "image/png"})

    response = api(f"items/{LOGO}/thumbnail")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "not_an_image"
    assert b"script" not in response.data


def test_a_thumbnail_over_a_mebibyte_is_refused(api, google):
    google.file(LOGO, "meta_logo_thumbnail")
    google.mocker.get(THUMBNAIL_LINK + "=s256", content=png() + b"\x00" * (1024 * 1024))

    response = api(f"items/{LOGO}/thumbnail")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "thumbnail_too_large"


def test_a_file_without_a_thumbnail_is_not_found(api, google):
    google.file("1PlAnTxTfIlE00dddd", "meta_plan_without_thumbnail")

    response = api("items/1PlAnTxTfIlE00dddd/thumbnail")
    assert response.status_code == 404
    assert "plan.txt" in response.get_json()["error"]["message"]


# -- access ---------------------------------------------------------------------------------------


def test_someone_who_cannot_see_the_integration_finds_and_sees_nothing(api, google, hub_app):
    stranger = signed_in_client(hub_app, "eve")
    before = len(google.mocker.request_history)
    for path in ("search?q=report", "views", "views/shared", f"items/{LOGO}/thumbnail"):
        response = stranger.get(f"/api/integrations/{api.ref}/services/drive/{path}")
        assert response.status_code == 404, path
    assert len(google.mocker.request_history) == before


def test_an_empty_query_is_refused_before_google_is_asked(api, google):
    before = len(google.mocker.request_history)
    response = api("search", q="   ")
    assert response.status_code == 400
    assert "q" in response.get_json()["error"]["fields"]
    assert len(google.mocker.request_history) == before


def test_the_drive_query_reader_of_these_tests_reads_escapes():
    assert drive_literals(r"name contains 'a\'b\\c'") == ("name contains ''", ["a'b\\c"])
