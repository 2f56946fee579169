"""The whole story through the hub's HTTP API: a user connects an Infomaniak account with OAuth,
browses a drive down to a file and downloads it, reads a mailbox folder and downloads a message
as ``.eml`` — requests-mock playing login.infomaniak.com, api.infomaniak.com and
mail.infomaniak.com with recorded answers."""

from __future__ import annotations

from urllib.parse import quote

import pytest

API = "https://api.infomaniak.com"
MAIL = "https://mail.infomaniak.com"
DRIVE = 140946
MAILBOX = "3b1f4f0e-8a2c-4c57-9d1e-2f6a7b8c9d01"
INBOX = "eJzz9HPx8wcABkkCCQ"
CONTENT = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def infomaniak(requests_mock, recorded, serve):
    """Infomaniak's API and mail hosts, answering with recorded bodies (under ``api`` and
    ``mail`` base URLs that a test may move)."""

    def play(api: str = API, mail: str = MAIL) -> None:
        requests_mock.get(f"{api}/2/drive/users/current/drives", json=recorded("drives.json"))
        serve(
            f"{api}/3/drive/{DRIVE}/files/1/files",
            {
                None: "root_page1.json",
                "eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9": "root_page2.json",
                "eyJpZCI6MjEsIm5hbWUiOiJidWRnZXQgMjAyNS54bHN4In0": "root_page3.json",
            },
        )
        serve(f"{api}/3/drive/{DRIVE}/files/5/files", {None: "documents_page1.json"})
        serve(
            f"{api}/3/drive/{DRIVE}/files/7/files",
            {
                None: "reports_page1.json",
                "eyJpZCI6NDIsIm5hbWUiOiJxMyByZXBvcnQucGRmIn0": "reports_page2.json",
            },
        )
        requests_mock.get(f"{api}/3/drive/{DRIVE}/files/5", json=recorded("file_documents.json"))
        requests_mock.get(f"{api}/3/drive/{DRIVE}/files/7", json=recorded("file_reports.json"))
        requests_mock.get(
            f"{api}/2/drive/{DRIVE}/files/42/download",
            content=CONTENT,
            headers={
                "Content-Type": "application/pdf",
                "Content-Length": str(len(CONTENT)),
                "Content-Disposition": "attachment; filename*=UTF-8''Q3%20report.pdf",
            },
        )
        requests_mock.get(f"{mail}/api/mailbox", json=recorded("mailboxes.json"))
        requests_mock.get(f"{mail}/api/mail/{MAILBOX}/folder", json=recorded("folders.json"))
        serve(
            f"{mail}/api/mail/{MAILBOX}/folder/{INBOX}/message",
            {"0": "inbox_offset0.json"},
            param="offset",
        )
        raw = recorded("message_201.eml")
        requests_mock.get(
            f"{mail}/api/mail/{MAILBOX}/folder/{INBOX}/message/201/download",
            content=raw,
            headers={"Content-Type": "message/rfc822", "Content-Length": str(len(raw))},
        )

    return play


def every_item(client, ref, service, parent=None, limit=100):
    """Every item of a folder, following the cursors to the end."""
    found, cursor = [], None
    for _ in range(50):
        query = {"limit": limit, **({"parent": parent} if parent else {})}
        if cursor:
            query["cursor"] = cursor
        response = client.get(
            f"/api/integrations/{ref}/services/{service}/items", query_string=query
        )
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        found += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return found
    raise AssertionError("the cursors never ended")


def named(items, name):
    (item,) = [i for i in items if i["name"] == name]
    return item


def download(client, ref, service, item):
    return client.get(
        f"/api/integrations/{ref}/services/{service}/items/{quote(item['id'])}/download"
    )


def browse_to_the_report_and_a_message(client, ref):
    drive = named(every_item(client, ref, "kdrive"), "Lovelace Labs")
    root = every_item(client, ref, "kdrive", drive["id"], limit=2)
    documents = every_item(client, ref, "kdrive", named(root, "Documents")["id"])
    reports = every_item(client, ref, "kdrive", named(documents, "Reports")["id"], limit=2)
    report = download(client, ref, "kdrive", named(reports, "Q3 report.pdf"))

    mailbox = named(every_item(client, ref, "mail"), "ada@lovelace-labs.ch")
    inbox = named(every_item(client, ref, "mail", mailbox["id"]), "INBOX")
    messages = every_item(client, ref, "mail", inbox["id"], limit=3)
    message = download(client, ref, "mail", named(messages, "Réunion _ budget 2025.eml"))
    return root, report, messages, message


def test_connect_browse_download_and_read_mail_through_the_hub(
    client, oauth_integration, connect, infomaniak, recorded, requests_mock
):
    integration = oauth_integration()
    assert connect(integration).status_code == 303
    infomaniak()

    root, report, messages, message = browse_to_the_report_and_a_message(client, integration["id"])

    assert [i["name"] for i in root] == [
        "Common documents", "Documents", "Photos", "Budget 2025.xlsx", "README.md",
    ]  # fmt: skip
    assert report.status_code == 200 and report.data == CONTENT
    assert report.mimetype == "application/pdf"
    assert [i["kind"] for i in messages] == ["folder", "file", "file", "file"]
    assert message.status_code == 200 and message.data == recorded("message_201.eml")
    assert message.mimetype == "message/rfc822"
    assert "R%C3%A9union%20_%20budget%202025.eml" in message.headers["Content-Disposition"]
    api_calls = [r for r in requests_mock.request_history if "infomaniak.com/api" in r.url]
    assert {r.headers["Authorization"] for r in api_calls} == {"Bearer ik-access-1"}


def test_the_services_say_they_can_be_browsed_and_downloaded(client, create_integration):
    integration = create_integration()

    services = client.get(f"/api/integrations/{integration['id']}/services").get_json()["items"]

    assert [(s["name"], s["browsable"], s["downloadable"]) for s in services] == [
        ("kdrive", True, True),
        ("mail", True, True),
    ]


def test_a_personal_api_token_reaches_the_same_services(client, bearer, infomaniak, recorded):
    infomaniak()

    _, report, _, message = browse_to_the_report_and_a_message(client, bearer)

    assert report.data == CONTENT and message.data == recorded("message_201.eml")


def test_the_api_and_mail_hosts_can_be_overridden(
    client, create_integration, infomaniak, requests_mock, recorded
):
    api, mail = "https://api.preprod.example.com", "https://mail.preprod.example.com"
    integration = create_integration(
        authType="bearer", settings={"endpoints": {"api": api, "mail": mail}}
    )
    client.post(f"/api/integrations/{integration['id']}/connection", json={"token": "t"})
    infomaniak(api=api, mail=mail)

    _, report, _, message = browse_to_the_report_and_a_message(client, integration["id"])

    assert report.data == CONTENT and message.data == recorded("message_201.eml")
    hosts = {r.hostname for r in requests_mock.request_history}
    assert hosts == {"api.preprod.example.com", "mail.preprod.example.com"}


def test_the_preview_shows_drives_and_mailboxes(client, bearer, infomaniak):
    infomaniak()

    tree = client.get(f"/api/integrations/{bearer}/preview").get_json()

    kdrive, mail = tree["services"]
    assert [i["name"] for i in kdrive["items"]] == ["Lovelace Labs", "Analytical Engine"]
    assert [i["name"] for i in mail["items"]] == ["ada@lovelace-labs.ch", "info@lovelace-labs.ch"]
