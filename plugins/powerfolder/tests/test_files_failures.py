"""What a PowerFolder server that does not answer data becomes when browsing: its login page
instead of JSON or XML, redirects (followed on the same server only), hostile or broken XML, no
WebDAV, error statuses and an unreachable server."""

from __future__ import annotations

import pytest
import requests

SERVER = "https://pf.example.org"
FOLDERS = f"{SERVER}/api/folders?action=getAll"
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


# -- a login page instead of data ------------------------------------------------------------


def test_a_login_page_instead_of_the_folder_list_asks_to_reconnect(
    client, basic_integration, requests_mock, recorded, browse
):
    requests_mock.get(FOLDERS, content=recorded("login.html"), headers=HTML)

    response = browse(client, basic_integration)

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")
    assert "login page" in response.json["error"]["message"]


def test_a_login_page_without_a_content_type_is_recognised(
    client, basic_integration, requests_mock, recorded, browse
):
    requests_mock.get(FOLDERS, content=recorded("login.html"), headers={"Content-Type": ""})

    response = browse(client, basic_integration)

    assert response.json["error"]["code"] == "reauth_required"
    assert "username and password" in response.json["error"]["message"]


def test_a_login_page_instead_of_a_listing_asks_to_reconnect(
    client, oauth_integration, requests_mock, recorded, browse, propfind
):
    propfind(requests_mock, "Team%20Docs/", recorded("login.html"), status=200, headers=HTML)

    response = browse(client, oauth_integration, "Team Docs")

    assert response.json["error"]["code"] == "reauth_required"


@pytest.mark.parametrize("location", [f"{SERVER}/login?originalURI=/api/folders", "/login"])
def test_a_redirect_to_the_login_page_asks_to_reconnect(
    client, oauth_integration, requests_mock, location, browse, propfind
):
    propfind(requests_mock, "", b"", status=302, headers={"Location": location})

    response = browse(client, oauth_integration)

    assert response.json["error"]["code"] == "reauth_required"
    assert "login page" in response.json["error"]["message"]


def test_a_redirect_on_the_same_server_is_followed_with_the_credentials(
    client, oauth_integration, requests_mock, recorded, browse
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


def test_endless_redirects_are_an_upstream_failure(
    client, basic_integration, requests_mock, browse
):
    requests_mock.get(FOLDERS, status_code=302, headers={"Location": "/api/folders?action=getAll"})

    response = browse(client, basic_integration)

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert requests_mock.call_count == 4


def test_a_redirect_to_another_server_is_not_followed(
    client, oauth_integration, requests_mock, browse, propfind
):
    propfind(requests_mock, "", b"", status=301, headers={"Location": "https://new.example.org/"})
    elsewhere = requests_mock.register_uri("PROPFIND", "https://new.example.org/", text="hi")

    response = browse(client, oauth_integration)

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert "serverUrl" in response.json["error"]["message"]
    assert not elsewhere.called


def test_refused_basic_credentials_ask_for_them_again(
    client, basic_integration, requests_mock, browse, propfind
):
    propfind(requests_mock, "Team%20Docs/", b"", status=401, headers={})

    response = browse(client, basic_integration, "Team Docs")

    assert response.json["error"]["code"] == "reauth_required"
    assert "username and password" in response.json["error"]["message"]


# -- hostile and failing answers -------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["billion_laughs.xml", "external_entity.xml"])
def test_hostile_xml_is_refused_as_an_upstream_failure(
    client, basic_integration, requests_mock, recorded, fixture, browse, propfind
):
    propfind(requests_mock, "Team%20Docs/", recorded(fixture))

    response = browse(client, basic_integration, "Team Docs")

    assert (response.status_code, response.json["error"]["code"]) == (502, "upstream_failed")
    assert "refused" in response.json["error"]["message"]


def test_truncated_xml_is_an_upstream_failure(
    client, basic_integration, requests_mock, recorded, browse, propfind
):
    propfind(requests_mock, "Team%20Docs/", recorded("propfind_team_docs.xml")[:300])

    assert browse(client, basic_integration, "Team Docs").status_code == 502


def test_a_folder_list_that_is_not_json_is_an_upstream_failure(
    client, basic_integration, requests_mock, browse
):
    requests_mock.get(FOLDERS, text='{"ResultSet": ', headers=JSON)

    assert browse(client, basic_integration).json["error"]["code"] == "upstream_failed"


def test_a_server_without_webdav_says_so(
    client, basic_integration, requests_mock, browse, propfind
):
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
    client, basic_integration, requests_mock, status, hub_status, code, browse, propfind
):
    propfind(requests_mock, "Team%20Docs/Gone/", b"", status=status, headers={})

    response = browse(client, basic_integration, "Team Docs/Gone")

    assert (response.status_code, response.json["error"]["code"]) == (hub_status, code)
    assert "PowerFolder" in response.json["error"]["message"]


def test_an_unreachable_server_is_a_502_naming_powerfolder(
    client, basic_integration, requests_mock, browse
):
    requests_mock.get(FOLDERS, exc=requests.ConnectionError)

    response = browse(client, basic_integration)

    assert response.status_code == 502 and "PowerFolder" in response.json["error"]["message"]
