"""Search, views and thumbnails of kDrive, and Mail's search and attachments, through the hub's
HTTP API against recorded answers (``fixtures/``, shapes named in its README)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from hub.testing import signed_in_client

API = "https://api.infomaniak.com"
MAIL = "https://mail.infomaniak.com"
DRIVE, OTHER_DRIVE, GUEST_DRIVE = 140946, 287311, 777001
DRIVES = f"{API}/2/drive/users/current/drives"
MAILBOX = "3b1f4f0e-8a2c-4c57-9d1e-2f6a7b8c9d01"
OTHER_MAILBOX = "7c2e9d14-51ab-4e0f-8b3c-a1d2e3f4a5b6"
INBOX = "eJzz9HPx8wcABkkCCQ"
ARCHIVE = "eJxzLCjKTM4sAQAJ2QJj"
FOLDERS = f"{MAIL}/api/mail/{MAILBOX}/folder"
MESSAGE = f"{FOLDERS}/{INBOX}/message/301"
HOSTILE = [
    '"quoted"',
    "back\\slash",
    "*",
    "a*b?",
    "report&query=x",
    "name contains 'x'",
    "100%",
    "#top",
    "' or '1'='1",
    "severywhere=0&scontains=y",
    "  spaced  ",
]


def get(client, url, **query):
    response = client.get(url, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sent(request, name):
    """A query parameter exactly as it reached Infomaniak (case kept, unlike ``.qs``)."""
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True).get(name)


def calls(requests_mock, path):
    return [r for r in requests_mock.request_history if urlsplit(r.url).path == path]


@pytest.fixture
def drives(requests_mock, recorded):
    requests_mock.get(DRIVES, json=recorded("drives.json"))


# -- kDrive: search ------------------------------------------------------------------------------


@pytest.fixture
def kdrive_search(requests_mock, recorded, drives):
    def answer(request, context):
        cursor = sent(request, "cursor")
        return recorded("search_report_page2.json" if cursor else "search_report_page1.json")

    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/search", json=answer)
    requests_mock.get(
        f"{API}/3/drive/{OTHER_DRIVE}/files/search", json=recorded("search_empty.json")
    )


def search_kdrive(client, ref, q, **more):
    return get(client, f"/api/integrations/{ref}/services/kdrive/search", q=q, **more)


def test_kdrive_search_pages_to_the_end_with_the_folder_of_each_result(
    client, bearer, kdrive_search
):
    first = search_kdrive(client, bearer, "report")
    second = search_kdrive(client, bearer, "report", cursor=first["nextCursor"])

    assert [(i["id"], i["name"], i["parent"]) for i in first["items"]] == [
        (f"{DRIVE}:42", "Q3 report.pdf", {"id": f"{DRIVE}:7", "name": "Reports"}),
        (f"{DRIVE}:7", "Reports", {"id": f"{DRIVE}:3", "name": "Documents"}),
    ]
    assert first["nextCursor"] == f"d{DRIVE}:c2VhcmNoOjI"
    # at the root of a drive, the folder is the drive itself
    assert second["items"][0]["parent"] == {"id": f"{DRIVE}:1", "name": "Lovelace Labs"}
    # the first drive ended short of the page: the other drive was read for the same page
    assert second["nextCursor"] is None


def test_kdrive_search_reads_several_drives_for_one_page_when_the_first_has_little(
    client, bearer, requests_mock, recorded, drives
):
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/search", json=recorded("search_empty.json"))
    other = requests_mock.get(
        f"{API}/3/drive/{OTHER_DRIVE}/files/search", json=recorded("search_report_page2.json")
    )

    page = search_kdrive(client, bearer, "report", limit=20)

    assert [i["id"] for i in page["items"]] == [f"{OTHER_DRIVE}:310"]
    assert page["nextCursor"] is None
    assert sent(other.last_request, "limit") == ["20"]


def test_kdrive_search_sends_the_callers_cursor_and_the_clients_parameters(
    client, bearer, kdrive_search, requests_mock
):
    search_kdrive(client, bearer, "report", limit=20)
    request = calls(requests_mock, f"/3/drive/{DRIVE}/files/search")[-1]

    assert {k: sent(request, k) for k in ("query", "limit", "with", "order_by")} == {
        "query": ["report"],
        "limit": ["20"],
        "with": ["path"],
        "order_by": ["relevance"],
    }
    assert sent(request, "cursor") is None


@pytest.mark.parametrize("query", HOSTILE)
def test_a_kdrive_query_reaches_kdrive_as_one_plain_parameter(
    client, bearer, kdrive_search, requests_mock, query
):
    search_kdrive(client, bearer, query)

    request = calls(requests_mock, f"/3/drive/{DRIVE}/files/search")[-1]
    assert sent(request, "query") == [query]
    assert sent(request, "scontains") is None and len(sent(request, "limit")) == 1


def test_a_kdrive_search_cursor_from_elsewhere_is_refused_naming_cursor(
    client, bearer, kdrive_search
):
    for cursor in ("page:2", f"d{DRIVE}:a b", "d999:", "m:0:0:"):
        response = client.get(
            f"/api/integrations/{bearer}/services/kdrive/search",
            query_string={"q": "report", "cursor": cursor},
        )
        assert response.status_code == 400, cursor
        assert "cursor" in response.get_json()["error"]["fields"]


# -- kDrive: views ---------------------------------------------------------------------------------


@pytest.fixture
def shared(requests_mock, recorded, drives):
    def answer(request, context):
        cursor = sent(request, "cursor")
        return recorded("shared_with_me_page2.json" if cursor else "shared_with_me_page1.json")

    requests_mock.get(f"{API}/3/drive/files/shared_with_me", json=answer)
    folder = f"{API}/3/drive/{GUEST_DRIVE}/files/5001"
    requests_mock.get(folder, json=recorded("guest_board_papers.json"))
    requests_mock.get(f"{folder}/files", json=recorded("guest_board_papers_files.json"))


def view(client, ref, name, **query):
    return get(client, f"/api/integrations/{ref}/services/kdrive/views/{name}", **query)


def test_kdrive_declares_its_three_views(client, bearer):
    listed = get(client, f"/api/integrations/{bearer}/services/kdrive/views")

    assert [(v["name"], v["displayName"]) for v in listed["items"]] == [
        ("shared", "Shared with me"),
        ("recent", "Recent"),
        ("favorites", "Favorites"),
    ]


def test_shared_with_me_pages_and_reaches_a_drive_the_user_is_only_a_guest_of(
    client, bearer, shared
):
    first = view(client, bearer, "shared")
    second = view(client, bearer, "shared", cursor=first["nextCursor"])

    assert [(i["id"], i["kind"]) for i in first["items"]] == [(f"{GUEST_DRIVE}:5001", "folder")]
    assert [i["name"] for i in second["items"]] == ["budget 2025.xlsx"]
    assert second["nextCursor"] is None
    # the guest drive is not among the account's drives, but its shared folder opens
    top = get(client, f"/api/integrations/{bearer}/services/kdrive/items")
    assert f"{GUEST_DRIVE}:1" not in {i["id"] for i in top["items"]}
    folder = get(
        client, f"/api/integrations/{bearer}/services/kdrive/items", parent=f"{GUEST_DRIVE}:5001"
    )
    assert [i["name"] for i in folder["items"]] == ["minutes.pdf"]
    # breadcrumbs never lead to the guest drive's root or the owner's folders
    assert folder["path"] == [{"id": f"{GUEST_DRIVE}:5001", "name": "Board papers"}]


def test_a_guests_drive_is_looked_up_in_the_drive_list_once_per_connection(
    client, bearer, shared, requests_mock
):
    for _ in range(3):
        get(
            client,
            f"/api/integrations/{bearer}/services/kdrive/items",
            parent=f"{GUEST_DRIVE}:5001",
        )

    assert len(calls(requests_mock, "/2/drive/users/current/drives")) == 1


def test_recent_and_favorites_read_each_drive_and_name_each_items_folder(
    client, bearer, requests_mock, recorded, drives
):
    for route, fixture in (
        ("last_modified", "last_modified.json"),
        ("favorites", "favorites.json"),
    ):
        requests_mock.get(f"{API}/3/drive/{DRIVE}/files/{route}", json=recorded(fixture))
        requests_mock.get(
            f"{API}/3/drive/{OTHER_DRIVE}/files/{route}", json=recorded("search_empty.json")
        )

    recent = view(client, bearer, "recent")
    favorites = view(client, bearer, "favorites")

    assert [(i["name"], i["parent"]["name"]) for i in recent["items"]] == [
        ("sunset.jpg", "Level 1"),
        ("Q3 report.pdf", "Reports"),
    ]
    assert [(i["name"], i["kind"]) for i in favorites["items"]] == [
        ("Level 1", "folder"),
        ("sunset.jpg", "file"),
    ]
    assert favorites["items"][0]["parent"] == {"id": f"{DRIVE}:1", "name": "Lovelace Labs"}
    assert recent["nextCursor"] is None and favorites["nextCursor"] is None


def test_an_unknown_view_is_refused_naming_the_views(client, bearer):
    response = client.get(f"/api/integrations/{bearer}/services/kdrive/views/starred")

    assert response.status_code == 404
    assert "shared" in response.get_json()["error"]["message"]


# -- kDrive: thumbnails ----------------------------------------------------------------------------


def thumbnail_url(ref, item):
    return f"/api/integrations/{ref}/services/kdrive/items/{quote(item, safe='')}/thumbnail"


@pytest.fixture
def picture(requests_mock, recorded):
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/301", json=recorded("file_sunset.json"))
    return requests_mock.get(
        f"{API}/2/drive/{DRIVE}/files/301/thumbnail",
        content=recorded("thumbnail_sunset.png"),
        headers={"Content-Type": "image/png"},
    )


def test_a_pictures_thumbnail_is_served_as_an_image(client, bearer, picture, recorded):
    response = client.get(thumbnail_url(bearer, f"{DRIVE}:301") + "?size=128")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.get_data() == recorded("thumbnail_sunset.png")
    assert picture.last_request.headers["Authorization"] == "Bearer personal-token"


def test_a_thumbnail_of_a_non_image_is_refused_before_asking_kdrive(
    client, bearer, picture, requests_mock, recorded
):
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/42", json=recorded("file_q3_report.json"))
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/7", json=recorded("file_reports.json"))

    for item in (f"{DRIVE}:42", f"{DRIVE}:7"):
        response = client.get(thumbnail_url(bearer, item) + "?size=128")
        assert response.status_code == 400, item
        error = response.get_json()["error"]
        assert (error["code"], list(error["fields"])) == ("not_an_image", ["itemId"])
    assert picture.call_count == 0


def test_a_thumbnail_that_is_not_an_image_or_too_large_is_not_served(
    client, bearer, picture, requests_mock
):
    url = f"{API}/2/drive/{DRIVE}/files/301/thumbnail"
    requests_mock.get(url, content=b"<svg onload=alert(1)>", headers={"Content-Type": "image/png"})
    bad = client.get(thumbnail_url(bearer, f"{DRIVE}:301") + "?size=128")
    assert (bad.status_code, bad.get_json()["error"]["code"]) == (502, "not_an_image")

    huge = b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024 + 1)
    requests_mock.get(url, content=huge, headers={"Content-Type": "image/png"})
    big = client.get(thumbnail_url(bearer, f"{DRIVE}:301") + "?size=128")
    assert (big.status_code, big.get_json()["error"]["code"]) == (502, "thumbnail_too_large")


def test_a_thumbnail_id_that_is_not_kdrives_is_refused(client, bearer):
    response = client.get(thumbnail_url(bearer, "../../etc") + "?size=128")

    assert response.status_code == 404


# -- access rules ----------------------------------------------------------------------------------


def test_another_user_can_neither_search_nor_open_views_nor_see_thumbnails(
    app, bearer, kdrive_search, shared, picture, requests_mock
):
    stranger = signed_in_client(app, "mallory")
    before = len(requests_mock.request_history)
    base = f"/api/integrations/{bearer}/services"
    for url in (
        f"{base}/kdrive/search?q=report",
        f"{base}/mail/search?q=report",
        f"{base}/kdrive/views/shared",
        f"{base}/mail/items?parent=message:{MAILBOX}:{INBOX}:301",
        thumbnail_url(bearer, f"{DRIVE}:301") + "?size=64",
    ):
        response = stranger.get(url)
        assert response.status_code == 404, url
    assert len(requests_mock.request_history) == before


# -- Mail: search ----------------------------------------------------------------------------------


@pytest.fixture
def mail_search(requests_mock, recorded):
    requests_mock.get(f"{MAIL}/api/mailbox", json=recorded("mailboxes.json"))
    requests_mock.get(FOLDERS, json=recorded("folders.json"))
    requests_mock.get(
        f"{MAIL}/api/mail/{OTHER_MAILBOX}/folder", json={"result": "success", "data": []}
    )

    def answer(request, context):
        offset = sent(request, "offset") or ["0"]
        return recorded(f"mail_search_offset{offset[0]}.json")

    return requests_mock.get(f"{FOLDERS}/{INBOX}/message", json=answer)


def search_mail(client, ref, q, **more):
    return get(client, f"/api/integrations/{ref}/services/mail/search", q=q, **more)


def test_mail_search_follows_resource_next_with_each_messages_folder(client, bearer, mail_search):
    first = search_mail(client, bearer, "report")
    second = search_mail(client, bearer, "report", cursor=first["nextCursor"])

    assert [(i["id"], i["name"], i["parent"]) for i in first["items"]] == [
        (
            f"message:{MAILBOX}:{INBOX}:301",
            "Quarterly report_ Q3.eml",
            {"id": f"folder:{MAILBOX}:{INBOX}", "name": "INBOX"},
        ),
        (
            f"message:{MAILBOX}:{ARCHIVE}:77",
            "Re_ the report draft.eml",
            {"id": f"folder:{MAILBOX}:{ARCHIVE}", "name": "Archive"},
        ),
    ]
    assert [i["name"] for i in second["items"]] == ["Report archive index.eml"]
    assert second["nextCursor"] is None  # the other mailbox has no folder to search
    # every page asks again with the filters, on the page resource_next named
    pages = mail_search.request_history
    assert [sent(r, "offset") for r in pages] == [["0"], ["2"]]
    assert all(sent(r, "severywhere") == ["1"] and sent(r, "thread") == ["off"] for r in pages)


@pytest.mark.parametrize("query", HOSTILE)
def test_a_mail_query_reaches_infomaniak_as_one_plain_parameter(client, bearer, mail_search, query):
    search_mail(client, bearer, query)

    request = mail_search.last_request
    assert sent(request, "scontains") == [query]
    assert sent(request, "severywhere") == ["1"]


def test_mail_search_does_not_double_filters_a_next_page_repeats(
    client, bearer, mail_search, recorded, requests_mock
):
    page = recorded("mail_search_offset0.json")
    page["data"]["resource_next"] += "&scontains=other&severywhere=0"
    listing = requests_mock.get(
        f"{FOLDERS}/{INBOX}/message",
        json=lambda request, context: (
            page if sent(request, "offset") == ["0"] else recorded("mail_search_offset2.json")
        ),
    )

    first = search_mail(client, bearer, "report")
    search_mail(client, bearer, "report", cursor=first["nextCursor"])

    request = listing.last_request
    assert sent(request, "offset") == ["2"]
    assert (sent(request, "scontains"), sent(request, "severywhere")) == (["report"], ["1"])


# -- Mail: attachments -----------------------------------------------------------------------------


@pytest.fixture
def message(requests_mock, recorded):
    requests_mock.get(f"{MAIL}/api/mailbox", json=recorded("mailboxes.json"))
    requests_mock.get(FOLDERS, json=recorded("folders.json"))
    return requests_mock.get(MESSAGE, json=recorded("message_301.json"))


def mail_items(client, ref, **query):
    return get(client, f"/api/integrations/{ref}/services/mail/items", **query)


def test_a_message_opens_to_its_attachments(client, bearer, message):
    page = mail_items(client, bearer, parent=f"message:{MAILBOX}:{INBOX}:301")

    assert [(i["id"], i["name"], i["kind"], i["size"], i["mimeType"]) for i in page["items"]] == [
        (f"attachment:{MAILBOX}:{INBOX}:301:2", "Q3 report.pdf", "file", 3210, "application/pdf"),
        (f"attachment:{MAILBOX}:{INBOX}:301:3", "chart.png", "file", 890, "image/png"),
    ]
    assert page["items"][1]["disposition"] == "inline"
    assert page["path"] == [
        {"id": f"mailbox:{MAILBOX}", "name": "ada@lovelace-labs.ch"},
        {"id": f"folder:{MAILBOX}:{INBOX}", "name": "INBOX"},
        {"id": f"message:{MAILBOX}:{INBOX}:301", "name": "Quarterly report_ Q3.eml"},
    ]
    assert page["nextCursor"] is None


def test_a_messages_attachments_page_by_the_callers_limit(client, bearer, message):
    first = mail_items(client, bearer, parent=f"message:{MAILBOX}:{INBOX}:301", limit=1)
    second = mail_items(
        client, bearer, parent=f"message:{MAILBOX}:{INBOX}:301", limit=1, cursor=first["nextCursor"]
    )

    assert [i["name"] for i in first["items"] + second["items"]] == ["Q3 report.pdf", "chart.png"]
    assert second["nextCursor"] is None and second["path"] == []


def test_an_attachment_whose_resource_leaves_the_message_is_left_out(
    client, bearer, message, recorded, requests_mock
):
    record = recorded("message_301.json")
    record["data"]["attachments"][0]["resource"] = (
        f"/api/mail/{MAILBOX}/folder/x/message/9/attachment/2"
    )
    record["data"]["attachments"][1]["resource"] = "https://elsewhere.example/attachment/3"
    requests_mock.get(MESSAGE, json=record)

    page = mail_items(client, bearer, parent=f"message:{MAILBOX}:{INBOX}:301")

    assert page["items"] == []


def test_an_attachment_downloads_alone_with_its_name_and_type(
    client, bearer, message, requests_mock
):
    pdf = b"%PDF-1.7 recorded attachment"
    attachment = requests_mock.get(
        f"{MESSAGE}/attachment/2",
        content=pdf,
        headers={"Content-Type": "application/pdf", "Content-Length": str(len(pdf))},
    )

    item = quote(f"attachment:{MAILBOX}:{INBOX}:301:2", safe="")
    response = client.get(f"/api/integrations/{bearer}/services/mail/items/{item}/download")

    assert response.status_code == 200
    assert response.get_data() == pdf
    assert response.headers["Content-Type"] == "application/pdf"
    assert "Q3%20report.pdf" in response.headers["Content-Disposition"]
    assert attachment.last_request.headers["Authorization"] == "Bearer personal-token"


def test_an_attachments_own_name_wins_and_a_range_is_passed_on(client, bearer, requests_mock):
    attachment = requests_mock.get(
        f"{MESSAGE}/attachment/3",
        content=b"\x89P",
        status_code=206,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="chart.png"',
            "Content-Range": "bytes 0-1/890",
        },
    )

    item = quote(f"attachment:{MAILBOX}:{INBOX}:301:3", safe="")
    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items/{item}/download",
        headers={"Range": "bytes=0-1"},
    )

    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 0-1/890"
    assert "chart.png" in response.headers["Content-Disposition"]
    assert attachment.last_request.headers["Range"] == "bytes=0-1"


def test_the_whole_message_still_downloads_as_eml(client, bearer, requests_mock, recorded):
    requests_mock.get(
        f"{MESSAGE}/download",
        content=recorded("message_201.eml"),
        headers={"Content-Type": "message/rfc822"},
    )

    item = quote(f"message:{MAILBOX}:{INBOX}:301", safe="")
    response = client.get(f"/api/integrations/{bearer}/services/mail/items/{item}/download")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "message/rfc822"
    assert ".eml" in response.headers["Content-Disposition"]


def test_an_attachment_is_not_a_folder_and_its_id_is_checked(client, bearer):
    base = f"/api/integrations/{bearer}/services/mail/items"
    opened = client.get(base, query_string={"parent": f"attachment:{MAILBOX}:{INBOX}:301:2"})
    assert opened.status_code == 404

    item = quote(f"attachment:{MAILBOX}:{INBOX}:301:..", safe="")
    refused = client.get(f"{base}/{item}/download")
    assert refused.status_code == 400
