"""The ``files`` service through the hub's HTTP API, against recorded PowerFolder answers:
the top level (the folder API with a password, the WebDAV root with a token), WebDAV listings,
downloads, and what a failing server turns into."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

SERVER = "https://pf.example.org"
FOLDERS = f"{SERVER}/api/folders?action=getAll"
WEBDAV_ROOT = f"{SERVER}/webdav/"
XML = {"Content-Type": 'application/xml; charset="utf-8"'}
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def browse(client, integration, parent=None, **query):
    """``GET …/services/files/items`` of ``parent`` (the top level when ``None``)."""
    if parent is not None:
        query["parent"] = parent
    url = f"/api/integrations/{integration['id']}/services/files/items"
    return client.get(url, query_string=query)


def download_url(integration, item_id):
    path = quote(item_id, safe="/")
    return f"/api/integrations/{integration['id']}/services/files/items/{path}/download"


def propfind(requests_mock, path, body, status=207, headers=XML):
    return requests_mock.register_uri(
        "PROPFIND", f"{SERVER}/webdav/{path}", content=body, status_code=status, headers=headers
    )


# -- the top level with a username and password: the folder API ------------------------------


def test_the_top_level_is_the_accounts_folders(client, basic_integration, requests_mock, recorded):
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    page = browse(client, basic_integration).json

    assert [(i["id"], i["name"], i["kind"]) for i in page["items"]] == [
        ("Empty", "Empty", "folder"),
        ("Fotos Grüße", "Fotos Grüße", "folder"),
        ("$mail_attachments", "Mail attachments", "folder"),
        ("Team Docs", "Team Docs", "folder"),
    ]


def test_a_top_level_folder_carries_its_powerfolder_id(
    client, basic_integration, requests_mock, recorded
):
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    team = browse(client, basic_integration).json["items"][3]

    assert team["folderId"] == "Xy9aB3kLmN0pQ"


def test_the_folder_id_comes_from_the_resource_url_when_there_is_no_folder_id(
    client, basic_integration, requests_mock
):
    folder = {"name": "A", "internalName": "A", "resourceURL": f"{SERVER}/files/Zz9"}
    requests_mock.get(FOLDERS, json={"ResultSet": {"Result": [folder]}})

    assert browse(client, basic_integration).json["items"][0]["folderId"] == "Zz9"


def test_a_folder_without_an_internal_name_is_addressed_by_its_name(
    client, basic_integration, requests_mock
):
    requests_mock.get(FOLDERS, json={"ResultSet": {"Result": [{"name": "Old"}]}})

    assert [(i["id"], i["name"]) for i in browse(client, basic_integration).json["items"]] == [
        ("Old", "Old")
    ]


def test_a_folder_name_with_a_control_character_shows_its_internal_name(
    client, basic_integration, requests_mock
):
    folder = {"name": "Fake\r\nline", "internalName": "real"}
    requests_mock.get(FOLDERS, json={"ResultSet": {"Result": [folder]}})

    assert [(i["id"], i["name"]) for i in browse(client, basic_integration).json["items"]] == [
        ("real", "real")
    ]


def test_a_folder_opens_by_its_internal_name(client, basic_integration, requests_mock, recorded):
    listing = propfind(
        requests_mock, "%24mail_attachments/", recorded("propfind_mail_attachments.xml")
    )

    page = browse(client, basic_integration, "$mail_attachments").json

    assert listing.called
    assert page["path"] == [{"id": "$mail_attachments", "name": "Mail attachments"}]
    assert [i["id"] for i in page["items"]] == ["$mail_attachments/invoice (1)+copy.pdf"]


def test_the_top_level_has_no_breadcrumbs(client, basic_integration, requests_mock, recorded):
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    assert browse(client, basic_integration).json["path"] == []


def test_basic_credentials_are_sent_to_the_folder_list(
    client, basic_integration, requests_mock, recorded
):
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    browse(client, basic_integration)

    sent = requests_mock.last_request.headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"alice@example.org:pf password").decode()


# -- the top level with a token: the WebDAV root --------------------------------------------


def test_an_oauth_connection_lists_the_webdav_root_not_the_folder_api(
    client, oauth_integration, requests_mock, recorded
):
    root = propfind(requests_mock, "", recorded("propfind_root.xml"))
    folders = requests_mock.get(FOLDERS, status_code=401)

    response = browse(client, oauth_integration)

    assert response.status_code == 200, response.json
    assert (root.last_request.headers["Depth"], folders.called) == ("1", False)
    assert root.last_request.headers["Authorization"] == "Bearer pf-access-1"


def test_the_webdav_root_lists_folders_by_display_name_with_their_internal_ids(
    client, oauth_integration, requests_mock, recorded
):
    propfind(requests_mock, "", recorded("propfind_root.xml"))

    page = browse(client, oauth_integration).json

    assert [(i["id"], i["name"], i["kind"]) for i in page["items"]] == [
        ("Empty", "Empty", "folder"),
        ("Fotos Grüße", "Fotos Grüße", "folder"),
        ("$mail_attachments", "Mail attachments", "folder"),
        ("Team Docs", "Team Docs", "folder"),
    ]
    assert page["path"] == []


def test_a_server_under_a_sub_path_lists_its_webdav_root_there(
    client, create, requests_mock, recorded
):
    integration = create(settings={"serverUrl": f"{SERVER}/powerfolder"})
    requests_mock.post(f"{SERVER}/powerfolder/oauth/token", content=recorded("token.json"))
    started = client.get(f"/api/integrations/{integration['id']}/connect")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get("/oauth2/callback", query_string={"state": state, "code": "c"})
    body = recorded("propfind_root.xml").replace(b"/webdav/", b"/powerfolder/webdav/")
    requests_mock.register_uri(
        "PROPFIND", f"{SERVER}/powerfolder/webdav/", content=body, status_code=207
    )

    names = [i["name"] for i in browse(client, integration).json["items"]]

    assert names == ["Empty", "Fotos Grüße", "Mail attachments", "Team Docs"]


def test_a_single_folder_given_as_an_object_is_listed(client, basic_integration, requests_mock):
    requests_mock.get(FOLDERS, json={"ResultSet": {"Result": {"name": "Solo", "folderID": "x"}}})

    assert [i["id"] for i in browse(client, basic_integration).json["items"]] == ["Solo"]


def test_a_folder_list_without_a_result_set_is_a_502(client, basic_integration, requests_mock):
    requests_mock.get(FOLDERS, json={"unexpected": True})

    response = browse(client, basic_integration)

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")


# -- inside a folder: WebDAV PROPFIND --------------------------------------------------------


def test_a_folder_is_listed_with_propfind_depth_1(
    client, basic_integration, requests_mock, recorded
):
    listing = propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml"))

    assert browse(client, basic_integration, "Team Docs").status_code == 200
    assert listing.last_request.headers["Depth"] == "1"
    # Like the working client: no body, so the server answers every property (allprop).
    assert not listing.last_request.body


def test_a_folder_lists_its_children_folders_first_not_itself(
    client, basic_integration, requests_mock, recorded
):
    propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml"))

    page = browse(client, basic_integration, "Team Docs").json

    assert [(i["id"], i["kind"]) for i in page["items"]] == [
        ("Team Docs/Plans", "folder"),
        ("Team Docs/notes.txt", "file"),
        ("Team Docs/report 2024.pdf", "file"),
    ]


def test_a_files_size_type_and_date_are_listed(client, basic_integration, requests_mock, recorded):
    propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml"))

    report = browse(client, basic_integration, "Team Docs").json["items"][2]

    assert report == {
        "id": "Team Docs/report 2024.pdf",
        "name": "report 2024.pdf",
        "kind": "file",
        "size": 18,
        "mimeType": "application/pdf",
        "modifiedAt": "2024-03-05T09:30:00Z",
    }


def test_nested_folders_are_listed_with_their_breadcrumbs(
    client, basic_integration, requests_mock, recorded
):
    propfind(
        requests_mock, "Team%20Docs/Plans/Q1%202024/", recorded("propfind_team_docs_plans_q1.xml")
    )

    page = browse(client, basic_integration, "Team Docs/Plans/Q1 2024").json

    assert [i["id"] for i in page["items"]] == ["Team Docs/Plans/Q1 2024/budget #50%?.csv"]
    assert page["path"] == [
        {"id": "Team Docs", "name": "Team Docs"},
        {"id": "Team Docs/Plans", "name": "Plans"},
        {"id": "Team Docs/Plans/Q1 2024", "name": "Q1 2024"},
    ]


def test_unicode_and_spaces_are_encoded_on_the_way_out_and_decoded_on_the_way_back(
    client, basic_integration, requests_mock, recorded
):
    listing = propfind(requests_mock, "Fotos%20Gr%C3%BC%C3%9Fe/", recorded("propfind_fotos.xml"))

    page = browse(client, basic_integration, "Fotos Grüße").json

    assert listing.called
    assert [(i["id"], i["kind"]) for i in page["items"]] == [
        ("Fotos Grüße/東京 夜景", "folder"),
        ("Fotos Grüße/Café naïve 😀.jpg", "file"),
    ]


def test_an_empty_folder_is_an_empty_page(client, basic_integration, requests_mock, recorded):
    propfind(requests_mock, "Empty/", recorded("propfind_empty.xml"))

    page = browse(client, basic_integration, "Empty").json

    assert (page["items"], page["nextCursor"]) == ([], None)


def test_hrefs_under_a_proxied_prefix_are_still_matched(client, basic_integration, requests_mock):
    body = (
        b'<d:multistatus xmlns:d="DAV:">'
        b"<d:response><d:href>/pf/webdav/A%20B/</d:href></d:response>"
        b"<d:response><d:href>/pf/webdav/A%20B/c.txt</d:href></d:response>"
        b"</d:multistatus>"
    )
    propfind(requests_mock, "A%20B/", body)

    page = browse(client, basic_integration, "A B").json

    assert [i["id"] for i in page["items"]] == ["A B/c.txt"]


def test_a_server_under_a_sub_path_is_addressed_there(client, create, requests_mock, recorded):
    settings = {"serverUrl": f"{SERVER}/powerfolder"}
    integration = create(authType="basic", clientId=None, clientSecret=None, settings=settings)
    client.post(
        f"/api/integrations/{integration['id']}/connection", json={"username": "u", "password": "p"}
    )
    body = recorded("propfind_empty.xml").replace(b"/webdav/", b"/powerfolder/webdav/")
    listing = requests_mock.register_uri(
        "PROPFIND", f"{SERVER}/powerfolder/webdav/Empty/", content=body, status_code=207
    )

    assert browse(client, integration, "Empty").json["items"] == []
    assert listing.called


# -- paging ----------------------------------------------------------------------------------


def test_a_folder_is_sliced_by_the_callers_limit(
    client, basic_integration, requests_mock, recorded
):
    propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml"))

    first = browse(client, basic_integration, "Team Docs", limit=2).json
    second = browse(
        client, basic_integration, "Team Docs", limit=2, cursor=first["nextCursor"]
    ).json

    assert [i["name"] for i in first["items"]] == ["Plans", "notes.txt"]
    assert [i["name"] for i in second["items"]] == ["report 2024.pdf"]
    assert second["nextCursor"] is None


def test_the_folder_list_is_sliced_too(client, basic_integration, requests_mock, recorded):
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    first = browse(client, basic_integration, limit=2).json
    second = browse(client, basic_integration, limit=2, cursor=first["nextCursor"]).json

    names = [i["name"] for i in first["items"] + second["items"]]
    assert names == ["Empty", "Fotos Grüße", "Mail attachments", "Team Docs"]


@pytest.mark.parametrize("cursor", ["abc", "-1", "1e3", "99999999999"])
def test_a_cursor_this_provider_never_gave_is_a_400(client, basic_integration, cursor):
    response = browse(client, basic_integration, "Team Docs", cursor=cursor)

    assert (response.status_code, response.json["error"]["fields"]) == (400, {"cursor": "bad"})


@pytest.mark.parametrize("parent", ["Team Docs/../../api", "A//B", "./x"])
def test_a_parent_that_could_leave_its_folder_is_a_400(
    client, basic_integration, requests_mock, parent
):
    response = browse(client, basic_integration, parent)

    assert response.status_code == 400 and "parent" in response.json["error"]["fields"]
    assert not requests_mock.called


# -- downloads -------------------------------------------------------------------------------


def test_a_file_is_downloaded_by_webdav_get(client, basic_integration, requests_mock):
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
    client, basic_integration, requests_mock
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


def test_a_range_is_passed_through_and_a_206_returned(client, basic_integration, requests_mock):
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


def test_no_range_is_sent_when_none_was_asked_for(client, basic_integration, requests_mock):
    get = requests_mock.get(f"{SERVER}/webdav/Team%20Docs/notes.txt", content=b"hello world")

    client.get(download_url(basic_integration, "Team Docs/notes.txt"))

    assert "Range" not in get.last_request.headers


def test_a_range_beyond_the_end_is_a_416(client, basic_integration, requests_mock):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/notes.txt",
        status_code=416,
        headers={"Content-Range": "bytes */11"},
    )

    response = client.get(
        download_url(basic_integration, "Team Docs/notes.txt"), headers={"Range": "bytes=50-"}
    )

    assert (response.status_code, response.headers["Content-Range"]) == (416, "bytes */11")


def test_an_html_file_is_downloaded_as_a_file(client, basic_integration, requests_mock):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/index.html", content=b"<html>hi</html>", headers=HTML
    )

    response = client.get(download_url(basic_integration, "Team Docs/index.html"))

    assert (response.status_code, response.data) == (200, b"<html>hi</html>")
    assert "sandbox" in response.headers["Content-Security-Policy"]


# -- a login page instead of data ------------------------------------------------------------


def test_a_login_page_instead_of_the_folder_list_asks_to_reconnect(
    client, basic_integration, requests_mock, recorded
):
    requests_mock.get(FOLDERS, content=recorded("login.html"), headers=HTML)

    response = browse(client, basic_integration)

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")
    assert "login page" in response.json["error"]["message"]


def test_a_login_page_without_a_content_type_is_recognised(
    client, basic_integration, requests_mock, recorded
):
    requests_mock.get(FOLDERS, content=recorded("login.html"), headers={"Content-Type": ""})

    response = browse(client, basic_integration)

    assert response.json["error"]["code"] == "reauth_required"
    assert "username and password" in response.json["error"]["message"]


def test_a_login_page_instead_of_a_listing_asks_to_reconnect(
    client, oauth_integration, requests_mock, recorded
):
    propfind(requests_mock, "Team%20Docs/", recorded("login.html"), status=200, headers=HTML)

    response = browse(client, oauth_integration, "Team Docs")

    assert response.json["error"]["code"] == "reauth_required"


@pytest.mark.parametrize("location", [f"{SERVER}/login?originalURI=/api/folders", "/login"])
def test_a_redirect_to_the_login_page_asks_to_reconnect(
    client, oauth_integration, requests_mock, location
):
    propfind(requests_mock, "", b"", status=302, headers={"Location": location})

    response = browse(client, oauth_integration)

    assert response.json["error"]["code"] == "reauth_required"
    assert "login page" in response.json["error"]["message"]


def test_a_redirect_on_the_same_server_is_followed_with_the_credentials(
    client, oauth_integration, requests_mock, recorded
):
    requests_mock.register_uri(
        "PROPFIND",
        f"{SERVER}/webdav/Empty/",
        status_code=301,
        headers={"Location": f"{SERVER}/webdav/Empty"},
    )
    moved = requests_mock.register_uri(
        "PROPFIND",
        f"{SERVER}/webdav/Empty",
        status_code=207,
        content=recorded("propfind_empty.xml"),
    )

    response = browse(client, oauth_integration, "Empty")

    assert (response.status_code, response.json["items"]) == (200, [])
    assert moved.last_request.headers["Authorization"] == "Bearer pf-access-1"
    assert moved.last_request.headers["Depth"] == "1"


def test_a_download_moved_on_the_same_server_is_followed(client, basic_integration, requests_mock):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/notes.txt",
        status_code=307,
        headers={"Location": "/files/blob/42?name=notes.txt"},
    )
    requests_mock.get(f"{SERVER}/files/blob/42?name=notes.txt", content=b"hello world")

    response = client.get(download_url(basic_integration, "Team Docs/notes.txt"))

    assert (response.status_code, response.data) == (200, b"hello world")


def test_endless_redirects_are_an_upstream_failure(client, basic_integration, requests_mock):
    requests_mock.get(FOLDERS, status_code=302, headers={"Location": "/api/folders?action=getAll"})

    response = browse(client, basic_integration)

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert requests_mock.call_count == 4


def test_a_redirect_to_another_server_is_not_followed(client, oauth_integration, requests_mock):
    propfind(requests_mock, "", b"", status=301, headers={"Location": "https://new.example.org/"})
    elsewhere = requests_mock.register_uri("PROPFIND", "https://new.example.org/", text="hi")

    response = browse(client, oauth_integration)

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert "serverUrl" in response.json["error"]["message"]
    assert not elsewhere.called


def test_a_login_page_instead_of_a_file_asks_to_reconnect(
    client, oauth_integration, requests_mock, recorded
):
    requests_mock.get(
        f"{SERVER}/webdav/Team%20Docs/report%202024.pdf",
        content=recorded("login.html"),
        headers=HTML,
    )

    response = client.get(download_url(oauth_integration, "Team Docs/report 2024.pdf"))

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")


def test_refused_basic_credentials_ask_for_them_again(client, basic_integration, requests_mock):
    propfind(requests_mock, "Team%20Docs/", b"", status=401, headers={})

    response = browse(client, basic_integration, "Team Docs")

    assert response.json["error"]["code"] == "reauth_required"
    assert "username and password" in response.json["error"]["message"]


# -- hostile and failing answers -------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["billion_laughs.xml", "external_entity.xml"])
def test_hostile_xml_is_refused_as_an_upstream_failure(
    client, basic_integration, requests_mock, recorded, fixture
):
    propfind(requests_mock, "Team%20Docs/", recorded(fixture))

    response = browse(client, basic_integration, "Team Docs")

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert "refused" in response.json["error"]["message"]


def test_truncated_xml_is_an_upstream_failure(client, basic_integration, requests_mock, recorded):
    propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml")[:300])

    assert browse(client, basic_integration, "Team Docs").status_code == 502


def test_a_folder_list_that_is_not_json_is_an_upstream_failure(
    client, basic_integration, requests_mock
):
    requests_mock.get(FOLDERS, text='{"ResultSet": ', headers=JSON)

    assert browse(client, basic_integration).json["error"]["code"] == "upstream_failed"


def test_a_server_without_webdav_says_so(client, basic_integration, requests_mock):
    propfind(requests_mock, "Team%20Docs/", b"", status=405, headers={})

    response = browse(client, basic_integration, "Team Docs")

    assert response.status_code == 502 and "WebDAV" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "status, hub_status, code",
    [
        (404, 404, "not_found"),
        (403, 403, "forbidden"),
        (500, 502, "upstream_failed"),
        (502, 502, "upstream_failed"),
    ],
)
def test_listing_errors_map_to_the_hubs_errors(
    client, basic_integration, requests_mock, status, hub_status, code
):
    propfind(requests_mock, "Team%20Docs/Gone/", b"", status=status, headers={})

    response = browse(client, basic_integration, "Team Docs/Gone")

    assert (response.status_code, response.json["error"]["code"]) == (hub_status, code)
    assert "PowerFolder" in response.json["error"]["message"]


@pytest.mark.parametrize("status, hub_status", [(404, 404), (403, 403), (500, 502), (503, 502)])
def test_download_errors_map_to_the_hubs_errors(
    client, basic_integration, requests_mock, monkeypatch, status, hub_status
):
    monkeypatch.setattr("hub.context.time.sleep", lambda _: None)
    requests_mock.get(f"{SERVER}/webdav/Team%20Docs/x.bin", status_code=status)

    response = client.get(download_url(basic_integration, "Team Docs/x.bin"))

    assert response.status_code == hub_status


def test_an_unreachable_server_is_a_502_naming_powerfolder(
    client, basic_integration, requests_mock
):
    requests_mock.get(FOLDERS, exc=requests.ConnectionError)

    response = browse(client, basic_integration)

    assert response.status_code == 502 and "PowerFolder" in response.json["error"]["message"]


def test_a_password_outside_latin1_is_sent_as_utf8(client, create, requests_mock, recorded):
    integration = create(authType="basic", clientId=None, clientSecret=None)
    client.post(
        f"/api/integrations/{integration['id']}/connection",
        json={"username": "alice", "password": "密码"},
    )
    requests_mock.get(FOLDERS, content=recorded("folders.json"), headers=JSON)

    response = browse(client, integration)

    assert response.status_code == 200
    expected = base64.b64encode("alice:密码".encode()).decode()
    assert requests_mock.last_request.headers["Authorization"] == f"Basic {expected}"
