"""Outgoing webhooks, end to end in one process: changes made through the API reach a real
receiver on 127.0.0.1 that checks every signature with its own code.

The sender is driven one round at a time (:func:`hub.webhook_sender.send_due`, what
``hub webhooks send`` does) and time is the hub's fake clock: retries, back-off and the 24-hour
window pass without sleeping. Each test runs on SQLite and, with ``HUB_TEST_DATABASE_URL``, on
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from hub import sharing, webhook_sender, webhooks
from hub.accounts import get_user
from hub.db import database, utcnow
from hub.migrations import SchemaMigration, migrate
from hub.models import (
    Integration,
    Principal,
    Share,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from hub.webhook_sender import send_due

from .webhook_receiver import Receiver, Step, verify

ALL_CONNECTION_EVENTS = list(webhooks.CONNECTION_EVENTS)


pytestmark = pytest.mark.loopback


@pytest.fixture
def people(app, make_user):
    for name in ("alice", "bob", "carol"):
        make_user(name)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def as_user(app, people, login):
    return login


@pytest.fixture
def api(app, as_user):
    """Alice's client, and her bearer integration shared with bob (``use``)."""
    alice = as_user("alice")
    created = alice.post(
        "/api/integrations",
        json={"name": "Files", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    assert (
        alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"}).status_code == 200
    )
    return alice, ref


def register(client, receiver: Receiver, ref, events=None) -> dict:
    answer = client.post(
        "/api/webhooks",
        json={"url": receiver.url, "events": events or ALL_CONNECTION_EVENTS, "integration": ref},
    )
    assert answer.status_code == 201, answer.json
    receiver.secret = answer.json["secret"]
    return answer.json


def send(app) -> webhook_sender.Round:
    with app.app_context(), database.connection_context():
        return send_due()


def rows(app, query):
    with app.app_context(), database.connection_context():
        return list(query)


# -- delivery ---------------------------------------------------------------------------------


def test_events_reach_the_receiver_once_each_signed_and_in_order_per_connection(
    app, api, as_user, receiver, hub_clock
):
    alice, ref = api
    bob = as_user("bob")
    register(alice, receiver, ref)
    receiver.script(Step(500))  # the first event fails once: the ones after it must wait
    url = f"/api/integrations/{ref}/connection"
    for client, token in [(alice, "a1"), (bob, "b1"), (alice, "a2"), (bob, "b2")]:
        assert client.post(url, json={"token": token}).status_code == 200
        assert client.delete(url).status_code == 204

    for _ in range(20):
        send(app)
        hub_clock.advance(webhook_sender.RETRY_MAX)

    delivered = receiver.delivered()
    assert all(r.verified for r in receiver.received)
    ids = [r.event["id"] for r in delivered]
    assert len(ids) == len(set(ids)) == 8
    by_holder: dict[str, list[tuple[int, str]]] = {}
    for r in delivered:
        event = r.event
        by_holder.setdefault(event["data"]["holder"], []).append((event["id"], event["type"]))
    expected = ["connection.connected", "connection.disconnected"] * 2
    for holder in ("user:alice", "user:bob"):
        assert [kind for _, kind in by_holder[holder]] == expected
        assert [i for i, _ in by_holder[holder]] == sorted(i for i, _ in by_holder[holder])


def test_a_delivery_carries_the_documented_headers_and_payload(app, api, receiver):
    alice, ref = api
    register(alice, receiver, ref)
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})

    send(app)

    (got,) = receiver.delivered()
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("IntegrationHub-Webhooks/")
    assert got.headers["Hub-Event"] == "connection.connected"
    assert got.headers["Hub-Delivery"].isdigit()
    assert got.headers["Hub-Signature"].startswith("t=")
    event = got.event
    assert set(event) == {"id", "type", "createdAt", "integration", "data"}
    assert event["integration"] == {"id": ref, "naturalId": "alice:files", "provider": "custom"}
    assert event["data"] == {
        "connectionId": event["data"]["connectionId"],
        "holder": "user:alice",
        "user": "alice",
        "status": "connected",
        "account": {"externalId": None, "email": None},
        "lastError": None,
    }


def test_a_failing_receiver_is_retried_with_growing_waits_and_no_redirect_is_followed(
    app, api, receiver, hub_clock, monkeypatch
):
    elsewhere = Receiver()
    monkeypatch.setattr(webhook_sender, "TIMEOUT", (2.0, 0.3))
    alice, ref = api
    hook = register(alice, receiver, ref)
    receiver.script(Step(500), Step(200, delay=1.0), Step(302, location=elsewhere.url))
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})

    waits = []
    for _ in range(4):
        before = utcnow()
        send(app)
        (row,) = rows(app, WebhookDelivery.select())
        waits.append((row.next_attempt_at - before).total_seconds())
        hub_clock.advance(webhook_sender.RETRY_MAX)

    log = alice.get(f"/api/webhooks/{hook['id']}/deliveries").json["items"][0]
    assert log["status"] == "delivered" and log["attempts"] == 4
    attempts = sorted(log["log"], key=lambda a: a["attempt"])
    assert [a["statusCode"] for a in attempts] == [500, None, 302, 200]
    assert "500" in attempts[0]["error"]
    assert "in time" in attempts[1]["error"]
    assert "redirects are not followed" in attempts[2]["error"]
    assert attempts[3]["error"] is None
    assert elsewhere.received == []
    # Back-off: half to all of 10 s, 20 s, 40 s after the first three failures.
    assert 5 <= waits[0] <= 10 < waits[1] <= 20 < waits[2] <= 40
    elsewhere.stop()


def test_after_24_hours_of_failures_a_delivery_is_failed_and_logged(app, api, receiver, hub_clock):
    alice, ref = api
    hook = register(alice, receiver, ref)
    receiver.script(*[Step(503)] * 100)
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})
    started = utcnow()

    for _ in range(100):
        send(app)
        (row,) = rows(app, WebhookDelivery.select())
        if row.status != "pending":
            break
        hub_clock.now = row.next_attempt_at

    assert row.status == "failed"
    assert utcnow() - started >= dt.timedelta(hours=24)
    assert row.deadline == started + dt.timedelta(hours=24)
    log = alice.get(f"/api/webhooks/{hook['id']}/deliveries", query_string={"status": "failed"})
    (item,) = log.json["items"]
    assert item["attempts"] == len(receiver.received) > 10
    assert item["lastStatusCode"] == 503 and "503" in item["lastError"]
    assert receiver.delivered() == []


def test_a_redelivery_sends_the_same_event_again_under_a_new_delivery_id(app, api, receiver):
    alice, ref = api
    hook = register(alice, receiver, ref)
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})
    send(app)
    first = alice.get(f"/api/webhooks/{hook['id']}/deliveries").json["items"][0]

    again = alice.post(f"/api/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver")
    send(app)

    assert again.status_code == 202 and again.json["redeliveryOf"] == first["id"]
    one, two = receiver.delivered()
    assert one.event == two.event
    assert (one.delivery, two.delivery) == (str(first["id"]), str(again.json["id"]))


def test_a_test_ping_goes_to_that_endpoint_alone(app, api, receiver):
    alice, ref = api
    hook = register(alice, receiver, ref)
    other = Receiver()
    register(alice, other, ref)

    answer = alice.post(f"/api/webhooks/{hook['id']}/test")
    send(app)

    assert answer.status_code == 202 and answer.json["eventType"] == "ping"
    (got,) = receiver.delivered()
    assert got.verified and got.event["type"] == "ping"
    assert got.event["data"]["webhookId"] == hook["id"]
    assert other.received == []
    other.stop()


def test_a_new_secret_signs_what_is_sent_after_it(app, api, receiver):
    alice, ref = api
    hook = register(alice, receiver, ref)
    old = receiver.secret

    rotated = alice.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})
    send(app)

    assert rotated.json["secret"] not in (None, old)
    (got,) = receiver.delivered()
    assert not got.verified  # checked with the old secret
    assert verify(rotated.json["secret"], got.headers["Hub-Signature"], got.body)


def test_an_address_that_turned_internal_is_not_called_at_send_time(
    app, make_user, login, monkeypatch, receiver
):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    make_user("alice")
    alice = login("alice")
    made = alice.post(
        "/api/integrations",
        json={"name": "Files", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    ref = made.json["id"]
    created = alice.post(
        "/api/webhooks",
        json={
            "url": "https://hooks.example.org/in",
            "events": ["connection.connected"],
            "integration": ref,
        },
    )
    assert created.status_code == 201, created.json
    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})
    monkeypatch.setattr("hub.netguard.resolve_host", lambda host: ["127.0.0.1"])  # rebinding

    send(app)

    (row,) = rows(app, WebhookDelivery.select())
    assert row.status == "pending" and row.attempts == 1
    assert "refuses" in row.last_error and row.last_status_code is None


# -- the outbox and its transaction -----------------------------------------------------------


def test_a_change_that_rolls_back_writes_no_event_and_one_that_commits_writes_one(
    app, api, receiver
):
    alice, ref = api
    register(alice, receiver, ref, events=["share.granted"])

    with app.app_context(), database.connection_context():
        integration = Integration.get_by_id(ref)
        carol = Principal.get(Principal.name == "carol")
        with database.atomic() as transaction:
            sharing.set_share(get_user("alice"), integration, carol, "use")
            transaction.rollback()
        assert WebhookEvent.select().count() == 0
        assert Share.select().where(Share.principal == carol).count() == 0

        sharing.set_share(get_user("alice"), integration, carol, "use")
        assert [e.type for e in WebhookEvent.select()] == ["share.granted"]
        assert WebhookDelivery.select().count() == 1


def test_a_change_whose_event_cannot_be_written_is_undone(app, api, receiver, monkeypatch):
    alice, ref = api
    register(alice, receiver, ref, events=["share.granted"])

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is full")

    monkeypatch.setattr(WebhookDelivery, "insert_many", broken)
    with app.app_context(), database.connection_context():
        integration = Integration.get_by_id(ref)
        carol = Principal.get(Principal.name == "carol")
        with pytest.raises(RuntimeError):
            sharing.set_share(get_user("alice"), integration, carol, "use")
        assert Share.select().where(Share.principal == carol).count() == 0


def test_no_event_is_written_when_no_endpoint_wants_it(app, api, receiver):
    alice, ref = api
    register(alice, receiver, ref, events=["integration.deleted"])

    alice.post(f"/api/integrations/{ref}/connection", json={"token": "t"})

    assert rows(app, WebhookEvent.select()) == []


def test_hub_wide_endpoints_hear_every_integration_even_its_deletion(app, people, login, receiver):
    root_user = login("alice")  # made an administrator below
    with app.app_context(), database.connection_context():
        user = get_user("alice")
        user.is_superuser = True
        user.save()
    created = root_user.post(
        "/api/webhooks",
        json={"url": receiver.url, "events": list(webhooks.INTEGRATION_EVENTS)},
    )
    assert created.status_code == 201, created.json
    receiver.secret = created.json["secret"]
    bob = login("bob")
    made = bob.post(
        "/api/integrations",
        json={"name": "Bob's", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    ref = made.json["id"]
    bob.patch(f"/api/integrations/{ref}", json={"name": "Renamed"})
    bob.delete(f"/api/integrations/{ref}")

    send(app)

    events = [r.event for r in receiver.delivered()]
    assert [e["type"] for e in events] == list(webhooks.INTEGRATION_EVENTS)
    assert events[1]["data"]["fields"] == ["name"]
    assert {e["integration"]["naturalId"] for e in events} == {"bob:bob-s"}


# -- concurrency ------------------------------------------------------------------------------


def test_two_senders_at_once_send_each_delivery_once(app, api, receiver):
    alice, ref = api
    register(alice, receiver, ref, events=["integration.updated"])
    for number in range(12):
        alice.patch(f"/api/integrations/{ref}", json={"name": f"Name {number}"})
        with app.app_context(), database.connection_context():
            # Unordered, so that both senders have work at once.
            WebhookDelivery.update(ordering_key=None).execute()
    barrier = threading.Barrier(2)
    errors = []

    def sender() -> None:
        try:
            with app.app_context(), database.connection_context():
                barrier.wait(timeout=10)
                send_due()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    deliveries = [r.delivery for r in receiver.delivered()]
    assert len(deliveries) == len(set(deliveries)) == 12
    assert {row.status for row in rows(app, WebhookDelivery.select())} == {"delivered"}


# -- storage ----------------------------------------------------------------------------------


def test_migration_6_adds_the_webhook_tables_to_an_older_database(app):
    tables = [WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookEndpoint]
    with app.app_context():
        with database.connection_context():
            database.drop_tables(tables)
            SchemaMigration.delete().where(SchemaMigration.version == 6).execute()

        applied = migrate()

        with database.connection_context():
            assert [m.version for m in applied] == [6]
            assert {t._meta.table_name for t in tables} <= set(database.get_tables())


def test_the_secret_is_stored_encrypted(app, api, receiver):
    alice, ref = api
    hook = register(alice, receiver, ref)

    (row,) = rows(app, WebhookEndpoint.select())

    assert receiver.secret not in row.secret
    with app.app_context():
        assert row.get_secret("secret").reveal() == receiver.secret
    assert hook["secret"] == receiver.secret
