"""Webhooks sent by real ``hub serve`` processes to a real receiver (tests/webhook_receiver.py).

A hub whose sender crashes between two attempts still delivers the event, once, when it is
started again; two hubs (two workers each) on one PostgreSQL deliver every event exactly once,
each connection's events in order.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .live_servers import (
    ALICE_PASSWORD,
    HUB,
    Server,
    api_session,
    clean_environment,
    free_port,
    from_another_host,
    run_cli,
    serving,
    spawn,
    wait_until_serving,
)
from .test_refresher import wait_for
from .webhook_receiver import Receiver, Step

pytestmark = [pytest.mark.slow]

EVENTS = ["connection.connected", "connection.disconnected", "integration.updated"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(check_time=True)
    yield server
    server.stop()


def setup(url: str, auth: dict[str, str], receiver: Receiver) -> int:
    """Alice's bearer integration with an endpoint at ``receiver``; the integration's id."""
    with api_session() as http:
        made = http.post(
            f"{url}/api/integrations",
            headers=auth,
            json={"name": "Files", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        ref = made.json()["id"]
        hook = http.post(
            f"{url}/api/webhooks",
            headers=auth,
            json={"url": receiver.url, "events": EVENTS, "integration": ref},
            timeout=10,
        )
        assert hook.status_code == 201, hook.text
        receiver.secret = hook.json()["secret"]
    return ref


# -- a crash between two attempts ---------------------------------------------------------------


@contextmanager
def one_hub(folder: Path) -> Iterator[tuple[dict[str, str], Path, dict[str, str]]]:
    """An instance folder with alice and her token: its environment, database file and auth."""
    if not HUB.exists():
        pytest.skip(f"the hub command is not installed next to {HUB.parent}")
    environment = clean_environment(
        HUB_INSTANCE_PATH=str(folder / "instance"),
        HUB_ALLOW_PRIVATE_ADDRESSES="1",
        HUB_WEBHOOKS_INTERVAL="1",
    )
    run_cli(environment, folder, "init", "--no-admin")
    run_cli(
        environment, folder, "users", "create", "alice", "--password-stdin", stdin=ALICE_PASSWORD
    )
    token = run_cli(environment, folder, "tokens", "create", "alice").strip().splitlines()[-1]
    yield environment, folder / "instance" / "hub.db", {"Authorization": f"Bearer {token}"}


def start(folder: Path, environment: dict[str, str]) -> Server:
    port = free_port()
    log = folder / f"hub-{port}.log"
    command = [str(HUB), "serve", "--port", str(port), "--workers", "1", "--threads", "4"]
    server = Server(f"http://127.0.0.1:{port}", spawn(command, environment, log), log)
    wait_until_serving(server, "/healthz")
    return server


def crash(server: Server, database: Path) -> None:
    """SIGKILL the server and the worker that leads its sender: nothing shuts down cleanly."""
    lock = database.with_name(database.name + ".webhooks.lock")
    assert wait_for(lambda: lock.exists() and lock.read_text().strip(), 10)
    worker = int(lock.read_text().strip().rsplit(":", 1)[1])
    server.process.kill()  # first, so that it starts no worker in the dead one's place
    server.process.wait()
    os.kill(worker, signal.SIGKILL)


def test_a_hub_restarted_mid_retry_still_delivers_the_event_once(tmp_path, receiver):
    receiver.script(Step(500))  # the first attempt fails; any later one succeeds
    with one_hub(tmp_path) as (environment, database, auth):
        server = start(tmp_path, environment)
        try:
            ref = setup(server.url, auth, receiver)
            with api_session() as http:
                connected = http.post(
                    f"{server.url}/api/integrations/{ref}/connection",
                    headers=auth,
                    json={"token": "t"},
                    timeout=10,
                )
            assert connected.status_code == 200, connected.text
            assert wait_for(lambda: len(receiver.received) == 1, 15), server.output()
            crash(server, database)
        finally:
            server.stop()
        url = f"sqlite:///{database}"
        ((status, attempts),) = from_another_host(
            url, "SELECT status, attempts FROM webhook_delivery"
        )
        assert (status, attempts) == ("pending", 1)
        # Its back-off over while the hub was down (instead of waiting it out here).
        from_another_host(url, "UPDATE webhook_delivery SET next_attempt_at = '2000-01-01'")

        again = start(tmp_path, environment)
        try:
            assert wait_for(lambda: len(receiver.delivered()) == 1, 15), again.output()
            time.sleep(2)  # two more rounds: nothing is sent again
        finally:
            again.stop()

    first, second = receiver.received
    assert (first.answered, second.answered) == (500, 200)
    assert first.event == second.event and first.delivery == second.delivery
    assert second.verified and len(receiver.received) == 2
    assert from_another_host(url, "SELECT status, attempts FROM webhook_delivery") == [
        ("delivered", 2)
    ]


# -- two hubs on one PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
def test_two_hubs_on_postgresql_deliver_each_event_once(postgres_database, tmp_path, receiver):
    with serving(
        tmp_path, postgres_database, workers=2, threads=4, HUB_WEBHOOKS_INTERVAL="1"
    ) as hubs:
        ref = setup(hubs.urls[0], hubs.auth, receiver)
        with api_session() as http:
            for number in range(10):
                url = f"{hubs.urls[number % 2]}/api/integrations/{ref}"
                calls = [
                    http.post(
                        f"{url}/connection",
                        headers=hubs.auth,
                        json={"token": f"t{number}"},
                        timeout=10,
                    ),
                    http.patch(
                        url, headers=hubs.auth, json={"name": f"Files {number}"}, timeout=10
                    ),
                    http.delete(f"{url}/connection", headers=hubs.auth, timeout=10),
                ]
                assert [c.status_code for c in calls] == [200, 200, 204]
        assert wait_for(lambda: len(receiver.delivered()) >= 30, 60)
        time.sleep(3)  # three more rounds of every sender: nothing is sent twice
        rows = from_another_host(
            hubs.database_url, "SELECT status, count(*) FROM webhook_delivery GROUP BY status"
        )

    assert rows == [("delivered", 30)]
    received = receiver.received
    assert all(r.verified for r in received)
    assert len({r.delivery for r in received}) == len(received) == 30
    events = [r.event for r in received]
    assert len({e["id"] for e in events}) == 30
    connection = [e for e in events if e["type"].startswith("connection.")]
    assert [e["id"] for e in connection] == sorted(e["id"] for e in connection)
    assert [e["type"] for e in connection] == [
        "connection.connected",
        "connection.disconnected",
    ] * 10
