"""One refresh per connection at a time (SECURITY 9): 20 simultaneous users of an expired token
make exactly one refresh grant at the provider, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

from hub import accounts
from hub.db import database
from hub.models import Connection, Integration
from hub.tokens import ensure_fresh

TOKEN = "https://auth.example.org/token"
THREADS = 20


def test_twenty_simultaneous_refreshes_make_one_grant(app, make_user, requests_mock):
    make_user("alice")
    with app.app_context(), database.connection_context():
        user = accounts.get_user("alice")
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
        )
        connection.set_secret("access_token", "old-access")
        connection.set_secret("refresh_token", "refresh-1")
        connection.expires_at = dt.datetime(2020, 1, 1)
        connection.save()
        ids = integration.id, connection.id

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
