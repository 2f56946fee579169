"""The background refresher (hub/refresher.py): one leader per deployment keeps tokens fresh.

In-process tests drive one turn at a time on SQLite and PostgreSQL; the live test starts two
real ``hub serve`` (two workers each) on one database, watches the provider's token endpoint
count the grants, kills the leading worker, and sees another take over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from hub import accounts
from hub.db import database
from hub.models import Connection, Integration
from hub.refresher import ADVISORY_KEY, Refresher, leader_lock

from .hostile import Answer, Upstream
from .live_servers import from_another_host, serving

TOKEN = "https://auth.example.org/token"


def oauth_connection(app, name: str, expires_in: float, provider: str = "custom") -> int:
    """An OAuth connection of ``name`` whose token expires in ``expires_in`` seconds."""
    with app.app_context(), database.connection_context():
        user = accounts.get_user(name)
        integration = Integration.create(
            owner=user.principal_id,
            slug=f"api-{provider}-{int(expires_in)}",
            name="API",
            provider=provider,
            auth_type="oauth2",
            auth_uri="https://auth.example.org/authorize",
            token_uri=TOKEN,
            client_id="client",
            api_base_uri="https://api.example.org",
        )
        now = dt.datetime.utcnow()
        connection = Connection.create(
            integration=integration,
            user=user,
            holder=f"user:{user.principal_id}",
            status="connected",
            expires_at=now + dt.timedelta(seconds=expires_in),
            last_refreshed_at=now - dt.timedelta(hours=1),
        )
        connection.set_secret("access_token", "old")
        connection.set_secret("refresh_token", "refresh-1")
        connection.save()
        return connection.id


def test_one_worker_leads_at_a_time_and_another_takes_over(app):
    first, second = leader_lock(app), leader_lock(app)
    with app.app_context():
        try:
            assert first.acquire() is True
            assert first.acquire() is True  # still leading at its next turn
            assert second.acquire() is False
            first.release()
            assert second.acquire() is True
            assert first.acquire() is False
        finally:
            first.release()
            second.release()


def test_a_turn_refreshes_what_is_due_and_nothing_else(app, make_user, requests_mock):
    make_user("alice")
    due = oauth_connection(app, "alice", expires_in=20)
    later = oauth_connection(app, "alice", expires_in=3600)
    requests_mock.post(TOKEN, json={"access_token": "new", "expires_in": 3600})
    refresher = Refresher(app, interval=30)

    try:
        refreshed = refresher.turn()
    finally:
        refresher.lock.release()

    assert refreshed == 1 and requests_mock.call_count == 1
    with app.app_context(), database.connection_context():
        assert Connection.get_by_id(due).get_secret("access_token").reveal() == "new"
        assert Connection.get_by_id(later).get_secret("access_token").reveal() == "old"


def test_a_turn_reports_leadership_and_how_late_it_reached_an_expired_token(
    app, make_user, requests_mock
):
    make_user("alice")
    oauth_connection(app, "alice", expires_in=-40)  # expired 40 s ago: the refresher is late
    requests_mock.post(TOKEN, json={"access_token": "new", "expires_in": 3600})
    leader, follower = Refresher(app, interval=30), Refresher(app, interval=30)

    try:
        leader.turn()
        leading = (sample("hub_background_refresher_leader"), lag())
        follower.turn()
        following = (sample("hub_background_refresher_leader"), lag())
    finally:
        leader.lock.release()
        follower.lock.release()

    assert leading[0] == 1 and 40 <= leading[1] < 60
    assert following == (0, 0)


def lag() -> float:
    return sample("hub_background_refresher_lag_seconds")


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_turn_skips_connections_waiting_out_a_back_off(app, make_user, requests_mock):
    make_user("alice")
    waiting = oauth_connection(app, "alice", expires_in=20)
    with app.app_context(), database.connection_context():
        Connection.update(retry_refresh_at=dt.datetime.utcnow() + dt.timedelta(minutes=5)).where(
            Connection.id == waiting
        ).execute()
    requests_mock.post(TOKEN, json={"access_token": "new", "expires_in": 3600})
    refresher = Refresher(app, interval=30)

    try:
        refreshed = refresher.turn()
    finally:
        refresher.lock.release()

    assert refreshed == 0 and not requests_mock.called


def test_a_worker_that_does_not_lead_refreshes_nothing(app, make_user, requests_mock):
    make_user("alice")
    oauth_connection(app, "alice", expires_in=20)
    requests_mock.post(TOKEN, json={"access_token": "new", "expires_in": 3600})
    leader, follower = Refresher(app, interval=30), Refresher(app, interval=30)

    try:
        led = leader.turn()
        followed = follower.turn()
    finally:
        leader.lock.release()
        follower.lock.release()

    assert (led, followed) == (1, 0) and requests_mock.call_count == 1


def test_refresh_due_names_each_connection_it_skips_and_why(app, make_user, runner):
    make_user("alice")
    oauth_connection(app, "alice", expires_in=20, provider="gone")

    result = runner.invoke(args=["refresh", "--due"])

    assert result.exit_code == 0, result.output
    assert "skipped alice:api-gone-20 (connection 1): provider gone is not installed" in (
        result.output
    )
    assert "1 skipped" in result.output


# -- two served hubs -------------------------------------------------------------------------


class Grants:
    """The provider's token endpoint: rotates both tokens, counts the refresh grants."""

    def __init__(self, upstream: Upstream) -> None:
        self.count = 0
        upstream.answer_with("token", self.grant)

    def grant(self, seen) -> Answer:
        self.count += 1
        body = {
            "access_token": f"access-{self.count}",
            "refresh_token": f"refresh-{self.count + 1}",
            "expires_in": 3600,
        }
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def leader_pid(database_url: str) -> int | None:
    """The process that holds the leadership, as the lock tells it."""
    if database_url.startswith("sqlite:///"):
        lock = Path(database_url.removeprefix("sqlite:///") + ".refresher.lock")
        text = lock.read_text().strip() if lock.exists() else ""
    else:
        # The session holding the advisory lock: a follower trying for it (or a dead leader's
        # session not yet reaped) also has a connection named hub-refresher.
        rows = from_another_host(
            database_url,
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s AND l.objsubid = 1",
            (ADVISORY_KEY,),
        )
        text = rows[0][0] if len(rows) == 1 else ""
    return int(text.rsplit(":", 1)[1]) if text else None


@pytest.mark.slow
def test_two_served_hubs_refresh_each_expiry_once_and_survive_the_leaders_death(
    database_url, tmp_path, upstream
):
    grants = Grants(upstream)
    postgres = database_url if database_url.startswith("postgresql") else None
    with serving(
        tmp_path,
        postgres,
        workers=2,
        threads=2,
        HUB_BACKGROUND_REFRESH="1",
        HUB_BACKGROUND_REFRESH_INTERVAL="1",
        HUB_REFRESH_SKEW="5",
    ) as hubs:
        database_url = hubs.database_url
        hubs.connected_integration(
            upstream.base, upstream.base, access="access-0", refresh="refresh-1", expires_in=3
        )

        # Due at once (3 s left, a 5 s window): one of the four workers refreshes it, once.
        assert wait_for(lambda: grants.count >= 1, 15)
        time.sleep(3)  # four turns of every worker: nobody refreshes it again
        assert grants.count == 1
        assert wait_for(lambda: leader_pid(database_url) is not None, 10)
        first = leader_pid(database_url)

        os.kill(first, signal.SIGKILL)  # the leading worker dies mid-deployment
        from_another_host(
            database_url,
            "UPDATE connection SET expires_at = %s, last_refreshed_at = %s",
            (
                dt.datetime.utcnow() + dt.timedelta(seconds=3),
                dt.datetime.utcnow() - dt.timedelta(hours=1),
            ),
        )

        assert wait_for(lambda: grants.count >= 2, 15)
        time.sleep(2)
        assert grants.count == 2
        assert wait_for(lambda: leader_pid(database_url) not in (None, first), 10)
