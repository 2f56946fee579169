"""``/api/webhooks`` from the outside: who may manage which endpoints, which URLs are refused,
and where the signing secret (and any credential) may never appear."""

from __future__ import annotations

import json

import pytest

from hub.db import database
from hub.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from hub.webhook_sender import send_due

from .webhook_receiver import Receiver

HOOK = "https://hooks.example.org/in"
TOKEN = "tok-known-9f8e7d6c5b4a"


@pytest.fixture
def world(app, make_user, login):
    """Alice owns a bearer integration shared with bob (use) and carol (edit); dave is an
    outsider, root an administrator."""
    make_user("root", superuser=True)
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)
    alice = login("alice")
    created = alice.post(
        "/api/integrations",
        json={"name": "Files", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    ref = created.json["id"]
    for name, level in (("bob", "use"), ("carol", "edit")):
        assert (
            alice.put(f"/api/integrations/{ref}/shares/{name}", json={"access": level}).status_code
            == 200
        )
    return alice, ref


def new_hook(client, ref=None, url=HOOK, events=("connection.connected",)):
    body = {"url": url, "events": list(events)}
    if ref is not None:
        body["integration"] = ref
    return client.post("/api/webhooks", json=body)


def scoped(client, *scopes):
    made = client.post("/api/tokens", json={"name": "scoped", "scopes": list(scopes)})
    return {"Authorization": f"Bearer {made.json['token']}"}


# -- who ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bob", "carol"])
def test_a_sharee_without_manage_can_neither_list_nor_create_an_integrations_webhooks(
    world, login, name
):
    alice, ref = world
    hook = new_hook(alice, ref).json
    sharee = login(name)

    assert sharee.get("/api/webhooks", query_string={"integration": ref}).status_code == 403
    assert new_hook(sharee, ref).status_code == 403
    assert sharee.get(f"/api/webhooks/{hook['id']}").status_code == 403
    assert sharee.delete(f"/api/webhooks/{hook['id']}").status_code == 403
    assert sharee.get("/api/webhooks").json["items"] == []


def test_an_outsider_gets_404_for_an_integrations_webhooks(world, login):
    alice, ref = world
    hook = new_hook(alice, ref).json
    dave = login("dave")

    assert dave.get("/api/webhooks", query_string={"integration": ref}).status_code == 404
    assert new_hook(dave, ref).status_code == 404
    for method in ("get", "delete"):
        assert getattr(dave, method)(f"/api/webhooks/{hook['id']}").status_code == 404
    assert dave.post(f"/api/webhooks/{hook['id']}/test").status_code == 404
    assert dave.get(f"/api/webhooks/{hook['id']}/deliveries").status_code == 404


def test_a_manager_by_share_manages_the_integrations_webhooks(world, login):
    alice, ref = world
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "manage"})
    bob = login("bob")

    made = new_hook(bob, ref)

    assert made.status_code == 201
    assert [h["id"] for h in alice.get("/api/webhooks").json["items"]] == [made.json["id"]]
    assert (
        bob.patch(f"/api/webhooks/{made.json['id']}", json={"active": False}).json["active"]
        is False
    )


def test_only_an_administrator_makes_hub_wide_webhooks(world, login):
    alice, _ = world
    root = login("root")

    refused = new_hook(alice)
    made = new_hook(root)

    assert refused.status_code == 403
    assert made.status_code == 201 and made.json["scope"] == "hub"
    assert alice.get(f"/api/webhooks/{made.json['id']}").status_code == 404
    assert made.json["id"] not in [h["id"] for h in alice.get("/api/webhooks").json["items"]]


def test_a_hub_wide_webhook_needs_the_admin_scope_besides_webhooks_manage(world, login):
    root = login("root")
    hook = new_hook(root).json
    narrow = scoped(root, "webhooks:manage")
    both = scoped(root, "webhooks:manage", "admin")

    refused = root.post(
        "/api/webhooks", json={"url": HOOK, "events": ["integration.created"]}, headers=narrow
    )
    made = root.post(
        "/api/webhooks", json={"url": HOOK, "events": ["integration.created"]}, headers=both
    )

    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "insufficient_scope"
    assert root.get(f"/api/webhooks/{hook['id']}", headers=narrow).status_code == 403
    assert made.status_code == 201


def test_webhook_changes_are_audited(world, login):
    alice, ref = world
    hook = new_hook(alice, ref).json
    alice.patch(f"/api/webhooks/{hook['id']}", json={"description": "CRM"})
    alice.post(f"/api/webhooks/{hook['id']}/test")
    alice.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    alice.delete(f"/api/webhooks/{hook['id']}")

    events = login("root").get("/api/audit", query_string={"action": "webhook."}).json["items"]

    assert [e["action"] for e in reversed(events)] == [
        "webhook.create",
        "webhook.update",
        "webhook.test",
        "webhook.rotate_secret",
        "webhook.delete",
    ]
    assert {e["details"]["origin"] for e in events} == {"https://hooks.example.org"}


def test_unknown_event_types_and_ping_cannot_be_subscribed_to(world):
    alice, ref = world

    for events in (["ping"], ["connection.exploded"], []):
        answer = new_hook(alice, ref, events=events)
        assert answer.status_code == 400 and "events" in str(answer.json["error"]["fields"])


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:8080/in", "loopback"),
        ("https://localhost/in", "loopback"),
        ("https://10.0.0.7/in", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://hooks.internal.test/in", "non-public"),
        ("http://hooks.example.org/in", "https"),
        ("https://user:pw@hooks.example.org/in", "user information"),
        ("ftp://hooks.example.org/in", "http(s)"),
    ],
)
def test_a_url_the_hub_may_not_call_is_refused(world, url, reason):
    alice, ref = world

    answer = new_hook(alice, ref, url=url)

    assert answer.status_code == 400
    assert reason in answer.json["error"]["fields"]["url"]
    patched = alice.patch(f"/api/webhooks/{new_hook(alice, ref).json['id']}", json={"url": url})
    assert patched.status_code == 400


def test_a_private_address_is_accepted_when_the_hub_allows_it(world, app):
    alice, ref = world
    app.config["ALLOW_PRIVATE_ADDRESSES"] = True

    answer = new_hook(alice, ref, url="http://127.0.0.1:8080/in")

    assert answer.status_code == 201 and answer.json["url"] == "http://127.0.0.1:8080/in"


# -- secrets ------------------------------------------------------------------------------------


def test_the_secret_is_in_the_creation_answer_and_nowhere_else(world, app, login):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = True
    receiver = Receiver()
    alice, ref = world
    created = new_hook(alice, ref, url=receiver.url, events=["connection.connected"])
    secret = receiver.secret = created.json["secret"]
    hook = created.json["id"]
    assert secret.startswith("whsec_") and len(secret) > 40

    alice.post(f"/api/integrations/{ref}/connection", json={"token": TOKEN})
    tested = alice.post(f"/api/webhooks/{hook}/test")
    with app.app_context(), database.connection_context():
        send_due()
    root = login("root")
    answers = [
        alice.get("/api/webhooks"),
        alice.get(f"/api/webhooks/{hook}"),
        alice.patch(f"/api/webhooks/{hook}", json={"description": "x"}),
        alice.get(f"/api/webhooks/{hook}/deliveries"),
        tested,
        root.get("/api/audit"),
        root.get("/api/webhooks"),
    ]
    first = answers[3].json["items"][0]["id"]
    answers.append(alice.post(f"/api/webhooks/{hook}/deliveries/{first}/redeliver"))

    assert all(a.status_code < 300 for a in answers)
    for answer in answers:
        assert secret not in answer.get_data(as_text=True)
    assert len(receiver.delivered()) == 2 and all(r.verified for r in receiver.received)
    for got in receiver.received:
        assert secret not in got.body.decode() + json.dumps(got.headers)
    with app.app_context(), database.connection_context():
        stored = [
            json.dumps(row.__data__, default=str)
            for model in (WebhookEvent, WebhookDelivery, WebhookAttempt, WebhookEndpoint)
            for row in model.select()
        ]
    assert not any(secret in text for text in stored)
    receiver.stop()


def test_payloads_never_carry_a_token_or_credential(world, app, login):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = True
    receiver = Receiver()
    alice, ref = world
    root = login("root")
    created = root.post(
        "/api/webhooks",
        json={
            "url": receiver.url,
            "events": ["connection.connected", "connection.disconnected", "integration.updated"],
        },
    )
    receiver.secret = created.json["secret"]
    oauth = alice.post(
        "/api/integrations",
        json={
            "name": "OAuth",
            "authType": "oauth2",
            "authUri": "https://auth.example.org/authorize",
            "tokenUri": "https://auth.example.org/token",
            "clientId": "client",
            "clientSecret": "client-secret-" + TOKEN,
            "apiBaseUri": "https://api.example.org",
        },
    ).json["id"]

    alice.post(f"/api/integrations/{ref}/connection", json={"token": TOKEN})
    alice.post(
        f"/api/integrations/{oauth}/connection",
        json={"accessToken": "access-" + TOKEN, "refreshToken": "refresh-" + TOKEN},
    )
    alice.patch(f"/api/integrations/{oauth}", json={"clientSecret": "rotated-" + TOKEN})
    alice.delete(f"/api/integrations/{ref}/connection")
    with app.app_context(), database.connection_context():
        send_due()
        payloads = [json.dumps(event.payload) for event in WebhookEvent.select()]

    kinds = [r.event["type"] for r in receiver.delivered()]
    assert kinds == [
        "connection.connected",
        "connection.connected",
        "integration.updated",
        "connection.disconnected",
    ]
    for got in receiver.received:
        assert TOKEN not in got.body.decode() + json.dumps(got.headers)
    assert len(payloads) == 4 and not any(TOKEN in text for text in payloads)
    receiver.stop()
