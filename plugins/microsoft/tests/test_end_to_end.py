"""Through the hub's HTTP API against a local Microsoft on 127.0.0.1 (``local_graph``): connect
with PKCE, identity, paging to the end, downloads redirected to a second server that never sees
the token, throttling, rotating refresh tokens and a refresh refused with
``interaction_required``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from local_graph import FILES, DownloadHost, Microsoft, running

from hub.testing import make_hub_app, signed_in_client

DRIVE = "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV_tpd"
FIRST = sorted(FILES)[0]


@pytest.fixture
def servers() -> Iterator[tuple[Microsoft, DownloadHost]]:
    with running() as both:
        yield both


@pytest.fixture
def microsoft(servers: tuple[Microsoft, DownloadHost]) -> Microsoft:
    return servers[0]


@pytest.fixture
def download_host(servers: tuple[Microsoft, DownloadHost]) -> DownloadHost:
    return servers[1]


@pytest.fixture
def user(tmp_path: Path, hub_clock: Any) -> FlaskClient:
    """A whole hub allowed to call 127.0.0.1, on the fake clock (waits never sleep)."""
    app = make_hub_app(tmp_path / "instance", ALLOW_PRIVATE_ADDRESSES=True)
    return signed_in_client(app, "megan")


def connect(
    user: FlaskClient, microsoft: Microsoft, downloads: str | None, tenant: str = "common"
) -> str:
    """An integration whose login and Graph are the local server (and whose download host is
    ``downloads`` when given), connected through the browser's steps; its API path."""
    endpoints = {"login": microsoft.url, "graph": microsoft.url}
    if downloads:
        endpoints["downloads"] = downloads
    created = user.post(
        "/api/integrations",
        json={
            "name": "Contoso OneDrive",
            "provider": "microsoft",
            "authType": "oauth2",
            "clientId": "11111111-2222-3333-4444-555555555555",
            "clientSecret": "local~secret",
            "settings": {"tenant": tenant, "endpoints": endpoints},
        },
    )
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["id"]
    start = user.get(f"/api/integrations/{ref}/connect")
    assert start.status_code == 302, start.get_json()
    assert urlsplit(start.headers["Location"]).path == f"/{tenant}/oauth2/v2.0/authorize"
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    callback = user.get("/oauth2/callback", query_string=back)
    assert callback.status_code == 303, callback.get_data(as_text=True)[:300]
    return f"/api/integrations/{ref}"


@pytest.fixture
def integration(user: FlaskClient, microsoft: Microsoft, download_host: DownloadHost) -> str:
    return connect(user, microsoft, download_host.url)


def listing(user: FlaskClient, integration: str, **query: Any) -> Any:
    return user.get(f"{integration}/services/onedrive/items", query_string=query)


def test_connecting_reads_the_account_from_me(user, microsoft, integration):
    shown = user.get(f"{integration}/connection").get_json()

    assert shown["status"] == "connected"
    # /me has no mail for this account: the sign-in name stands in.
    assert shown["email"] == "MeganB@M365x214355.onmicrosoft.com"
    assert shown["displayName"] == "Megan Bowen"
    token_call = next(s for s in microsoft.seen if s.form.get("grant_type"))
    assert token_call.path == "/common/oauth2/v2.0/token"
    assert token_call.form["code_verifier"]


def test_a_tenant_goes_into_the_login_path(user, microsoft, download_host):
    connect(user, microsoft, download_host.url, tenant="contoso.onmicrosoft.com")

    token_call = next(s for s in microsoft.seen if s.form.get("grant_type"))
    assert token_call.path == "/contoso.onmicrosoft.com/oauth2/v2.0/token"


def test_the_root_pages_to_the_end_through_next_links(user, microsoft, integration):
    names, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = listing(user, integration, **query).get_json()
        names += [i["name"] for i in page["items"]]
        pages += 1
        cursor = page.get("nextCursor")
        if not cursor:
            break
        assert "127.0.0.1" not in cursor and "http" not in cursor  # only the $skiptoken

    assert names == ["Shared with me"] + [FILES[i][0] for i in sorted(FILES)]
    assert pages == 3  # "Shared with me" + 2 files, then 3 and 3: never more than the limit
    skips = [s.query.get("$skiptoken") for s in microsoft.graph_calls() if "$top" in s.query]
    assert skips[0] is None and all(skips[1:])


def test_a_cursor_naming_another_server_is_refused(user, microsoft, integration):
    answer = listing(user, integration, cursor="https://attacker.example/x?y")

    assert answer.status_code == 400
    assert not any("attacker" in str(s.query) for s in microsoft.seen)


def test_a_download_follows_the_redirect_without_the_token(
    user, microsoft, download_host, integration
):
    answer = user.get(f"{integration}/services/onedrive/items/{DRIVE}:{FIRST}/download")

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_data() == FILES[FIRST][1]
    assert "file-00.txt" in answer.headers["Content-Disposition"]
    fetched = download_host.seen[-1]
    assert fetched.path == f"/download/{FIRST}"
    assert "Authorization" not in fetched.headers
    content_call = microsoft.graph_calls()[-1]
    assert content_call.path.endswith("/content")
    assert content_call.headers["Authorization"].startswith("Bearer ")


def test_a_range_reaches_the_download_host(user, download_host, integration):
    answer = user.get(
        f"{integration}/services/onedrive/items/{DRIVE}:{FIRST}/download",
        headers={"Range": "bytes=0-3"},
    )

    assert answer.status_code == 206
    assert answer.get_data() == FILES[FIRST][1][:4]
    assert answer.headers["Content-Range"] == f"bytes 0-3/{len(FILES[FIRST][1])}"
    assert download_host.seen[-1].headers["Range"] == "bytes=0-3"


def test_a_redirect_to_another_host_is_refused_before_anything_is_sent(
    user, microsoft, download_host
):
    # Without a downloads override, only Microsoft's download hosts are followed.
    integration = connect(user, microsoft, None)

    answer = user.get(f"{integration}/services/onedrive/items/{DRIVE}:{FIRST}/download")

    assert answer.status_code == 502
    assert "where the hub does not follow it" in answer.get_json()["error"]["message"]
    assert download_host.seen == []


def test_a_short_retry_after_is_waited_for(user, microsoft, integration, hub_clock):
    microsoft.throttle = [(429, "2"), (503, "1")]

    answer = listing(user, integration)

    assert answer.status_code == 200
    assert len(answer.get_json()["items"]) == 1 + len(FILES)
    assert hub_clock.waits[-2:] == [2.0, 1.0]


def test_a_long_retry_after_becomes_the_callers_429(user, microsoft, integration):
    microsoft.throttle = [(429, "120")]

    answer = listing(user, integration)

    assert answer.status_code == 429
    assert answer.get_json()["error"]["code"] == "rate_limited"
    assert answer.headers["Retry-After"] == "120"
    assert "throttling" in answer.get_json()["error"]["message"]


def test_refresh_tokens_rotate_and_the_hub_keeps_the_new_one(user, microsoft, integration):
    for _ in range(3):
        microsoft.expire_access_tokens()
        assert listing(user, integration).status_code == 200

    used = [s.form["refresh_token"] for s in microsoft.refreshes()]
    assert len(used) == 3 and len(set(used)) == 3  # each refresh spent the newest token
    assert microsoft.refused_refresh_tokens == []
    # The spent ones are refused by the server from now on; the hub never sends them again.
    assert not set(used) & microsoft.refresh_tokens
    assert user.get(f"{integration}/connection").get_json()["status"] == "connected"
    spent = requests.post(
        f"{microsoft.url}/common/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "refresh_token": used[0]},
        timeout=10,
    )
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"


def test_a_refresh_refused_with_interaction_required_needs_reauth(
    user, microsoft, integration, recorded
):
    microsoft.refuse_refresh = recorded("token_interaction_required")
    microsoft.expire_access_tokens()

    answer = listing(user, integration)

    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "reauth_required"
    assert "multi-factor" in error["message"]
    assert "Trace ID" not in error["message"]  # Microsoft's own text stays out
    shown = user.get(f"{integration}/connection").get_json()
    assert shown["status"] == "needs_reauth"


def test_shared_with_me_opens_with_its_breadcrumb(user, integration):
    page = listing(user, integration, parent="shared-with-me").get_json()

    assert page["items"] == []  # the local server shares nothing
    assert [(c["id"], c["name"]) for c in page["path"]] == [("shared-with-me", "Shared with me")]


def test_a_malformed_tenant_is_refused_when_saved(user, microsoft, download_host):
    """The tenant is a segment of the login URLs' path: a value that could leave it is refused
    before anything is stored or sent."""
    before = len(microsoft.seen)
    created = user.post(
        "/api/integrations",
        json={
            "name": "Bad tenant",
            "provider": "microsoft",
            "authType": "bearer",
            "settings": {"tenant": "common/../../evil", "endpoints": {"graph": microsoft.url}},
        },
    )

    assert created.status_code == 400
    assert list(created.get_json()["error"]["fields"]) == ["settings.tenant"]
    assert len(microsoft.seen) == before
