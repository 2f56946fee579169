"""``GET /api/integrations/{ref}/connections``: every connection of an integration, for those
with manage access only, never a secret, paged with a stable cursor and filtered by status."""

from __future__ import annotations

import json
import re

import pytest

from hub.db import database
from hub.models import Connection

SECRETS = {name: f"secret-token-of-{name}-0123456789" for name in ("alice", "bob", "carol")}


@pytest.fixture
def world(app, make_user, login):
    """Alice's bearer integration, shared with bob (use), carol (edit), dave (manage); alice,
    bob and carol each connected with a token of their own. Eve sees nothing."""
    for name in ("alice", "bob", "carol", "dave", "eve"):
        make_user(name)
    make_user("root", superuser=True)
    clients = {name: login(name) for name in ("alice", "bob", "carol", "dave", "eve", "root")}
    created = clients["alice"].post(
        "/api/integrations",
        json={"name": "Alpha", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    for name, level in (("bob", "use"), ("carol", "edit"), ("dave", "manage")):
        response = clients["alice"].put(
            f"/api/integrations/{ref}/shares/{name}", json={"access": level}
        )
        assert response.status_code == 200, response.json
    for name, secret in SECRETS.items():
        response = clients[name].post(f"/api/integrations/{ref}/connection", json={"token": secret})
        assert response.status_code == 200, response.json
    return ref, clients


def listing(client, ref, **params):
    return client.get(f"/api/integrations/{ref}/connections", query_string=params)


@pytest.mark.parametrize("name", ["alice", "dave", "root"])
def test_managers_see_every_connection_without_a_secret(world, name):
    ref, clients = world
    response = listing(clients[name], ref)
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert [i["holder"] for i in items] == ["user:alice", "user:bob", "user:carol"]
    assert [i["user"] for i in items] == ["alice", "bob", "carol"]
    assert {i["status"] for i in items} == {"connected"}
    assert set(items[0]) >= {"account", "lastRefreshedAt", "expiresAt", "lastError"}
    assert set(items[0]["account"]) == {"externalId", "email", "displayName"}
    text = response.get_data(as_text=True)
    for secret in SECRETS.values():
        assert secret not in text
    assert not re.search(r"token|credential|secret|password", text, re.IGNORECASE)


def test_secrets_stored_in_the_database_never_reach_the_answer(app, world):
    ref, clients = world
    with app.app_context(), database.connection_context():
        stored = [
            value
            for c in Connection.select()
            for value in (c.access_token, c.refresh_token, c.credentials)
            if value
        ]
    assert stored  # the ciphertexts exist...
    text = listing(clients["alice"], ref).get_data(as_text=True)
    for value in stored:  # ...and neither they nor the plaintexts are shown
        assert str(value) not in text


@pytest.mark.parametrize("name, status", [("bob", 403), ("carol", 403), ("eve", 404)])
def test_use_and_edit_get_403_and_outsiders_404(world, name, status):
    ref, clients = world
    response = listing(clients[name], ref)
    assert response.status_code == status
    assert "secret-token" not in response.get_data(as_text=True)
    if status == 404:
        assert "no integration" in response.json["error"]["message"]


def test_anonymous_callers_get_401(app, world):
    ref, _ = world
    assert listing(app.test_client(), ref).status_code == 401


def test_a_deactivated_managers_token_is_refused(app, world, token_for):
    ref, clients = world
    headers = token_for("dave")
    assert (
        app.test_client().get(f"/api/integrations/{ref}/connections", headers=headers).status_code
        == 200
    )
    assert clients["root"].post("/api/users/dave/deactivate").status_code == 200
    response = app.test_client().get(f"/api/integrations/{ref}/connections", headers=headers)
    assert response.status_code == 401


def test_paging_reaches_the_end_with_a_stable_cursor(world):
    ref, clients = world
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = listing(clients["alice"], ref, **params).json
        again = listing(clients["alice"], ref, **params).json
        assert body == again  # the same cursor gives the same page
        seen += [i["holder"] for i in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == ["user:alice", "user:bob", "user:carol"]
    assert pages == 3


def test_a_connection_made_while_paging_is_not_skipped_nor_repeated(world):
    ref, clients = world
    first = listing(clients["alice"], ref, limit=2).json
    clients["dave"].post(f"/api/integrations/{ref}/connection", json={"token": "late-comer"})
    rest = listing(clients["alice"], ref, limit=200, cursor=first["nextCursor"]).json
    holders = [i["holder"] for i in first["items"] + rest["items"]]
    assert holders == ["user:alice", "user:bob", "user:carol", "user:dave"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
def test_a_bad_limit_is_400_naming_limit(world, limit):
    ref, clients = world
    response = listing(clients["alice"], ref, limit=limit)
    assert response.status_code == 400
    assert "limit" in response.json["error"]["fields"]


@pytest.mark.parametrize("cursor", ["nonsense", "eyJhZnRlciI6IC0xfQ", "e30"])
def test_a_forged_cursor_is_400_naming_cursor(world, cursor):
    ref, clients = world
    response = listing(clients["alice"], ref, cursor=cursor)
    assert response.status_code == 400
    assert "cursor" in response.json["error"]["fields"]


def test_the_status_filter(app, world):
    ref, clients = world
    with app.app_context(), database.connection_context():
        Connection.update(status="error", last_error="the provider said no").where(
            Connection.holder.startswith("user:"),
            Connection.id
            == Connection.select(Connection.id).order_by(Connection.id.desc()).limit(1),
        ).execute()
    errors = listing(clients["alice"], ref, status="error").json["items"]
    assert [(i["user"], i["lastError"]) for i in errors] == [("carol", "the provider said no")]
    connected = listing(clients["alice"], ref, status="connected").json["items"]
    assert [i["user"] for i in connected] == ["alice", "bob"]
    assert listing(clients["alice"], ref, status="needs_reauth").json["items"] == []


@pytest.mark.parametrize("status", ["bogus", "CONNECTED", "", "connected "])
def test_a_bad_status_is_400_naming_status(world, status):
    ref, clients = world
    response = listing(clients["alice"], ref, status=status)
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == ["status"]


def test_an_unknown_parameter_is_400(world):
    ref, clients = world
    response = listing(clients["alice"], ref, user="bob")
    assert response.status_code == 400
    assert "user" in response.json["error"]["fields"]


def test_the_shared_connection_is_held_by_shared(world):
    ref, clients = world
    clients["alice"].patch(f"/api/integrations/{ref}", json={"connectionMode": "shared"})
    clients["dave"].post(f"/api/integrations/{ref}/connection", json={"token": "service-acct"})
    items = listing(clients["alice"], ref).json["items"]
    shared = [i for i in items if i["holder"] == "shared"]
    assert len(shared) == 1 and shared[0]["user"] is None
    assert "service-acct" not in json.dumps(items)


def test_another_integrations_connections_are_not_listed(world):
    ref, clients = world
    other = (
        clients["eve"]
        .post(
            "/api/integrations",
            json={"name": "Eve's", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
        )
        .json["id"]
    )
    clients["eve"].post(f"/api/integrations/{other}/connection", json={"token": "eve-secret"})
    assert [i["user"] for i in listing(clients["eve"], other).json["items"]] == ["eve"]
    assert "eve" not in [i["user"] for i in listing(clients["alice"], ref).json["items"]]
    assert listing(clients["alice"], other).status_code == 404


def test_the_sharing_page_shows_the_connections_to_managers(world):
    ref, clients = world
    page = clients["dave"].get(f"/integrations/{ref}/sharing")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="connections"' in html
    for name in ("alice", "bob", "carol"):
        assert f"user:{name}" in html
    for secret in SECRETS.values():
        assert secret not in html
    assert "<script>" not in html  # CSP: no inline script
    assert clients["carol"].get(f"/integrations/{ref}/sharing").status_code == 403
    assert clients["eve"].get(f"/integrations/{ref}/sharing").status_code == 404


def test_a_forged_cursor_on_the_sharing_page_is_400(world):
    ref, clients = world
    response = clients["alice"].get(f"/integrations/{ref}/sharing?cursor=forged")
    assert response.status_code == 400
