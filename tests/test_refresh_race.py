"""One refresh per connection at a time (SECURITY 9): 20 simultaneous users of an expired token
make exactly one refresh grant at the provider, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

from hub import accounts
from hub.db import database
from hub.models import Connection, Integration
from hub.tokens import ensure_fresh

from .live_servers import from_another_host

TOKEN = "https://auth.example.org/token"
THREADS = 20


def connected(user_name: str, access: str, expires_at: dt.datetime) -> Connection:
    """Alice's OAuth2 integration and her connection (call inside an app and a database
    context)."""
    user = accounts.get_user(user_name)
    integration = Integration.create(
        owner=user.principal_id,
        slug="race",
        name="Race",
        auth_type="oauth2",
        auth_uri="https://auth.example.org/authorize",
        token_uri=TOKEN,
        client_id="hub-client",
        api_base_uri="https://api.example.org",
    )
    connection = Connection.create(
        integration=integration,
        user=user,
        holder=f"user:{user.principal_id}",
        status="connected",
        expires_at=expires_at,
    )
    connection.set_secret("access_token", access)
    connection.set_secret("refresh_token", "refresh-1")
    connection.save()
    return connection


def test_twenty_simultaneous_refreshes_make_one_grant(app, make_user, requests_mock):
    make_user("alice")
    with app.app_context(), database.connection_context():
        connection = connected("alice", "old-access", dt.datetime(2020, 1, 1))
        ids = connection.integration_id, connection.id

    grants = []

    def slow_grant(request, context):
        grants.append(request.text)
        time.sleep(0.2)  # the provider's latency: the window in which a second refresh would race
        return {
            "access_token": f"new-access-{len(grants)}",
            "refresh_token": "refresh-2",
            "expires_in": 3600,
        }

    requests_mock.post(TOKEN, json=slow_grant)
    provider = app.extensions["hub"].registry.provider("custom")
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def use_token():
        try:
            with app.app_context(), database.connection_context():
                integration = Integration.get_by_id(ids[0])
                connection = Connection.get_by_id(ids[1])
                barrier.wait(timeout=10)
                fresh = ensure_fresh(provider, integration, connection)
                results.append(fresh.get_secret("access_token").reveal())
        except Exception as exc:  # reported below: a thread must not fail silently
            errors.append(repr(exc))

    threads = [threading.Thread(target=use_token) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(grants) == 1
    assert results == ["new-access-1"] * THREADS


# -- SECURITY 37: judged by the refused token, not by clocks --------------------------------------

API = "https://api.example.org/v1/me"


def test_a_token_another_host_replaced_is_used_not_refreshed_again(
    app, make_user, login, requests_mock, database_url
):
    """The provider stops accepting T (it expired on its side; the hub still thinks it valid).
    While this request waits for its 401, another host refreshes T to T2 — and that host's clock
    is an hour behind, so its ``last_refreshed_at`` is older than this request's start. This
    request must retry with T2, not make a second refresh grant (which, with a provider that
    rotates refresh tokens and detects reuse, would cost the user the connection)."""
    make_user("alice")
    client = login("alice")
    with app.app_context(), database.connection_context():
        connection = connected("alice", "token-T", dt.datetime(2100, 1, 1))
        # What the other host will write: T2 under the same key, bound to the same row.
        connection.set_secret("access_token", "token-T2")
        replaced = connection.access_token
        ids = connection.integration_id, connection.id

    grants = []
    requests_mock.post(TOKEN, json=lambda request, context: grants.append(1) or {})

    def api(request, context):
        if request.headers["Authorization"] == "Bearer token-T":
            from_another_host(
                database_url,
                "UPDATE connection SET access_token = %s, last_refreshed_at = %s WHERE id = %s",
                (replaced, dt.datetime.utcnow() - dt.timedelta(hours=1), ids[1]),
            )
            context.status_code = 401
            return {"error": "expired"}
        return {"me": request.headers["Authorization"]}

    requests_mock.get(API, json=api)

    answer = client.get(f"/api/integrations/{ids[0]}/proxy/v1/me")

    assert answer.status_code == 200, answer.get_json()
    assert json.loads(answer.get_data()) == {"me": "Bearer token-T2"}
    assert grants == []
