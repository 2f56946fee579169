"""Through the hub's HTTP API against Dropbox played on 127.0.0.1 (``local_dropbox``): an api
and a content host on their own ports, reached through ``settings.endpoints``. Connecting
(offline access, PKCE, identity by POST), paging to the end, breadcrumbs, Dropbox's 409 errors,
throttling, an expired access token refreshed, downloads of a non-ASCII name with ``Range``,
and revocation on disconnect."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from local_dropbox import CLIENT_ID, CLIENT_SECRET, LocalDropbox, running

from hub_dropbox.files import download

UMLAUTS = "/Grüße aus Zürich.txt"
GREETING = b"Hallo aus Basel, sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe\n"


@pytest.fixture
def hub_settings() -> dict[str, Any]:
    """The stand-in listens on 127.0.0.1, a private address the hub refuses unless told."""
    return {"ALLOW_PRIVATE_ADDRESSES": True}


@pytest.fixture
def local() -> Any:
    """Dropbox with a small tree: five entries at the top, a folder two levels deep."""
    with running() as dropbox:
        dropbox.add("/Reports")
        dropbox.add("/Reports/2024")
        dropbox.add("/Reports/2024/q4.csv", b"quarter,total\n4,99\n")
        dropbox.add(UMLAUTS, GREETING)
        for name in ("alpha.txt", "beta.txt", "gamma.txt"):
            dropbox.add(f"/{name}", name.encode())
        yield dropbox


def connect(client: Any, dropbox: LocalDropbox) -> tuple[str, dict[str, str]]:
    """Create a Dropbox integration pointed at the stand-in and connect it through the browser
    flow; its base URL in the API and the authorization request's parameters."""
    created = client.post(
        "/api/integrations",
        json={
            "name": "Dropbox",
            "provider": "dropbox",
            "authType": "oauth2",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "settings": {
                "endpoints": {"www": dropbox.api, "api": dropbox.api, "content": dropbox.content}
            },
        },
    )
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["id"]
    started = client.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302, started.get_json()
    location = urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{dropbox.api}/oauth2/authorize"
    )
    asked = {k: v[0] for k, v in parse_qs(location.query).items()}
    code = dropbox.issue_code(asked["code_challenge"], asked["redirect_uri"])
    callback = client.get("/oauth2/callback", query_string={"state": asked["state"], "code": code})
    assert callback.status_code == 303, callback.get_data(as_text=True)
    return f"/api/integrations/{ref}", asked


@pytest.fixture
def connected(hub_client: Any, local: LocalDropbox) -> str:
    base, _ = connect(hub_client, local)
    return base


def items(client: Any, base: str, **query: Any) -> Any:
    return client.get(f"{base}/services/files/items", query_string=query)


def test_connecting_asks_offline_access_with_pkce_and_reads_the_account_by_post(
    hub_client: Any, local: LocalDropbox
) -> None:
    base, asked = connect(hub_client, local)

    assert asked["token_access_type"] == "offline"
    assert asked["code_challenge_method"] == "S256"
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["scope"] == "account_info.read files.metadata.read files.content.read"
    assert asked["redirect_uri"].endswith("/oauth2/callback")
    shown = hub_client.get(f"{base}/connection").get_json()
    assert (shown["status"], shown["email"], shown["displayName"]) == (
        "connected",
        "franz@example.com",
        "Franz Ferdinand",
    )
    (lookup,) = local.requests_to("/2/users/get_current_account")
    assert lookup.method == "POST" and lookup.body == b""
    assert "application/json" not in lookup.headers.get("Content-Type", "")


def test_the_top_level_pages_to_the_end_through_list_folder_continue(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    names, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = items(hub_client, connected, **query).get_json()
        names += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page.get("nextCursor")
        if cursor is None:
            break

    assert names == ["alpha.txt", "beta.txt", "gamma.txt", "Grüße aus Zürich.txt", "Reports"]
    assert pages == 3
    routes = [s.path for s in local.seen if s.path.startswith("/2/files/")]
    assert routes == ["/2/files/list_folder"] + ["/2/files/list_folder/continue"] * 2


def test_breadcrumbs_name_every_ancestor_and_each_crumb_opens(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    top = items(hub_client, connected).get_json()
    reports = next(i for i in top["items"] if i["name"] == "Reports")
    inside = items(hub_client, connected, parent=reports["id"]).get_json()
    year = next(i for i in inside["items"] if i["name"] == "2024")

    page = items(hub_client, connected, parent=year["id"]).get_json()

    assert page["path"] == [
        {"id": "/Reports", "name": "Reports"},
        {"id": year["id"], "name": "2024"},
    ]
    assert [i["name"] for i in page["items"]] == ["q4.csv"]
    again = items(hub_client, connected, parent="/Reports").get_json()
    assert [i["name"] for i in again["items"]] == ["2024"]
    assert again["path"] == [{"id": "/Reports", "name": "Reports"}]


def test_dropbox_409_errors_become_the_hubs(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    missing = items(hub_client, connected, parent="id:nothing-here")
    a_file = items(hub_client, connected, parent=local.nodes["/alpha.txt"].id)
    stale = items(hub_client, connected, cursor="not-a-dropbox-cursor")

    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")
    assert (a_file.status_code, a_file.get_json()["error"]["fields"]) == (
        400,
        {"parent": "not a folder"},
    )
    assert (stale.status_code, stale.get_json()["error"]["fields"]) == (
        400,
        {"cursor": "expired"},
    )


def test_a_short_throttle_is_waited_out_and_a_long_one_reported(
    hub_client: Any, connected: str, local: LocalDropbox, hub_clock: Any
) -> None:
    local.throttle["files/list_folder"] = [2]
    waited = items(hub_client, connected)

    local.throttle["files/list_folder"] = [300]
    refused = items(hub_client, connected)

    assert waited.status_code == 200 and hub_clock.waits == [2.0]
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "300"


def test_an_expired_access_token_is_refreshed_and_the_call_retried(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    for _ in range(2):  # twice: the refresh token kept after a refresh still works
        local.expire_tokens()
        answer = items(hub_client, connected)
        assert answer.status_code == 200, answer.get_json()

    grants = [parse_qs(s.body.decode()) for s in local.requests_to("/oauth2/token")]
    refreshes = [g for g in grants if g["grant_type"] == ["refresh_token"]]
    assert len(refreshes) == 2
    assert refreshes[0]["refresh_token"] == refreshes[1]["refresh_token"]
    refused = [s for s in local.seen if s.path == "/2/files/list_folder"]
    assert len(refused) == 4  # each: refused with the expired token, then sent again


def test_a_non_ascii_name_downloads_with_its_name_and_a_range(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    node = local.nodes[UMLAUTS.lower()]
    url = f"{connected}/services/files/items/{quote(node.id, safe='')}/download"

    whole = hub_client.get(url)
    first = hub_client.get(url, headers={"Range": "bytes=0-4"})

    assert whole.status_code == 200, whole.get_json()
    assert whole.data == GREETING
    assert whole.headers["Content-Length"] == str(len(GREETING))
    # The name comes from Dropbox-API-Result, whose JSON escapes it as \\uXXXX.
    assert (
        "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20aus%20Z%C3%BCrich.txt"
        in (whole.headers["Content-Disposition"])
    )
    assert (first.status_code, first.data) == (206, b"Hallo")
    assert first.headers["Content-Range"] == f"bytes 0-4/{len(GREETING)}"
    sent = local.requests_to("/2/files/download")[-1]
    assert sent.headers["Range"] == "bytes=0-4"


def test_a_non_ascii_path_reaches_dropbox_escaped_in_dropbox_api_arg(
    hub_context: Any, local: LocalDropbox
) -> None:
    """The stand-in refuses a Dropbox-API-Arg that is not ASCII, as Dropbox does."""
    token = local.issue_token()
    endpoints = {"www": local.api, "api": local.api, "content": local.content}
    with hub_context(
        "dropbox",
        credentials={"token": token},
        auth_type="bearer",
        settings={"endpoints": endpoints},
    ) as ctx:
        got = download(ctx, UMLAUTS, "bytes=6-8")
        data = b"".join(got.chunks)

    sent = local.requests_to("/2/files/download")[-1]
    assert sent.headers["Dropbox-API-Arg"] == ('{"path":"/Gr\\u00fc\\u00dfe aus Z\\u00fcrich.txt"}')
    assert (got.status, data, got.filename) == (206, b"aus", "Grüße aus Zürich.txt")


def test_a_file_opened_by_its_path_downloads_through_the_api(
    hub_client: Any, connected: str
) -> None:
    url = f"{connected}/services/files/items/{quote(UMLAUTS, safe='')}/download"

    answer = hub_client.get(url)

    assert answer.status_code == 200
    assert answer.data == GREETING


def test_a_range_outside_the_file_is_not_satisfiable(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    node = local.nodes["/alpha.txt"]
    url = f"{connected}/services/files/items/{quote(node.id, safe='')}/download"

    answer = hub_client.get(url, headers={"Range": "bytes=100-200"})

    assert answer.status_code == 416
    assert answer.get_json()["error"]["code"] == "range_not_satisfiable"


def test_disconnecting_revokes_with_the_token_as_bearer_and_no_client_secret(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    live = [token for token, state in local.tokens.items() if state == "ok"]

    assert hub_client.delete(f"{connected}/connection").status_code == 204

    (revoke,) = local.requests_to("/2/auth/token/revoke")
    assert revoke.method == "POST" and revoke.body == b""
    assert revoke.headers["Authorization"] == f"Bearer {live[0]}"
    assert CLIENT_SECRET not in repr(revoke.headers) and "Basic" not in repr(revoke.headers)
    assert live[0] not in local.tokens and not local.refresh_tokens  # the grant has ended


def test_disconnecting_after_the_access_token_expired_still_ends_the_grant(
    hub_client: Any, connected: str, local: LocalDropbox
) -> None:
    local.expire_tokens()

    assert hub_client.delete(f"{connected}/connection").status_code == 204

    assert not local.refresh_tokens
