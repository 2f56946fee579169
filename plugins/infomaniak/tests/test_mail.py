"""The ``mail`` service through the hub's HTTP API, against recorded mail answers."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from hub_infomaniak.eml import eml_filename, peek_headers, subject_of
from hub_infomaniak.mail import mail_id, parse_mail_id

MAIL = "https://mail.infomaniak.com"
MAILBOX = "3b1f4f0e-8a2c-4c57-9d1e-2f6a7b8c9d01"
INBOX = "eJzz9HPx8wcABkkCCQ"
RECEIPTS = "eJzz9HPx8_UPSk3OLMnMzwMAKYcFTw"
ARCHIVE = "eJxzLCjKTM4sAQAJ2QJj"
DRAFTS = "eJxzKSpKTS4BAAmPAmw"
MAILBOXES = f"{MAIL}/api/mailbox"
FOLDERS = f"{MAIL}/api/mail/{MAILBOX}/folder"


def messages_url(folder):
    return f"{FOLDERS}/{folder}/message"


def download_url(folder, short_uid):
    return f"{FOLDERS}/{folder}/message/{short_uid}/download"


def items(client, ref, **query):
    response = client.get(f"/api/integrations/{ref}/services/mail/items", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def mailbox(requests_mock, recorded):
    """The recorded mailboxes and folder tree."""
    requests_mock.get(MAILBOXES, json=recorded("mailboxes.json"))
    requests_mock.get(FOLDERS, json=recorded("folders.json"))


# -- mailboxes and folders ---------------------------------------------------------------------


def test_the_top_level_lists_the_mailboxes(client, bearer, mailbox):
    page = items(client, bearer)

    assert [(i["id"], i["name"], i["kind"]) for i in page["items"]] == [
        (f"mailbox:{MAILBOX}", "ada@lovelace-labs.ch", "folder"),
        ("mailbox:7c2e9d14-51ab-4e0f-8b3c-a1d2e3f4a5b6", "info@lovelace-labs.ch", "folder"),
    ]
    assert (page["items"][0]["unseen"], page["items"][0]["primary"]) == (3, True)


def test_mailboxes_are_asked_with_aliases_and_unseen_counts(client, bearer, mailbox, requests_mock):
    items(client, bearer)

    assert parse_qs(urlsplit(requests_mock.last_request.url).query) == {"with": ["aliases,unseen"]}


def test_a_mailbox_lists_its_top_folders(client, bearer, mailbox):
    page = items(client, bearer, parent=f"mailbox:{MAILBOX}")

    assert [i["name"] for i in page["items"]] == ["INBOX", "Sent", "Drafts", "Archive", "Trash"]
    assert page["items"][0]["id"] == f"folder:{MAILBOX}:{INBOX}"
    assert (page["items"][0]["role"], page["items"][0]["unread"]) == ("INBOX", 3)
    assert page["path"] == [{"id": f"mailbox:{MAILBOX}", "name": "ada@lovelace-labs.ch"}]


def test_a_mailbox_folder_list_pages_by_the_callers_limit(client, bearer, mailbox):
    first = items(client, bearer, parent=f"mailbox:{MAILBOX}", limit=3)
    second = items(client, bearer, parent=f"mailbox:{MAILBOX}", limit=3, cursor=first["nextCursor"])

    assert [i["name"] for i in first["items"] + second["items"]] == [
        "INBOX", "Sent", "Drafts", "Archive", "Trash",
    ]  # fmt: skip
    assert second["nextCursor"] is None


def test_a_folder_lists_its_child_folders_then_its_messages(
    client, bearer, mailbox, requests_mock, recorded
):
    requests_mock.get(messages_url(INBOX), json=recorded("inbox_offset0.json"))

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{INBOX}", limit=10)

    kinds = [(i["kind"], i["name"]) for i in page["items"]]
    assert kinds[0] == ("folder", "Receipts")
    assert all(kind == "file" for kind, _ in kinds[1:])


def test_nested_folders_are_reached_through_their_parents(client, bearer, mailbox, requests_mock):
    requests_mock.get(messages_url(RECEIPTS), json={"result": "success", "data": {"threads": []}})

    receipts = items(client, bearer, parent=f"folder:{MAILBOX}:{RECEIPTS}")

    assert [i["name"] for i in receipts["items"]] == ["2024"]
    assert receipts["path"] == [
        {"id": f"mailbox:{MAILBOX}", "name": "ada@lovelace-labs.ch"},
        {"id": f"folder:{MAILBOX}:{INBOX}", "name": "INBOX"},
        {"id": f"folder:{MAILBOX}:{RECEIPTS}", "name": "Receipts"},
    ]


def test_an_empty_folder_lists_nothing(client, bearer, mailbox, requests_mock, recorded):
    requests_mock.get(messages_url(DRAFTS), json=recorded("empty_messages.json"))

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{DRAFTS}")

    assert page["items"] == [] and page["nextCursor"] is None


def serve_archive(serve):
    """The archive folder: three short pages (two threads while more are asked for), each
    pointing at the next with ``resource_next``; the last one's is null."""
    serve(
        messages_url(ARCHIVE),
        {"0": "archive_offset0.json", "2": "archive_offset2.json", "4": "archive_offset4.json"},
        param="offset",
    )


def test_a_short_page_carrying_resource_next_is_not_the_end(client, bearer, mailbox, serve):
    serve_archive(serve)

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=100)

    assert len(page["items"]) == 2 and page["nextCursor"] is not None


def test_every_thread_of_short_pages_is_reached_by_following_resource_next(
    client, bearer, mailbox, serve, requests_mock
):
    serve_archive(serve)

    names, cursor = [], None
    for _ in range(10):
        query = {"parent": f"folder:{MAILBOX}:{ARCHIVE}", "limit": 100}
        page = items(client, bearer, **query, **({"cursor": cursor} if cursor else {}))
        names += [i["name"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert len(names) == 5 and names[-1] == "Invoice 2024-117.eml"
    listings = [r for r in requests_mock.request_history if r.path.endswith("/message")]
    assert [parse_qs(urlsplit(r.url).query)["offset"] for r in listings] == [["0"], ["2"], ["4"]]
    # The next pages are read as resource_next names them, not rebuilt.
    assert parse_qs(urlsplit(listings[1].url).query) == {"thread": ["on"], "offset": ["2"]}


def test_a_null_resource_next_ends_the_folder(client, bearer, mailbox, requests_mock, recorded):
    requests_mock.get(messages_url(ARCHIVE), json=recorded("archive_offset4.json"))

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=100)

    assert len(page["items"]) == 1 and page["nextCursor"] is None


def test_without_resource_next_a_short_page_is_not_the_end_while_the_folder_counts_more(
    client, bearer, mailbox, requests_mock, recorded
):
    requests_mock.get(
        messages_url(ARCHIVE), json=recorded("archive_offset0_without_resources.json")
    )

    first = items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=100)
    items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", cursor=first["nextCursor"])

    assert len(first["items"]) == 2
    query = parse_qs(urlsplit(requests_mock.last_request.url).query)
    assert (query["offset"], query["limit"]) == (["2"], ["100"])


def test_a_resource_next_outside_the_folder_is_an_upstream_failure(
    client, bearer, mailbox, requests_mock, recorded
):
    answer = recorded("archive_offset0.json")
    answer["data"]["resource_next"] = f"/api/mail/{MAILBOX}/folder/{INBOX}/message?offset=2"
    requests_mock.get(messages_url(ARCHIVE), json=answer)

    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items",
        query_string={"parent": f"folder:{MAILBOX}:{ARCHIVE}"},
    )

    assert response.status_code == 502


def test_an_unknown_folder_is_404(client, bearer, mailbox):
    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items",
        query_string={"parent": f"folder:{MAILBOX}:nope"},
    )

    assert response.status_code == 404


# -- messages ----------------------------------------------------------------------------------


def test_messages_are_read_across_three_pages(client, bearer, mailbox, serve):
    serve_archive(serve)

    names, cursor, pages = [], None, 0
    while True:
        query = {"parent": f"folder:{MAILBOX}:{ARCHIVE}", "limit": 2}
        page = items(client, bearer, **query, **({"cursor": cursor} if cursor else {}))
        names += [i["name"] for i in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert pages == 3
    assert names == [
        "Difference engine_ parts list.eml",
        "Notes on the Analytical Engine.eml",
        "Re_ Bernoulli numbers.eml",
        "Dinner on Thursday_.eml",
        "Invoice 2024-117.eml",
    ]


def test_message_pages_ask_at_most_200_with_threads_on(
    client, bearer, mailbox, requests_mock, recorded
):
    requests_mock.get(messages_url(ARCHIVE), json=recorded("archive_offset4.json"))

    items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=1000)

    (listing,) = [r for r in requests_mock.request_history if r.path.endswith("/message")]
    assert parse_qs(urlsplit(listing.url).query) == {
        "offset": ["0"],
        "thread": ["on"],
        "limit": ["200"],
    }


def test_a_message_is_a_file_item(client, bearer, mailbox, requests_mock, recorded):
    requests_mock.get(messages_url(ARCHIVE), json=recorded("archive_offset0.json"))

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=1)

    assert page["items"][0] == {
        "id": f"message:{MAILBOX}:{ARCHIVE}:101",
        "name": "Difference engine_ parts list.eml",
        "kind": "file",
        "size": 4211,
        "mimeType": "message/rfc822",
        "modifiedAt": "2024-09-02T06:15:00Z",
        "subject": "Difference engine: parts list",
        "from": "Charles Babbage <charles@babbage.example>",
        "seen": True,
        "hasAttachments": False,
    }


def test_a_conversation_shows_only_its_messages_filed_in_this_folder(
    client, bearer, mailbox, requests_mock, recorded
):
    requests_mock.get(messages_url(INBOX), json=recorded("inbox_offset0.json"))

    page = items(client, bearer, parent=f"folder:{MAILBOX}:{INBOX}", limit=10)

    ids = [i["id"] for i in page["items"] if i["kind"] == "file"]
    assert ids == [f"message:{MAILBOX}:{INBOX}:{uid}" for uid in (201, 202, 203)]


def test_a_page_can_end_inside_a_conversation(client, bearer, mailbox, requests_mock, recorded):
    requests_mock.get(messages_url(INBOX), json=recorded("inbox_offset0.json"))

    first = items(client, bearer, parent=f"folder:{MAILBOX}:{INBOX}", limit=2)
    second = items(
        client, bearer, parent=f"folder:{MAILBOX}:{INBOX}", limit=2, cursor=first["nextCursor"]
    )

    ids = [i["id"].rsplit(":", 1)[-1] for i in first["items"] + second["items"]]
    assert ids == [RECEIPTS, "201", "202", "203"]
    assert second["nextCursor"] is None


@pytest.mark.parametrize(
    "cursor", ["m:x:0", "f:-1", "page:2", "m:1", "m:2:0", "m:0:0:*", "m:0:0:b2Zmc2V0PTAjeA"]
)
def test_a_cursor_this_plugin_did_not_make_is_400(client, bearer, mailbox, cursor):
    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items",
        query_string={"parent": f"folder:{MAILBOX}:{ARCHIVE}", "cursor": cursor},
    )

    assert response.status_code == 400


# -- .eml downloads ----------------------------------------------------------------------------


def test_a_message_downloads_as_its_raw_bytes_named_after_its_subject(
    client, bearer, requests_mock, recorded
):
    raw = recorded("message_201.eml")
    requests_mock.get(
        download_url(INBOX, 201),
        content=raw,
        headers={"Content-Type": "message/rfc822", "Content-Length": str(len(raw))},
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items/message:{MAILBOX}:{INBOX}:201/download"
    )

    assert response.status_code == 200 and response.data == raw
    assert response.mimetype == "message/rfc822"
    disposition = response.headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('Réunion _ budget 2025.eml', safe='')}" in disposition


def test_a_message_served_as_octets_is_still_message_rfc822(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(
        download_url(INBOX, 201),
        content=recorded("message_201.eml"),
        headers={"Content-Type": "application/octet-stream"},
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items/message:{MAILBOX}:{INBOX}:201/download"
    )

    assert response.mimetype == "message/rfc822"


def test_a_partial_message_is_named_after_its_uid(client, bearer, requests_mock, recorded):
    raw = recorded("message_201.eml")
    requests_mock.get(
        download_url(INBOX, 201),
        status_code=206,
        content=raw[500:],
        headers={"Content-Range": f"bytes 500-{len(raw) - 1}/{len(raw)}"},
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items/message:{MAILBOX}:{INBOX}:201/download",
        headers={"Range": "bytes=500-"},
    )

    assert response.status_code == 206 and response.data == raw[500:]
    assert 'filename="message-201.eml"' in response.headers["Content-Disposition"]


def test_a_folder_cannot_be_downloaded(client, bearer, requests_mock):
    response = client.get(
        f"/api/integrations/{bearer}/services/mail/items/folder:{MAILBOX}:{INBOX}/download"
    )

    assert response.status_code == 404 and not requests_mock.called


# -- ids and names -----------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["INBOX", "a/b:c", "dossier %é", "x@y"])
def test_mail_ids_keep_any_folder_id(folder):
    assert parse_mail_id(mail_id("folder", MAILBOX, folder)) == ("folder", [MAILBOX, folder])


@pytest.mark.parametrize(
    "subject, name",
    [
        ("Quarterly report: Q3", "Quarterly report_ Q3.eml"),
        ("../../etc/passwd", "_.._etc_passwd.eml"),
        ("  \t Re:\r\n  hello  ", "Re_ hello.eml"),
        ("evil\u202egpj.exe", "evil gpj.exe.eml"),
        ("", "message.eml"),
        (None, "message.eml"),
        ("...", "message.eml"),
        ("CON", "message.eml"),
        ("é" * 300, "é" * 100 + ".eml"),
    ],
)
def test_eml_filenames_are_safe(subject, name):
    assert eml_filename(subject) == name


def test_the_subject_is_read_from_the_streamed_headers_without_losing_a_byte(recorded):
    raw = recorded("message_201.eml")
    chunks = [raw[i : i + 7] for i in range(0, len(raw), 7)]

    headers, stream = peek_headers(chunks)

    assert subject_of(headers) == "Réunion : budget 2025"
    assert b"".join(stream) == raw


@pytest.mark.parametrize("part", ["..", "..;", "%2e%2e", "%252e%252e", "%c0%ae", "\uff0e\uff0e"])
def test_a_message_id_whose_parts_could_leave_their_segment_is_refused(
    client, bearer, requests_mock, part
):
    item_id = f"message:{MAILBOX}:{quote(part, safe='')}:1"

    response = client.get(f"/api/integrations/{bearer}/services/mail/items/{item_id}/download")

    assert response.status_code == 400, response.get_json()
    assert "itemId" in response.get_json()["error"]["fields"]
    assert not requests_mock.called


def test_a_message_with_attachments_opens_in_the_api_and_on_the_sources_page(
    client, bearer, mailbox, requests_mock, recorded
):
    requests_mock.get(messages_url(ARCHIVE), json=recorded("archive_offset4.json"))
    page = items(client, bearer, parent=f"folder:{MAILBOX}:{ARCHIVE}", limit=100)
    with_attachments = [i for i in page["items"] if i.get("hasAttachments")]
    without = [i for i in page["items"] if i.get("hasAttachments") is False]
    assert all(i["opens"] is True for i in with_attachments)
    assert all("opens" not in i for i in without)

    listing = client.get(
        f"/integrations/{bearer}/browse/mail",
        query_string={"parent": f"folder:{MAILBOX}:{ARCHIVE}"},
    ).get_data(as_text=True)
    for item in with_attachments:
        link = f'href="/integrations/{bearer}/browse/mail?parent={quote(item["id"], safe=":")}"'
        assert link in listing, item["id"]
