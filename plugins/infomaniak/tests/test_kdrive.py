"""The ``kdrive`` service through the hub's HTTP API, against recorded kDrive answers."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from hub_infomaniak.kdrive import guess_mime_type

API = "https://api.infomaniak.com"
DRIVE = 140946
DRIVES = f"{API}/2/drive/users/current/drives"
ROOT = f"{API}/3/drive/{DRIVE}/files/1/files"
REPORTS = f"{API}/3/drive/{DRIVE}/files/7/files"
DOWNLOAD = f"{API}/2/drive/{DRIVE}/files/42/download"
CONTENT = bytes(range(256)) * 40  # 10240 bytes, every byte value


def items(client, ref, **query):
    response = client.get(f"/api/integrations/{ref}/services/kdrive/items", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def query_of(request):
    return parse_qs(urlsplit(request.url).query)


def serve_root(serve):
    serve(
        ROOT,
        {
            None: "root_page1.json",
            "eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9": "root_page2.json",
            "eyJpZCI6MjEsIm5hbWUiOiJidWRnZXQgMjAyNS54bHN4In0": "root_page3.json",
        },
    )


def serve_reports(serve, requests_mock, recorded):
    serve(
        REPORTS,
        {
            None: "reports_page1.json",
            "eyJpZCI6NDIsIm5hbWUiOiJxMyByZXBvcnQucGRmIn0": "reports_page2.json",
        },
    )
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/7", json=recorded("file_reports.json"))
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/5", json=recorded("file_documents.json"))
    requests_mock.get(DRIVES, json=recorded("drives.json"))


# -- drives ------------------------------------------------------------------------------------


def test_the_top_level_lists_every_drive_as_a_folder(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, json=recorded("drives.json"))

    page = items(client, bearer)

    assert [(i["id"], i["name"], i["kind"]) for i in page["items"]] == [
        ("140946:1", "Lovelace Labs", "folder"),
        ("287311:1", "Analytical Engine", "folder"),
    ]
    assert page["items"][0]["account"] == "Lovelace Labs SA"
    assert page["nextCursor"] is None and page["path"] == []


def test_the_drive_list_asks_for_the_drives_of_users_and_admins(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(DRIVES, json=recorded("drives.json"))

    items(client, bearer)

    query = query_of(requests_mock.last_request)
    assert query["roles[]"] == ["admin", "user"] and query["with"] == ["drive,drive.account"]
    assert requests_mock.last_request.headers["Authorization"] == "Bearer personal-token"


def test_the_older_drive_list_shape_with_the_account_at_the_top_is_read(
    client, bearer, requests_mock, recorded
):
    requests_mock.get(DRIVES, json=recorded("drives_account_at_top.json"))

    page = items(client, bearer)

    assert [(i["name"], i["account"]) for i in page["items"]] == [
        ("Lovelace Labs", "Lovelace Labs SA"),
        ("Analytical Engine", "Babbage & Co"),
    ]


def test_the_drive_list_follows_v2_pages(client, bearer, serve):
    serve(DRIVES, {"1": "drives_page1_of2.json", "2": "drives_page2_of2.json"}, param="page")

    first = items(client, bearer, limit=1)
    second = items(client, bearer, limit=1, cursor=first["nextCursor"])

    assert [i["name"] for i in first["items"] + second["items"]] == [
        "Lovelace Labs",
        "Analytical Engine",
    ]
    assert second["nextCursor"] is None


def test_an_account_without_drives_lists_nothing(client, bearer, requests_mock, recorded):
    requests_mock.get(DRIVES, json=recorded("drives_empty.json"))

    assert items(client, bearer)["items"] == []


# -- folders -----------------------------------------------------------------------------------


def test_the_root_is_read_across_its_cursor_pages(client, bearer, serve, requests_mock, recorded):
    serve_root(serve)
    requests_mock.get(DRIVES, json=recorded("drives.json"))

    names, cursor = [], None
    for _ in range(3):
        page = items(
            client, bearer, parent="140946:1", limit=3, **({"cursor": cursor} if cursor else {})
        )
        names += [i["name"] for i in page["items"]]
        cursor = page["nextCursor"]

    assert names == ["Common documents", "Documents", "Photos", "Budget 2025.xlsx", "README.md"]
    assert cursor is None


def test_a_cursor_is_passed_to_kdrive_untouched(client, bearer, serve, requests_mock):
    serve_root(serve)

    items(client, bearer, parent="140946:1", limit=3, cursor="eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9")

    query = query_of(requests_mock.last_request)
    assert query == {
        "limit": ["3"],
        "with": ["path"],
        "cursor": ["eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9"],
    }


def test_trashed_items_are_hidden(client, bearer, serve):
    serve_root(serve)

    page = items(client, bearer, parent="140946:1", cursor="eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9")

    assert "old draft.txt" not in [i["name"] for i in page["items"]]


def test_items_carry_the_drive_in_their_ids_and_kdrive_metadata(client, bearer, serve):
    serve_root(serve)

    page = items(client, bearer, parent="140946:1", cursor="eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9")

    photos, budget = page["items"]
    assert (photos["id"], photos["kind"], photos["size"]) == ("140946:9", "folder", None)
    assert budget == {
        "id": "140946:21",
        "name": "Budget 2025.xlsx",
        "kind": "file",
        "size": 48213,
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "modifiedAt": "2024-11-07T17:20:00Z",
        "path": "/Budget 2025.xlsx",
    }


def test_a_file_without_mime_type_gets_one_guessed_from_its_name(client, bearer, serve):
    serve_root(serve)

    page = items(client, bearer, parent="140946:1", cursor="eyJpZCI6NSwibmFtZSI6ImRvY3VtZW50cyJ9")

    assert page["items"][1]["mimeType"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"name": "Q3 report.pdf", "extension_type": "pdf"}, "application/pdf"),
        ({"name": "scan", "extension_type": "pdf"}, "application/pdf"),
        ({"name": "notes", "extension_type": "text"}, "text/plain"),
        ({"name": "photo", "extension_type": "image"}, None),
        ({"name": "a.pdf", "mime_type": "application/x-custom"}, "application/x-custom"),
    ],
)
def test_the_mime_type_comes_from_kdrive_then_the_name_then_the_kind(entry, expected):
    assert guess_mime_type(entry) == expected


def test_the_root_breadcrumb_is_the_drive(client, bearer, serve, requests_mock, recorded):
    serve_root(serve)
    requests_mock.get(DRIVES, json=recorded("drives.json"))

    page = items(client, bearer, parent="140946:1")

    assert page["path"] == [{"id": "140946:1", "name": "Lovelace Labs"}]


def test_a_nested_folder_is_read_across_its_pages_without_trashed_files(
    client, bearer, serve, requests_mock, recorded
):
    serve_reports(serve, requests_mock, recorded)

    first = items(client, bearer, parent="140946:7", limit=2)
    second = items(client, bearer, parent="140946:7", limit=2, cursor=first["nextCursor"])

    assert [i["name"] for i in first["items"]] == ["2024", "Q3 report.pdf"]
    assert [i["name"] for i in second["items"]] == ["Q4 report.pdf"]
    assert second["nextCursor"] is None


def test_a_nested_folder_has_breadcrumbs_from_the_drive_down(
    client, bearer, serve, requests_mock, recorded
):
    serve_reports(serve, requests_mock, recorded)

    page = items(client, bearer, parent="140946:7")

    assert page["path"] == [
        {"id": "140946:1", "name": "Lovelace Labs"},
        {"id": "140946:5", "name": "Documents"},
        {"id": "140946:7", "name": "Reports"},
    ]


def test_breadcrumbs_are_left_out_when_kdrive_cannot_tell(client, bearer, serve, requests_mock):
    serve(REPORTS, {None: "reports_page1.json"})
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/7", status_code=500, text="oops")

    page = items(client, bearer, parent="140946:7")

    assert page["path"] == [] and len(page["items"]) == 2


def test_a_folder_that_is_gone_is_404(client, bearer, requests_mock, recorded):
    requests_mock.get(
        f"{API}/3/drive/{DRIVE}/files/999/files",
        status_code=404,
        json=recorded("error_object_not_found.json"),
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/kdrive/items", query_string={"parent": "140946:999"}
    )

    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "parent",
    ["140946", "abc:1", "1:2:3", "mailbox:x", "1:2\n", "1:" + "9" * 4000, "9" * 19 + ":1"],
)
def test_an_id_that_is_not_a_kdrive_item_is_404_without_calling_infomaniak(
    client, bearer, requests_mock, parent
):
    response = client.get(
        f"/api/integrations/{bearer}/services/kdrive/items", query_string={"parent": parent}
    )

    assert response.status_code == 404 and not requests_mock.called


# -- downloads ---------------------------------------------------------------------------------


def test_a_download_of_an_id_with_thousands_of_digits_is_404_not_500(client, bearer, requests_mock):
    huge = "1:" + "9" * 5000  # past what int() parses by default

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/{huge}/download")

    assert response.status_code == 404 and not requests_mock.called
    assert len(response.json["error"]["message"]) < 200


def test_a_download_streams_the_file_with_its_name(client, bearer, requests_mock):
    requests_mock.get(
        DOWNLOAD,
        content=CONTENT,
        headers={
            "Content-Type": "application/pdf",
            "Content-Length": str(len(CONTENT)),
            "Content-Disposition": "attachment; filename*=UTF-8''Q3%20report.pdf",
        },
    )

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download")

    assert response.status_code == 200 and response.data == CONTENT
    assert response.mimetype == "application/pdf"
    assert "filename*=UTF-8''Q3%20report.pdf" in response.headers["Content-Disposition"]


def test_a_download_keeps_the_exact_name_the_provider_gave_in_filename_star(
    client, bearer, requests_mock
):
    requests_mock.get(
        DOWNLOAD,
        content=CONTENT,
        headers={
            "Content-Type": "text/plain",
            "Content-Disposition": (
                'attachment; filename="R_sum_ _final_.txt"; '
                "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.txt"
            ),
        },
    )

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download")

    disposition = response.headers["Content-Disposition"]
    exact = quote('Résumé "final".txt', safe="")
    assert f"filename*=UTF-8''{exact}" in disposition and response.data == CONTENT


def test_a_download_without_a_name_takes_it_from_the_file(client, bearer, requests_mock, recorded):
    requests_mock.get(DOWNLOAD, content=CONTENT, headers={"Content-Type": "application/pdf"})
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/42", json=recorded("file_q3_report.json"))

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download")

    assert "filename*=UTF-8''Q3%20report.pdf" in response.headers["Content-Disposition"]
    assert response.data == CONTENT


def test_a_range_is_passed_through_and_answered_206(client, bearer, requests_mock):
    requests_mock.get(
        DOWNLOAD,
        status_code=206,
        content=CONTENT[100:200],
        headers={
            "Content-Type": "application/pdf",
            "Content-Range": f"bytes 100-199/{len(CONTENT)}",
            "Content-Length": "100",
            "Content-Disposition": 'attachment; filename="Q3 report.pdf"',
        },
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download",
        headers={"Range": "bytes=100-199"},
    )

    assert requests_mock.last_request.headers["Range"] == "bytes=100-199"
    assert response.status_code == 206 and response.data == CONTENT[100:200]
    assert response.headers["Content-Range"] == "bytes 100-199/10240"


def test_a_redirect_to_storage_is_followed_without_the_token(client, bearer, requests_mock):
    storage = "https://storage4.infomaniak.com/dl/140946/42?signature=abc"
    requests_mock.get(DOWNLOAD, status_code=302, headers={"Location": storage})
    requests_mock.get(
        storage,
        content=CONTENT,
        headers={"Content-Disposition": 'attachment; filename="Q3 report.pdf"'},
    )

    response = client.get(
        f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download",
        headers={"Range": "bytes=0-"},
    )

    assert response.data == CONTENT
    final = requests_mock.last_request
    assert "Authorization" not in final.headers and final.headers["Range"] == "bytes=0-"


def test_a_missing_file_is_404(client, bearer, requests_mock, recorded):
    requests_mock.get(DOWNLOAD, status_code=404, json=recorded("error_object_not_found.json"))

    response = client.get(f"/api/integrations/{bearer}/services/kdrive/items/140946:42/download")

    assert response.status_code == 404
    assert "object_not_found" in response.get_json()["error"]["message"]
