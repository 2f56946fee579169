"""The webhook pages: an integration's (manage), the hub-wide ones (administrators), and one
endpoint's deliveries with a redeliver button; CSRF-protected forms, the secret shown once."""

from __future__ import annotations

import re

import pytest

from hub.db import database
from hub.models import WebhookDelivery

HOOK = "https://hooks.example.org/in"


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def shown_secret(html: str) -> str | None:
    found = re.search(r"data-secret>(whsec_[^<]+)<", html)
    return found.group(1) if found else None


@pytest.fixture
def world(app, make_user, login):
    make_user("root", superuser=True)
    for name in ("alice", "bob", "dave"):
        make_user(name)
    alice = login("alice")
    ref = alice.post(
        "/api/integrations",
        json={"name": "Files", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    ).json["id"]
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"})
    return alice, ref


def add_hook(client, path: str, **form):
    data = {"url": HOOK, "events": ["connection.connected"], **form}
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)})


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(world):
    alice, ref = world
    path = f"/integrations/{ref}/webhooks"

    added = add_hook(alice, path, description="CRM")
    secret = shown_secret(added.get_data(as_text=True))
    again = alice.get(path).get_data(as_text=True)

    assert added.status_code == 200 and secret is not None
    assert HOOK in again and "CRM" in again
    assert shown_secret(again) is None and secret not in again
    listed = alice.get("/api/webhooks").json["items"]
    assert [(h["url"], h["events"]) for h in listed] == [(HOOK, ["connection.connected"])]


def test_the_sharing_page_links_to_the_webhooks(world):
    alice, ref = world

    page = alice.get(f"/integrations/{ref}/sharing").get_data(as_text=True)

    assert f"/integrations/{ref}/webhooks" in page


def test_a_bad_url_is_shown_next_to_the_form(world):
    alice, ref = world

    answer = add_hook(alice, f"/integrations/{ref}/webhooks", url="http://127.0.0.1/in")

    assert answer.status_code == 400
    assert "loopback" in answer.get_data(as_text=True)
    assert alice.get("/api/webhooks").json["items"] == []


def test_the_form_without_a_csrf_token_is_refused(world):
    alice, ref = world

    answer = alice.post(
        f"/integrations/{ref}/webhooks", data={"url": HOOK, "events": "connection.connected"}
    )

    assert answer.status_code == 403
    assert alice.get("/api/webhooks").json["items"] == []


def test_a_use_sharee_gets_403_and_an_outsider_404(world, login):
    _, ref = world

    assert login("bob").get(f"/integrations/{ref}/webhooks").status_code == 403
    assert login("dave").get(f"/integrations/{ref}/webhooks").status_code == 404


def test_hub_wide_endpoints_are_an_administrators_page(world, login):
    alice, _ = world
    root = login("root")

    added = add_hook(root, "/admin/webhooks")

    assert alice.get("/admin/webhooks").status_code == 404
    assert added.status_code == 200 and shown_secret(added.get_data(as_text=True))
    assert [h["scope"] for h in root.get("/api/webhooks").json["items"]] == ["hub"]
    assert "Webhooks" in root.get("/admin").get_data(as_text=True)


def test_the_endpoint_page_sends_a_test_and_redelivers(world, app):
    alice, ref = world
    add_hook(alice, f"/integrations/{ref}/webhooks")
    hook = alice.get("/api/webhooks").json["items"][0]["id"]
    path = f"/webhooks/{hook}"

    tested = alice.post(f"{path}/test", data={"csrf_token": csrf_token(alice, path)})
    page = alice.get(path).get_data(as_text=True)
    with app.app_context(), database.connection_context():
        first = WebhookDelivery.get().id
    again = alice.post(
        f"{path}/deliveries/{first}/redeliver", data={"csrf_token": csrf_token(alice, path)}
    )

    assert tested.status_code == 303 and again.status_code == 303
    assert "ping" in page and "Redeliver" in page
    with app.app_context(), database.connection_context():
        assert [d.redelivery_of for d in WebhookDelivery.select().order_by(WebhookDelivery.id)] == [
            None,
            first,
        ]


def test_pausing_and_deleting_from_the_list(world):
    alice, ref = world
    path = f"/integrations/{ref}/webhooks"
    add_hook(alice, path)
    hook = alice.get("/api/webhooks").json["items"][0]["id"]

    paused = alice.post(
        f"/webhooks/{hook}/active", data={"active": "0", "csrf_token": csrf_token(alice, path)}
    )
    state = alice.get(f"/api/webhooks/{hook}").json["active"]
    deleted = alice.post(f"/webhooks/{hook}/delete", data={"csrf_token": csrf_token(alice, path)})

    assert paused.status_code == deleted.status_code == 303
    assert state is False
    assert alice.get("/api/webhooks").json["items"] == []
