"""Downloading from the ``files`` service through the hub's HTTP API: WebDAV ``GET``, names
with reserved characters, ``Range`` passed through, and what a failing download becomes."""

from __future__ import annotations

import pytest

SERVER = "https://pf.example.org"
HTML = {"Content-Type": "text/html; charset=utf-8"}


# -- downloads -------------------------------------------------------------------------------


def test_a_file_is_downloaded_by_webdav_get(client, basic_integration, requests_mock, download_url):
    content = bytes(range(256)) * 3
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/report%202024.pdf",
        content=content,
        headers={"Content-Type": "application/pdf", "Content-Length": str(len(content))},
    )

    response = client.get(download_url(basic_integration, "Team Docs/report 2024.pdf"))

    assert (response.status_code, response.data) == (200, content)
    assert response.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''report%202024.pdf" in response.headers["Content-Disposition"]


def test_a_unicode_name_with_reserved_characters_is_downloaded(
    client, basic_integration, requests_mock, download_url
):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/Plans/Q1%202024/budget%20%2350%25%3F.csv", content=b"a,b\n"
    )
    requests_mock.get(
        f"{SERVER}/webdav/Fotos%20Gr%C3%BC%C3%9Fe/Caf%C3%A9%20na%C3%AFve%20%F0%9F%98%80.jpg",
        content=b"\xff\xd8jpeg",
    )

    csv = client.get(download_url(basic_integration, "Team Docs/Plans/Q1 2024/budget #50%?.csv"))
    jpg = client.get(download_url(basic_integration, "Fotos Grüße/Café naïve 😀.jpg"))

    assert (csv.status_code, csv.data) == (200, b"a,b\n")
    assert (jpg.status_code, jpg.data) == (200, b"\xff\xd8jpeg")


def test_a_range_is_passed_through_and_a_206_returned(
    client, basic_integration, requests_mock, download_url
):
    get = requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/notes.txt",
        status_code=206,
        content=b"llo",
        headers={"Content-Range": "bytes 2-4/11", "Content-Length": "3"},
    )

    response = client.get(
        download_url(basic_integration, "Team Docs/notes.txt"), headers={"Range": "bytes=2-4"}
    )

    assert get.last_request.headers["Range"] == "bytes=2-4"
    assert (response.status_code, response.data) == (206, b"llo")
    assert response.headers["Content-Range"] == "bytes 2-4/11"


def test_no_range_is_sent_when_none_was_asked_for(
    client, basic_integration, requests_mock, download_url
):
    get = requests_mock.get(f"{SERVER}/webdav/Team%20Docs/notes.txt", content=b"hello world")

    client.get(download_url(basic_integration, "Team Docs/notes.txt"))

    assert "Range" not in get.last_request.headers


def test_a_range_beyond_the_end_is_a_416(client, basic_integration, requests_mock, download_url):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/notes.txt",
        status_code=416,
        headers={"Content-Range": "bytes */11"},
    )

    response = client.get(
        download_url(basic_integration, "Team Docs/notes.txt"), headers={"Range": "bytes=50-"}
    )

    assert (response.status_code, response.headers["Content-Range"]) == (416, "bytes */11")


def test_an_html_file_is_downloaded_as_a_file(
    client, basic_integration, requests_mock, download_url
):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/index.html", content=b"<html>hi</html>", headers=HTML
    )

    response = client.get(download_url(basic_integration, "Team Docs/index.html"))

    assert (response.status_code, response.data) == (200, b"<html>hi</html>")
    assert "sandbox" in response.headers["Content-Security-Policy"]


# -- a download that is moved, refused or fails ----------------------------------------------


def test_a_download_moved_on_the_same_server_is_followed(
    client, basic_integration, requests_mock, download_url
):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/notes.txt",
        status_code=307,
        headers={"Location": "/files/blob/42?name=notes.txt"},
    )
    requests_mock.get(f"{SERVER}/files/blob/42?name=notes.txt", content=b"hello world")

    response = client.get(download_url(basic_integration, "Team Docs/notes.txt"))

    assert (response.status_code, response.data) == (200, b"hello world")


def test_a_login_page_instead_of_a_file_asks_to_reconnect(
    client, oauth_integration, requests_mock, recorded, download_url
):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/report%202024.pdf",
        content=recorded("login.html"),
        headers=HTML,
    )

    response = client.get(download_url(oauth_integration, "Team Docs/report 2024.pdf"))

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")


@pytest.mark.parametrize("status, hub_status", [(404, 404), (403, 403), (500, 502), (503, 502)])
def test_download_errors_map_to_the_hubs_errors(
    client, basic_integration, requests_mock, monkeypatch, status, hub_status, download_url
):
    monkeypatch.setattr("hub.context.time.sleep", lambda _: None)
    requests_mock.get(f"{SERVER}/webdav/Team%20Docs/x.bin", status_code=status)

    response = client.get(download_url(basic_integration, "Team Docs/x.bin"))

    assert response.status_code == hub_status
