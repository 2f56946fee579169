"""PowerFolder's OAuth2 through the hub's routes: the allow page, the JSON code exchange and
POST refresh at ``/oauth/token`` (what the working client sends), the wiki's ``/oauth`` and GET
refresh for older servers, and a 401 answered by refreshing."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

SERVER = "https://pf.example.org"
CLIENT_ID = "hub-client"
CLIENT_SECRET = "pf-client-secret-value"
REDIRECT = "http://127.0.0.1:5000/oauth2/callback"
TOKEN = f"{SERVER}/oauth/token"
OLDER = {"tokenPath": "/oauth", "refreshMethod": "GET"}
WEBDAV_ROOT = f"{SERVER}/webdav/"


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def refresh(client, integration):
    return client.post(f"/api/integrations/{integration['id']}/connection/refresh")


def status_of(client, integration):
    return client.get(f"/api/integrations/{integration['id']}/connection").json


# -- authorize -------------------------------------------------------------------------------


def test_connect_sends_the_browser_to_the_servers_allow_page(client, create):
    integration = create()

    response = client.get(f"/api/integrations/{integration['id']}/connect")

    location = response.headers["Location"]
    assert location.startswith(f"{SERVER}/oauth/allow?")
    params = query_of(location)
    assert (params["response_type"], params["client_id"], params["redirect_uri"]) == (
        "code",
        CLIENT_ID,
        REDIRECT,
    )
    assert len(params["state"]) >= 43


def test_the_allow_page_gets_no_pkce_and_no_scope(client, create):
    integration = create()

    location = client.get(f"/api/integrations/{integration['id']}/connect").headers["Location"]

    assert not {"code_challenge", "code_challenge_method", "scope"} & set(query_of(location))


def test_the_client_can_come_from_the_environment(app, client, create):
    app.config["POWERFOLDER_CLIENT_ID"] = "env-client"
    app.config["POWERFOLDER_CLIENT_SECRET"] = "env-secret"
    # The administrator registered the hub's client on this server (hub powerfolder
    # register-client) and approved it for the client.
    app.config["POWERFOLDER_CLIENT_ORIGINS"] = SERVER
    integration = create(clientId=None, clientSecret=None)

    location = client.get(f"/api/integrations/{integration['id']}/connect").headers["Location"]

    assert query_of(location)["client_id"] == "env-client"


# -- the code exchange -----------------------------------------------------------------------


def test_the_code_is_exchanged_with_a_json_body(client, create, connect, requests_mock):
    sent = connect(create(), requests_mock)

    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {
        "grant_type": "authorization_code",
        "code": "pf-code",
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "format": "json",
    }


def test_the_exchange_asks_for_a_json_answer(client, create, connect, requests_mock):
    sent = connect(create(), requests_mock)

    assert sent.headers["Accept"] == "application/json"


def test_the_exchange_goes_to_oauth_token_by_default(client, create, connect, requests_mock):
    sent = connect(create(), requests_mock)

    assert sent.url == TOKEN


def test_the_exchange_goes_to_oauth_when_the_token_path_says_so(
    client, create, connect, requests_mock
):
    integration = create(settings={"tokenPath": "/oauth"})

    sent = connect(integration, requests_mock, token_path="/oauth")

    assert (sent.url, json.loads(sent.body)["grant_type"]) == (
        f"{SERVER}/oauth",
        "authorization_code",
    )


def test_a_token_answer_without_a_token_type_connects_for_a_day(
    client, create, connect, requests_mock
):
    integration = create()
    connect(integration, requests_mock)

    status = status_of(client, integration)

    assert (status["status"], status["hasRefreshToken"]) == ("connected", True)


def test_a_refused_code_stores_nothing(client, create, requests_mock, recorded):
    integration = create()
    requests_mock.post(TOKEN, status_code=400, content=recorded("token_error.json"))
    location = client.get(f"/api/integrations/{integration['id']}/connect").headers["Location"]

    done = client.get(
        "/oauth2/callback", query_string={"state": query_of(location)["state"], "code": "bad"}
    )

    assert done.status_code == 400 and "invalid_grant" in done.get_data(as_text=True)
    assert status_of(client, integration)["status"] == "not_connected"


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_is_a_post_with_a_json_body(client, oauth_integration, requests_mock, recorded):
    answer = requests_mock.post(TOKEN, content=recorded("refreshed.json"))

    response = refresh(client, oauth_integration)

    assert response.status_code == 200, response.json
    sent = answer.last_request
    assert (sent.method, sent.headers["Content-Type"]) == ("POST", "application/json")
    assert json.loads(sent.body) == {
        "grant_type": "refresh_token",
        "refresh_token": "pf-refresh-1",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "format": "json",
    }
    assert urlsplit(sent.url).query == ""


def test_older_servers_refresh_with_a_get_and_no_client_secret(
    client, create, connect, requests_mock, recorded
):
    integration = create(settings=OLDER)
    connect(integration, requests_mock, token_path="/oauth")
    answer = requests_mock.get(f"{SERVER}/oauth", content=recorded("refreshed.json"))

    assert refresh(client, integration).status_code == 200

    sent = answer.last_request
    assert (sent.method, sent.body) == ("GET", None)
    assert query_of(sent.url) == {
        "grant_type": "refresh_token",
        "refresh_token": "pf-refresh-1",
        "client_id": CLIENT_ID,
        "format": "json",
    }
    assert CLIENT_SECRET not in sent.url and "Authorization" not in sent.headers


def test_a_get_refresh_follows_the_token_path(client, create, connect, requests_mock, recorded):
    integration = create(settings={"refreshMethod": "GET"})
    connect(integration, requests_mock)
    answer = requests_mock.get(TOKEN, content=recorded("refreshed.json"))

    assert refresh(client, integration).status_code == 200
    assert answer.called


def test_the_refresh_token_is_kept_when_the_answer_has_none(
    client, oauth_integration, requests_mock, recorded
):
    answer = requests_mock.post(TOKEN, content=recorded("refreshed.json"))

    refresh(client, oauth_integration)
    refresh(client, oauth_integration)

    assert json.loads(answer.last_request.body)["refresh_token"] == "pf-refresh-1"
    assert status_of(client, oauth_integration)["hasRefreshToken"] is True


def test_the_refreshed_token_is_used_afterwards(client, oauth_integration, requests_mock, recorded):
    requests_mock.post(TOKEN, content=recorded("refreshed.json"))
    root = requests_mock.register_uri(
        "PROPFIND", WEBDAV_ROOT, status_code=207, content=recorded("propfind_root.xml")
    )

    refresh(client, oauth_integration)
    client.get(f"/api/integrations/{oauth_integration['id']}/services/files/items")

    assert root.last_request.headers["Authorization"] == "Bearer pf-access-2"


def test_a_lost_grant_asks_to_connect_again(client, oauth_integration, requests_mock, recorded):
    requests_mock.post(TOKEN, status_code=400, content=recorded("token_error.json"))

    response = refresh(client, oauth_integration)

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")
    assert status_of(client, oauth_integration)["status"] == "needs_reauth"


# -- 401: refresh, then retry ----------------------------------------------------------------


def test_a_401_from_the_webdav_root_refreshes_and_retries(
    client, oauth_integration, requests_mock, recorded
):
    root = requests_mock.register_uri(
        "PROPFIND",
        WEBDAV_ROOT,
        [{"status_code": 401}, {"status_code": 207, "content": recorded("propfind_root.xml")}],
    )
    token = requests_mock.post(TOKEN, content=recorded("refreshed.json"))

    response = client.get(f"/api/integrations/{oauth_integration['id']}/services/files/items")

    assert response.status_code == 200, response.json
    assert token.call_count == 1
    assert [r.headers["Authorization"] for r in root.request_history] == [
        "Bearer pf-access-1",
        "Bearer pf-access-2",
    ]


def test_a_401_from_webdav_refreshes_and_retries(
    client, oauth_integration, requests_mock, recorded
):
    listing = requests_mock.register_uri(
        "PROPFIND",
        f"{SERVER}/webdav/Empty/",
        [{"status_code": 401}, {"status_code": 207, "content": recorded("propfind_empty.xml")}],
    )
    requests_mock.post(TOKEN, content=recorded("refreshed.json"))

    response = client.get(
        f"/api/integrations/{oauth_integration['id']}/services/files/items",
        query_string={"parent": "Empty"},
    )

    assert response.status_code == 200, response.json
    assert listing.last_request.headers["Authorization"] == "Bearer pf-access-2"


def test_a_second_401_after_refreshing_asks_to_connect_again(
    client, oauth_integration, requests_mock, recorded
):
    requests_mock.register_uri("PROPFIND", WEBDAV_ROOT, status_code=401)
    token = requests_mock.post(TOKEN, content=recorded("refreshed.json"))

    response = client.get(f"/api/integrations/{oauth_integration['id']}/services/files/items")

    assert (response.status_code, response.json["error"]["code"]) == (409, "reauth_required")
    assert token.call_count == 1
