"""The hub's HTTP API against a local Infomaniak on 127.0.0.1 (``local_infomaniak``) that behaves
as Infomaniak's clients show: it refuses scopes it does not know, refuses calls whose token lacks
the scope, pages mail in short pages chained by ``resource_next``, and counts every call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from local_infomaniak import ARCHIVE, DRIVE, MAILBOX, NOTES, Infomaniak, running

from hub.testing import make_hub_app, signed_in_client

MAX_CALLS_PER_FOLDER = 4


@pytest.fixture
def infomaniak() -> Iterator[Infomaniak]:
    with running() as server:
        yield server


@pytest.fixture
def hub(tmp_path: Path) -> Flask:
    """A whole hub allowed to call 127.0.0.1 (where the local Infomaniak listens)."""
    return make_hub_app(tmp_path, ALLOW_PRIVATE_ADDRESSES=True)


@pytest.fixture
def user(hub: Flask) -> FlaskClient:
    return signed_in_client(hub)


def create(user: FlaskClient, infomaniak: Infomaniak, **fields) -> str:
    """An integration whose every Infomaniak host is the local one; its id."""
    login = {"authUri": f"{infomaniak.url}/authorize", "tokenUri": f"{infomaniak.url}/token"}
    body = {
        "name": "Infomaniak (local)",
        "provider": "infomaniak",
        **(login if fields.get("authType") == "oauth2" else {}),
        "settings": {
            "endpoints": {"api": infomaniak.url, "mail": infomaniak.url, "revoke": infomaniak.url}
        },
        **fields,
    }
    response = user.post("/api/integrations", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def connect_with_oauth(user: FlaskClient, ref: str):
    """The browser's part: the hub's /connect, Infomaniak's /authorize, the hub's callback."""
    start = user.get(f"/api/integrations/{ref}/connect")
    assert start.status_code == 302, start.get_json()
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    return user.get("/oauth2/callback", query_string=back)


def oauth_integration(user: FlaskClient, infomaniak: Infomaniak, **fields) -> str:
    return create(
        user, infomaniak, authType="oauth2", clientId="ik-local", clientSecret="s", **fields
    )


def token_integration(user: FlaskClient, infomaniak: Infomaniak, *scopes: str) -> str:
    ref = create(user, infomaniak, authType="bearer")
    token = infomaniak.personal_token(*scopes)
    answer = user.post(f"/api/integrations/{ref}/connection", json={"token": token})
    assert answer.status_code == 200, answer.get_json()
    return ref


def items(user: FlaskClient, ref: str, service: str, **query):
    return user.get(f"/api/integrations/{ref}/services/{service}/items", query_string=query)


# -- scopes ------------------------------------------------------------------------------------


def test_the_default_oauth_connect_succeeds_against_a_server_refusing_unknown_scopes(
    user, infomaniak
):
    ref = oauth_integration(user, infomaniak)

    done = connect_with_oauth(user, ref)

    assert done.status_code == 303
    status = user.get(f"/api/integrations/{ref}/connection").get_json()
    assert status["status"] == "connected"
    assert status["scope"] == "user_info drive workspace:mail"
    assert status["email"] == "ada@lovelace-labs.ch"


def test_the_old_scope_names_are_refused_by_such_a_server(user, infomaniak):
    ref = oauth_integration(user, infomaniak, scope="user_info kdrive mail")

    done = connect_with_oauth(user, ref)

    assert done.status_code == 400 and "scope" in done.get_data(as_text=True)
    assert user.get(f"/api/integrations/{ref}/connection").get_json()["status"] != "connected"
    assert infomaniak.calls("/token") == []


def test_a_personal_token_with_the_three_scopes_reaches_kdrive_and_mail(user, infomaniak):
    ref = token_integration(user, infomaniak, "user_info", "drive", "workspace:mail")

    drives = items(user, ref, "kdrive")
    mailboxes = items(user, ref, "mail")

    assert user.get(f"/api/integrations/{ref}").get_json()["authType"] == "bearer"
    assert drives.status_code == 200 and mailboxes.status_code == 200


def test_a_token_without_workspace_mail_is_told_which_scope_to_tick(user, infomaniak):
    ref = token_integration(user, infomaniak, "user_info", "drive")

    drives = items(user, ref, "kdrive")
    mail = items(user, ref, "mail")

    assert drives.status_code == 200
    error = mail.get_json()["error"]
    assert mail.status_code == 403 and "'workspace:mail'" in error["message"]
    assert "user_info, drive, workspace:mail" in error["message"]


def test_an_oauth_grant_without_drive_is_told_apart_from_an_expired_token(user, infomaniak):
    ref = oauth_integration(user, infomaniak, scope="user_info")
    assert connect_with_oauth(user, ref).status_code == 303

    drives = items(user, ref, "kdrive")

    error = drives.get_json()["error"]
    assert drives.status_code == 403 and "'drive'" in error["message"]
    assert "granted only 'user_info'" in error["message"]


# -- kDrive: calls per folder ------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_a_folder_opened_at_any_depth_costs_at_most_four_calls(user, infomaniak, depth):
    ref = token_integration(user, infomaniak, "user_info", "drive", "workspace:mail")

    page = items(user, ref, "kdrive", parent=f"{DRIVE}:{100 + depth}")

    assert page.status_code == 200, page.get_json()
    assert len(infomaniak.calls()) <= MAX_CALLS_PER_FOLDER
    assert page.get_json()["path"][-1] == {"id": f"{DRIVE}:{100 + depth}", "name": f"Level {depth}"}


def test_browsing_down_eight_levels_costs_at_most_four_calls_a_folder(user, infomaniak):
    ref = oauth_integration(user, infomaniak)
    connect_with_oauth(user, ref)
    folder, costs = f"{DRIVE}:1", []
    for _ in range(9):
        infomaniak.forget_calls()
        page = items(user, ref, "kdrive", parent=folder).get_json()
        costs.append(len(infomaniak.calls()))
        below = [i for i in page["items"] if i["kind"] == "folder"]
        if not below:
            break
        folder = below[0]["id"]

    assert folder == f"{DRIVE}:108" and max(costs) <= MAX_CALLS_PER_FOLDER
    assert [c["name"] for c in page["path"]] == ["Lovelace Labs"] + [
        f"Level {d}" for d in range(1, 9)
    ]


def test_a_file_named_with_quotes_and_accents_downloads_with_its_exact_name(user, infomaniak):
    ref = token_integration(user, infomaniak, "drive")

    response = user.get(f"/api/integrations/{ref}/services/kdrive/items/{DRIVE}:208/download")

    assert response.status_code == 200 and response.data == NOTES
    exact = quote('Résumé "final".txt', safe="")
    assert f"filename*=UTF-8''{exact}" in response.headers["Content-Disposition"]


# -- Mail: short pages chained by resource_next --------------------------------------------------


def test_every_message_of_a_folder_with_short_pages_is_reached(user, infomaniak):
    ref = token_integration(user, infomaniak, "workspace:mail")
    names, cursor = [], None
    for _ in range(10):
        query = {"parent": f"folder:{MAILBOX}:{ARCHIVE}", "limit": 50}
        page = items(user, ref, "mail", **query, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.get_json()
        names += [i["name"] for i in page.get_json()["items"] if i["kind"] == "file"]
        cursor = page.get_json()["nextCursor"]
        if cursor is None:
            break

    assert len(names) == 5 and len(set(names)) == 5
    offsets = [q.get("offset") for _, p, q in infomaniak.requests if p.endswith("/message")]
    assert offsets == [["0"], ["2"], ["4"]]
