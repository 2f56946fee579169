"""One refresh per connection at a time across processes (SECURITY 9, DESIGN §7).

Two real hub processes (``hub serve``, gunicorn) on one PostgreSQL database; 20 simultaneous
``POST /api/integrations/{id}/connection/refresh`` calls on an expired token, split across both,
all sent before the first can finish. A provider that rotates refresh tokens revokes the grant
when an old one is reused, so they must make exactly one refresh grant at the token endpoint.

Needs ``HUB_TEST_DATABASE_URL`` (a PostgreSQL server); skips without it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import psycopg2
import pytest
import requests

from .live_servers import (
    HUB,
    Server,
    clean_environment,
    free_port,
    run_cli,
    spawn,
    wait_until_serving,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLS = 20
THREADS = 12  # per process: more than the 10 calls each gets, so that all 20 run at once
GRANT_DELAY = 0.3  # seconds the token endpoint takes: the window in which a second refresh races


# -- the provider's token endpoint -----------------------------------------------------------


@dataclass
class TokenEndpoint:
    url: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    grants: list[str] = field(default_factory=list)  # the refresh token each grant presented
    other: list[str] = field(default_factory=list)  # anything else that reached it


def token_handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != "/token" or form.get("grant_type") != "refresh_token":
                with endpoint.lock:
                    endpoint.other.append(f"{self.path} {form.get('grant_type')}")
                self.answer(400, {"error": "unsupported_grant_type"})
                return
            with endpoint.lock:
                endpoint.grants.append(form.get("refresh_token", ""))
                number = len(endpoint.grants)
            time.sleep(GRANT_DELAY)
            self.answer(
                200,
                {
                    "access_token": f"access-{number}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": f"refresh-{number + 1}",  # rotated on every use
                },
            )

        def answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test asserts on what it recorded instead

    return Handler


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    endpoint = TokenEndpoint(url=f"http://127.0.0.1:{server.server_port}")
    server.RequestHandlerClass = token_handler(endpoint)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="token-endpoint", daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# -- two hub processes -----------------------------------------------------------------------


def reset_schema(url: str) -> None:
    """An empty database: other tests of the session may have used this one before."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.close()


@dataclass
class Hubs:
    urls: list[str]
    token: str  # alice's API token
    database_url: str


@pytest.fixture
def two_hubs(postgres_database: str, tmp_path: Path) -> Iterator[Hubs]:
    if not HUB.exists():
        pytest.skip(f"the hub command is not installed next to {sys.executable}")
    reset_schema(postgres_database)
    ports = [free_port(), free_port()]
    env = clean_environment(
        HUB_DATABASE_URL=postgres_database,
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),  # shared: the same keys in both
        HUB_PUBLIC_URL=f"http://127.0.0.1:{ports[0]}",
        HUB_ALLOW_PRIVATE_ADDRESSES="1",
    )
    run_cli(env, tmp_path, "init", "--no-admin")
    run_cli(env, tmp_path, "users", "create", "alice", "--password-stdin", stdin="a password\n")
    token = run_cli(env, tmp_path, "tokens", "create", "alice").strip().splitlines()[-1]
    servers: list[Server] = []
    try:
        for port in ports:
            command = [str(HUB), "serve", "--workers", "1", "--threads", str(THREADS)]
            log = tmp_path / f"hub-{port}.log"
            process = spawn([*command, "--port", str(port)], env, log)
            servers.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in servers:
            wait_until_serving(server, "/healthz")
        yield Hubs(urls=[s.url for s in servers], token=token, database_url=postgres_database)
    finally:
        for server in servers:
            server.stop()


# -- the test --------------------------------------------------------------------------------


def test_two_processes_twenty_concurrent_refreshes_make_one_grant(two_hubs, token_endpoint):
    auth = {"Authorization": f"Bearer {two_hubs.token}"}
    http = requests.Session()
    http.trust_env = False
    created = http.post(
        f"{two_hubs.urls[0]}/api/integrations",
        headers=auth,
        json={
            "name": "Race",
            "authType": "oauth2",
            "authUri": f"{token_endpoint.url}/authorize",
            "tokenUri": f"{token_endpoint.url}/token",
            "clientId": "hub-client",
            "clientSecret": "client-secret",
            "apiBaseUri": token_endpoint.url,
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    integration = created.json()["id"]
    seeded = http.post(
        f"{two_hubs.urls[1]}/api/integrations/{integration}/connection",
        headers=auth,
        json={"accessToken": "access-0", "refreshToken": "refresh-1", "expiresIn": 1},
        timeout=10,
    )
    assert seeded.status_code == 200, seeded.text
    # Expired, without waiting for it (not a secret: no keys needed).
    with psycopg2.connect(two_hubs.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE connection SET expires_at = '2020-01-01 00:00:00'")
        assert cursor.rowcount == 1
    connection.close()

    barrier = threading.Barrier(CALLS)
    lock = threading.Lock()
    answers: list[tuple[int, int, dict[str, object]]] = []
    sent: list[float] = []
    received: list[float] = []
    errors: list[str] = []

    def call(index: int) -> None:
        url = f"{two_hubs.urls[index % 2]}/api/integrations/{integration}/connection/refresh"
        session = requests.Session()
        session.trust_env = False
        try:
            barrier.wait(timeout=10)
            started = time.monotonic()
            response = session.post(url, headers=auth, timeout=30)
            finished = time.monotonic()
            with lock:
                sent.append(started)
                received.append(finished)
                answers.append((index, response.status_code, response.json()))
        except Exception as exc:  # reported below: a thread must not fail silently
            with lock:
                errors.append(f"call {index}: {exc!r}")
        finally:
            session.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(answers) == CALLS
    # The premise: every call was on its way before the first answer came back.
    assert max(sent) < min(received)
    assert token_endpoint.other == []
    assert token_endpoint.grants == ["refresh-1"], [a for a in answers if a[1] != 200]
    assert [status for _, status, _ in answers] == [200] * CALLS
    assert {body["status"] for _, _, body in answers} == {"connected"}
    assert len({body["lastRefreshedAt"] for _, _, body in answers}) == 1

    # The rotated refresh token was stored: the next refresh presents it.
    again = http.post(
        f"{two_hubs.urls[1]}/api/integrations/{integration}/connection/refresh",
        headers=auth,
        timeout=30,
    )
    assert again.status_code == 200, again.text
    assert token_endpoint.grants == ["refresh-1", "refresh-2"]
