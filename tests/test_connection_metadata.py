"""Connection metadata (issue 18, item 4): who may set it, how big it may be, and what a header
template built from it may send — checked at a real server on loopback that records what it
receives, the way an injected header would arrive."""

from __future__ import annotations

import json

import pytest

from hub.db import database
from hub.models import AuditEvent

pytestmark = pytest.mark.loopback


@pytest.fixture
def world(make_user, login, upstream):
    """Alice's per-user bearer integration on the recording server, with a header template
    reading the metadata; bob (``use``) and carol (``manage``) are sharees; alice and bob are
    connected."""
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)
    alice = login("alice")
    created = alice.post(
        "/api/integrations",
        json={
            "name": "Tenant API",
            "authType": "bearer",
            "apiBaseUri": upstream.base,
            "headers": {"X-Customer": "${connection.metadata.customer.id}"},
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"})
    alice.put(f"/api/integrations/{ref}/shares/carol", json={"access": "manage"})
    bob = login("bob")
    for client, token in ((alice, "alice-tok"), (bob, "bob-tok")):
        done = client.post(f"/api/integrations/{ref}/connection", json={"token": token})
        assert done.status_code == 200
    upstream.answer("v1/me", json={"ok": True})
    return ref, {"alice": alice, "bob": bob, "carol": login("carol"), "dave": login("dave")}


def put_own(client, ref, value):
    return client.put(f"/api/integrations/{ref}/connection/metadata", json=value)


def test_the_holder_sets_and_reads_their_connections_metadata(world, app):
    ref, clients = world
    value = {"customer": {"id": "c-42", "plan": "pro"}, "drive": 1234, "beta": True}
    assert put_own(clients["bob"], ref, value).json == value
    assert clients["bob"].get(f"/api/integrations/{ref}/connection/metadata").json == value
    assert clients["bob"].get(f"/api/integrations/{ref}/connection").json["metadata"] == value
    # alice's connection is her own: bob's metadata is not on it
    assert clients["alice"].get(f"/api/integrations/{ref}/connection/metadata").json == {}
    listed = clients["carol"].get(f"/api/integrations/{ref}/connections").json["items"]
    assert {row["user"]: row["metadata"] for row in listed} == {"alice": {}, "bob": value}
    with app.app_context(), database.connection_context():
        event = AuditEvent.get(AuditEvent.action == "connection.metadata.set")
        assert event.details["keys"] == ["beta", "customer", "drive"]
    assert put_own(clients["bob"], ref, {}).json == {}


def test_a_manager_sets_any_connections_metadata_and_nobody_else_does(world):
    ref, clients = world
    rows = clients["carol"].get(f"/api/integrations/{ref}/connections").json["items"]
    bobs = next(row["id"] for row in rows if row["user"] == "bob")
    path = f"/api/integrations/{ref}/connections/{bobs}/metadata"
    assert clients["carol"].put(path, json={"customer": {"id": "set-by-carol"}}).status_code == 200
    assert clients["bob"].get(f"/api/integrations/{ref}/connection").json["metadata"] == {
        "customer": {"id": "set-by-carol"}
    }
    assert clients["alice"].put(path, json={"a": 1}).status_code == 200  # the owner manages
    assert clients["bob"].put(path, json={"a": 2}).status_code == 403
    assert clients["dave"].put(path, json={"a": 2}).status_code == 404
    other = f"/api/integrations/{ref}/connections/999999/metadata"
    assert clients["carol"].put(other, json={"a": 1}).status_code == 404


def test_only_a_manager_sets_the_shared_connections_metadata(make_user, login, upstream):
    make_user("owner")
    make_user("user")
    owner = login("owner")
    created = owner.post(
        "/api/integrations",
        json={
            "name": "Shared",
            "authType": "bearer",
            "apiBaseUri": upstream.base,
            "connectionMode": "shared",
        },
    )
    ref = created.json["id"]
    owner.put(f"/api/integrations/{ref}/shares/user", json={"access": "edit"})
    owner.post(f"/api/integrations/{ref}/connection", json={"token": "svc"})
    refused = put_own(login("user"), ref, {"a": 1})
    assert refused.status_code == 403
    assert put_own(owner, ref, {"a": 1}).status_code == 200


def test_no_connection_no_metadata(world):
    ref, clients = world
    response = put_own(clients["carol"], ref, {"a": 1})
    assert response.status_code == 404
    assert "connect first" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "body, field",
    [
        ([1, 2], "metadata"),
        ("text", "metadata"),
        ({"a.b": 1}, "metadata.a.b"),
        ({"tenant-id": 1}, "metadata.tenant-id"),
        ({"": 1}, "metadata."),
        ({"a": {"b": {"c": {"d": {"e": 1}}}}}, "metadata.a.b.c.d"),
        ({"a": [[[[1]]]]}, "metadata.a.0.0.0"),
        ({"big": "x" * 5000}, "metadata"),
        ({f"k{i}": "v" * 40 for i in range(100)}, "metadata"),
    ],
)
def test_metadata_out_of_bounds_is_refused_naming_where_and_nothing_changes(world, body, field):
    ref, clients = world
    put_own(clients["bob"], ref, {"kept": 1})
    response = put_own(clients["bob"], ref, body)
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["fields"]
    assert clients["bob"].get(f"/api/integrations/{ref}/connection/metadata").json == {"kept": 1}


def test_nan_is_not_json_and_is_refused(world):
    ref, clients = world
    response = clients["bob"].put(
        f"/api/integrations/{ref}/connection/metadata",
        data='{"ratio": NaN}',
        content_type="application/json",
    )
    assert response.status_code == 400


def test_a_header_template_sends_the_holders_metadata(world, upstream):
    ref, clients = world
    put_own(clients["bob"], ref, {"customer": {"id": "c-42"}})
    put_own(clients["alice"], ref, {"customer": {"id": 7}})
    assert clients["bob"].get(f"/api/integrations/{ref}/proxy/v1/me").status_code == 200
    assert clients["alice"].get(f"/api/integrations/{ref}/proxy/v1/me").status_code == 200
    sent = [
        (seen["headers"]["Authorization"], seen["headers"]["X-Customer"]) for seen in upstream.seen
    ]
    assert sent == [("Bearer bob-tok", "c-42"), ("Bearer alice-tok", "7")]


@pytest.mark.parametrize(
    "value",
    [
        "c-42\r\nX-Injected: yes",
        "c-42\nX-Injected: yes",
        "c-42\u0085X-Injected: yes",
        "c-42\u2028X-Injected: yes",
        "ünïcode",
        {"nested": "object"},
        ["a", "list"],
    ],
)
def test_metadata_that_would_break_a_header_sends_nothing(world, upstream, value):
    ref, clients = world
    assert put_own(clients["bob"], ref, {"customer": {"id": value}}).status_code == 200
    response = clients["bob"].get(f"/api/integrations/{ref}/proxy/v1/me")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "header_refused"
    assert "X-Customer" in response.json["error"]["message"]
    assert "Injected" not in response.get_data(as_text=True)
    assert upstream.seen == []


def test_a_template_naming_a_missing_key_sends_an_empty_value(world, upstream):
    ref, clients = world
    assert clients["bob"].get(f"/api/integrations/{ref}/proxy/v1/me").status_code == 200
    assert upstream.seen[0]["headers"]["X-Customer"] == ""


def test_a_malformed_metadata_variable_is_refused_at_save(world):
    ref, clients = world
    for template in (
        "${connection.metadata.}",
        "${connection.metadata.a-b}",
        "${connection.meta.x}",
    ):
        response = clients["alice"].patch(
            f"/api/integrations/{ref}", json={"headers": {"X-Customer": template}}
        )
        assert response.status_code == 400, template
        assert "headers.X-Customer" in response.json["error"]["fields"]
    assert "${connection.metadata.<key>}" in json.dumps(response.json)
