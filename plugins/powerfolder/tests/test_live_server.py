"""A user's journey through the hub's HTTP API against a PowerFolder server on 127.0.0.1 that
records every request it receives (``LivePowerFolder`` in ``conftest.py``).

Two things are checked the way an attacker reading the server's access log would check them:
the client secret never appears in a request line, neither with the token requests of current
servers (POST of JSON to ``/oauth/token``) nor with the wiki's older ones (code at ``/oauth``,
refresh by GET); and a bearer token never depends on ``/api/folders``, which such a server
refuses (401): the top level comes from ``PROPFIND /webdav/``.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, urlsplit

import pytest
import requests

CURRENT: dict[str, str] = {}  # the defaults
OLDER = {"tokenPath": "/oauth", "refreshMethod": "GET"}
MODES = [pytest.param(CURRENT, id="current-post-json"), pytest.param(OLDER, id="older-get")]


def connect(client, server, settings=None, auth_type="oauth2"):
    """Create an integration on the live server and connect it: through the server's allow
    page for OAuth2 (the user is signed in there and clicks "Allow"), with a username and
    password for ``basic``. Returns the integration's id."""
    body = {
        "name": "Our PowerFolder",
        "provider": "powerfolder",
        "authType": auth_type,
        "settings": {"serverUrl": server.url, **(settings or {})},
    }
    if auth_type == "oauth2":
        body |= {"clientId": server.client_id, "clientSecret": server.client_secret}
    created = client.post("/api/integrations", json=body)
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    if auth_type == "basic":
        answer = client.post(
            f"/api/integrations/{ref}/connection",
            json={"username": "alice@example.org", "password": "pf password"},
        )
        assert answer.status_code == 200, answer.json
        return ref
    started = client.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302, started.json
    allowed = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
    assert allowed.status_code == 302, allowed.text
    back = urlsplit(allowed.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.get_data(as_text=True)
    return ref


def browse(client, ref, parent=None):
    query = {"parent": parent} if parent is not None else {}
    response = client.get(f"/api/integrations/{ref}/services/files/items", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def token_requests(server):
    return [r for r in server.received if r.path in ("/oauth", "/oauth/token")]


def secret_forms(secret):
    """The secret as it could appear in a request line: raw, or percent-encoded either way."""
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}


# -- item 8: the client secret never travels in a URL ----------------------------------------


@pytest.mark.parametrize("settings", MODES)
def test_no_request_line_ever_carries_the_client_secret(live_client, live_server, settings):
    ref = connect(live_client, live_server, settings)
    refreshed = live_client.post(f"/api/integrations/{ref}/connection/refresh")
    live_server.expire_access_tokens()  # the next call is refused: refresh, then retry
    browse(live_client, ref)

    assert refreshed.status_code == 200, refreshed.json
    assert len(token_requests(live_server)) == 3  # the code, then two refreshes
    for seen in live_server.received:
        for form in secret_forms(live_server.client_secret):
            assert form not in seen.target, (seen.method, seen.path)
            assert all(form not in value for value in seen.headers.values()), seen.path


def test_current_servers_get_json_posts_to_oauth_token(live_client, live_server):
    ref = connect(live_client, live_server)
    live_client.post(f"/api/integrations/{ref}/connection/refresh")

    exchange, refresh = token_requests(live_server)
    assert [(r.method, r.target) for r in (exchange, refresh)] == [
        ("POST", "/oauth/token"),
        ("POST", "/oauth/token"),
    ]
    assert exchange.headers["Content-Type"] == "application/json"
    assert json.loads(exchange.body) == {
        "grant_type": "authorization_code",
        "code": json.loads(exchange.body)["code"],
        "redirect_uri": "http://127.0.0.1:5000/oauth2/callback",
        "client_id": live_server.client_id,
        "client_secret": live_server.client_secret,
        "format": "json",
    }
    sent = json.loads(refresh.body)
    assert set(sent) == {"grant_type", "refresh_token", "client_id", "client_secret", "format"}
    assert (sent["grant_type"], sent["client_secret"]) == (
        "refresh_token",
        live_server.client_secret,
    )


def test_older_servers_get_the_code_at_oauth_and_a_get_refresh_without_the_secret(
    live_client, live_server
):
    ref = connect(live_client, live_server, OLDER)
    refreshed = live_client.post(f"/api/integrations/{ref}/connection/refresh")

    exchange, refresh = token_requests(live_server)
    assert refreshed.status_code == 200, refreshed.json
    assert (exchange.method, exchange.target) == ("POST", "/oauth")
    assert json.loads(exchange.body)["client_secret"] == live_server.client_secret
    assert (refresh.method, refresh.path, refresh.body) == ("GET", "/oauth", b"")
    assert set(refresh.query) == {"grant_type", "refresh_token", "client_id", "format"}
    assert (refresh.query["grant_type"], refresh.query["client_id"]) == (
        "refresh_token",
        live_server.client_id,
    )
    assert "Authorization" not in refresh.headers


# -- item 9: the top level of an OAuth2 connection comes from WebDAV --------------------------


def test_an_oauth_user_sees_the_top_level_folders_by_their_display_names(live_client, live_server):
    ref = connect(live_client, live_server)

    page = browse(live_client, ref)

    assert [(i["name"], i["id"], i["kind"]) for i in page["items"]] == [
        ("Empty", "Empty", "folder"),
        ("Fotos Grüße", "Fotos Grüße", "folder"),
        ("Mail attachments", "$mail_attachments", "folder"),
        ("Team Docs", "Team Docs", "folder"),
    ]


def test_the_top_level_of_an_oauth_connection_never_asks_the_folder_api(live_client, live_server):
    ref = connect(live_client, live_server)
    token = next(iter(live_server.access))
    refused = requests.get(
        f"{live_server.url}/api/folders?action=getAll",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    live_server.received.clear()

    browse(live_client, ref)

    assert refused.status_code == 401  # this server takes only HTTP Basic there
    data = [r for r in live_server.received if not r.path.startswith("/oauth")]
    assert [(r.method, r.path, r.headers.get("Depth")) for r in data] == [
        ("PROPFIND", "/webdav/", "1")
    ]
    assert live_server.received[-1].headers["Authorization"].startswith("Bearer ")


def test_a_folder_whose_display_name_differs_opens_by_its_internal_name(live_client, live_server):
    ref = connect(live_client, live_server)
    mail = next(i for i in browse(live_client, ref)["items"] if i["name"] == "Mail attachments")

    page = browse(live_client, ref, mail["id"])

    assert live_server.received[-1].path == "/webdav/%24mail_attachments/"
    assert page["path"] == [{"id": "$mail_attachments", "name": "Mail attachments"}]
    assert [(i["id"], i["name"], i["size"]) for i in page["items"]] == [
        ("$mail_attachments/invoice (1)+copy.pdf", "invoice (1)+copy.pdf", 7)
    ]


def test_a_file_in_that_folder_downloads(live_client, live_server):
    ref = connect(live_client, live_server)
    item = browse(live_client, ref, "$mail_attachments")["items"][0]

    response = live_client.get(
        f"/api/integrations/{ref}/services/files/items/{quote(item['id'], safe='/')}/download"
    )

    assert (response.status_code, response.data) == (200, b"%PDF-1\n")
    assert (
        live_server.received[-1].path == "/webdav/%24mail_attachments/invoice%20%281%29%2Bcopy.pdf"
    )


def test_a_basic_connection_lists_the_folder_api_with_the_same_ids(live_client, live_server):
    ref = connect(live_client, live_server, auth_type="basic")

    page = browse(live_client, ref)

    assert live_server.received[-1].target == "/api/folders?action=getAll"
    assert [(i["name"], i["id"], i.get("folderId")) for i in page["items"]] == [
        ("Empty", "Empty", "Ab1cD2eF3gH4i"),
        ("Fotos Grüße", "Fotos Grüße", "Qr7sT1uVwX2yZ"),
        ("Mail attachments", "$mail_attachments", "Mb4cD5eF6gH7j"),
        ("Team Docs", "Team Docs", "Xy9aB3kLmN0pQ"),
    ]
    assert browse(live_client, ref, "$mail_attachments")["items"][0]["size"] == 7
