"""One refresh per connection at a time across processes (SECURITY 9 and 37, DESIGN §7).

Two real hub processes (``hub serve``, gunicorn) on one database. First, 20 simultaneous
``POST /api/integrations/{id}/connection/refresh`` calls on an expired token, split across both,
all sent before the first can finish. Then storms of proxied requests after the *provider* stopped
accepting the access token while the hub still believes it valid: on PostgreSQL, on PostgreSQL
with one process's clock 30 s ahead (Debian's ``faketime``), against the npm ``oidc-provider``
(refresh-token rotation with reuse detection), and on one SQLite file. A provider that rotates
refresh tokens revokes the grant when an old one is reused, so each expiry must make exactly one
refresh grant at the token endpoint. Each storm test prints its table of rounds by grants.

The PostgreSQL cases need ``HUB_TEST_DATABASE_URL`` and skip without it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import psycopg2
import pytest
import requests

from . import test_e2e_oauth as e2e
from .live_servers import (
    ALICE_PASSWORD,
    FAKETIME,
    Hubs,
    api_session,
    from_another_host,
    serving,
)

pytestmark = [pytest.mark.slow]

CALLS = 20
GRANT_DELAY = 0.3  # seconds the token endpoint takes: the window in which a second refresh races


# -- the provider's token endpoint -----------------------------------------------------------


@dataclass
class TokenEndpoint:
    url: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    grants: list[str] = field(default_factory=list)  # the refresh token each grant presented
    other: list[str] = field(default_factory=list)  # anything else that reached it


class JSONHandler(BaseHTTPRequestHandler):
    """A quiet handler that answers JSON: the tests assert on what it recorded instead."""

    def answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def token_handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(JSONHandler):
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


@pytest.fixture
def two_hubs(postgres_database: str, tmp_path: Path) -> Iterator[Hubs]:
    with serving(tmp_path, postgres_database) as hubs:
        yield hubs


# -- the test --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_processes_twenty_concurrent_refreshes_make_one_grant(two_hubs, token_endpoint):
    auth = two_hubs.auth
    http = api_session()
    integration = two_hubs.connected_integration(
        token_endpoint.url, token_endpoint.url, access="access-0", refresh="refresh-1", expires_in=1
    )
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


# -- storms after the provider stopped accepting the access token (SECURITY 37) --------------
#
# The hub believes the token valid (it expires far in the future), so the only way it learns is a
# 401 from the provider's API: every request of the storm that got one asks for a refresh, and all
# but one must find, under the row lock, that another request (in either process) already replaced
# the token they saw.

ROUNDS = 5
FAR_FUTURE = "2999-01-01 00:00:00"


class RotatingProvider:
    """A provider on 127.0.0.1 that expires access tokens on its own side.

    ``POST /token`` (refresh grant) rotates both tokens and counts grants; a refresh token that
    was already exchanged is a reuse: counted, and answered ``invalid_grant``. ``GET /api/...``
    accepts only the newest access token, and none after :meth:`expire` until the next grant.
    Grants are answered at once: the timestamp rule this replaced (refresh unless the row was
    refreshed after the request started) made two to five grants a round against it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.access: str | None = "access-0"
        self.refresh = "refresh-0"
        self.exchanged: set[str] = set()
        self.grants = 0
        self.reuses = 0
        self.refused = 0  # API calls answered 401
        self.other: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def expire(self) -> None:
        """The provider stops accepting the current access token (the hub is not told)."""
        with self.lock:
            self.access = None

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return self.grants, self.reuses

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(JSONHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                presented = form.get("refresh_token", "")
                with provider.lock:
                    if self.path != "/token" or form.get("grant_type") != "refresh_token":
                        provider.other.append(f"POST {self.path} {form.get('grant_type')}")
                        answer = (400, {"error": "unsupported_grant_type"})
                    elif presented in provider.exchanged:
                        provider.reuses += 1
                        answer = (400, {"error": "invalid_grant"})
                    elif presented != provider.refresh:
                        provider.other.append(f"unknown refresh token {presented!r}")
                        answer = (400, {"error": "invalid_grant"})
                    else:
                        provider.exchanged.add(presented)
                        provider.grants += 1
                        number = provider.grants
                        provider.access = f"access-{number}"
                        provider.refresh = f"refresh-{number}"
                        answer = (
                            200,
                            {
                                "access_token": provider.access,
                                "token_type": "Bearer",
                                "expires_in": 3600,
                                "refresh_token": provider.refresh,
                            },
                        )
                self.answer(*answer)

            def do_GET(self) -> None:
                with provider.lock:
                    accepted = (
                        provider.access is not None
                        and self.headers.get("Authorization") == f"Bearer {provider.access}"
                    )
                    if not accepted:
                        provider.refused += 1
                if not self.path.startswith("/api/"):
                    self.answer(404, {"error": "not_found"})
                elif accepted:
                    self.answer(200, {"items": []})
                else:
                    self.answer(401, {"error": "invalid_token"})

        return Handler


@pytest.fixture
def rotating_provider() -> Iterator[RotatingProvider]:
    provider = RotatingProvider()
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.thread.join(timeout=10)
        provider.server.server_close()


def believed_valid(hubs: Hubs) -> None:
    """The hub believes the stored access token valid for a long time (not a secret)."""
    updated = from_another_host(
        hubs.database_url, "UPDATE connection SET expires_at = %s RETURNING id", (FAR_FUTURE,)
    )
    assert len(updated) == 1


def storm(hubs: Hubs, integration: int, path: str) -> list[str]:
    """``CALLS`` proxied GETs at once, alternating between the processes; what went wrong
    (empty when every call was answered 200)."""
    auth = {"Authorization": f"Bearer {hubs.token}"}
    barrier = threading.Barrier(CALLS)
    lock = threading.Lock()
    wrong: list[str] = []
    returned: list[int] = []

    def call(index: int) -> None:
        url = f"{hubs.urls[index % len(hubs.urls)]}/api/integrations/{integration}/proxy/{path}"
        with api_session() as session:
            try:
                barrier.wait(timeout=10)
                response = session.get(url, headers=auth, timeout=60)
            except Exception as exc:  # reported: a thread must not fail silently
                with lock:
                    returned.append(index)
                    wrong.append(f"call {index}: {exc!r}")
                return
            with lock:
                returned.append(index)
                if response.status_code != 200:
                    wrong.append(f"call {index}: {response.status_code} {response.text[:300]}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    if len(returned) < CALLS:
        wrong.append(f"only {len(returned)} of {CALLS} calls came back")
    return wrong


@dataclass
class Round:
    grants: int
    reuses: int
    wrong: list[str]


def run_rounds(
    hubs: Hubs,
    integration: int,
    path: str,
    expire: Callable[[], None],
    counts: Callable[[], tuple[int, int]],
) -> list[Round]:
    """``ROUNDS`` times: the provider stops accepting the access token (``expire``), the hub
    still believes it valid, then a storm; the refresh grants and reuse detections it caused."""
    rounds = []
    for _ in range(ROUNDS):
        believed_valid(hubs)
        expire()
        grants, reuses = counts()
        wrong = storm(hubs, integration, path)
        after = counts()
        rounds.append(Round(after[0] - grants, after[1] - reuses, wrong))
    return rounds


def report(request: pytest.FixtureRequest, configuration: str, rounds: list[Round]) -> None:
    """The table of rounds by grants, printed and as a report section (``pytest -rP`` shows it)."""
    lines = [f"{configuration}: {len(rounds)} rounds of {CALLS} proxied requests over 2 processes"]
    lines.append("round  refresh grants  reuse detections  non-200 answers")
    for number, result in enumerate(rounds, 1):
        lines.append(
            f"{number:>5}  {result.grants:>14}  {result.reuses:>16}  {len(result.wrong):>15}"
        )
    lines.append(
        f"total  {sum(r.grants for r in rounds):>14}  {sum(r.reuses for r in rounds):>16}"
        f"  {sum(len(r.wrong) for r in rounds):>15}"
    )
    text = "\n".join(lines)
    print(f"\n{text}")
    request.node.add_report_section("call", "storms", text)


def assert_one_grant_per_round(rounds: list[Round]) -> None:
    assert [r.wrong for r in rounds] == [[]] * ROUNDS
    assert [r.reuses for r in rounds] == [0] * ROUNDS
    assert [r.grants for r in rounds] == [1] * ROUNDS


def custom_integration(hubs: Hubs, provider: RotatingProvider) -> int:
    """A custom OAuth2 integration with its own client, connected with pasted tokens the
    provider issued (``access-0``, ``refresh-0``)."""
    integration = hubs.connected_integration(
        provider.url,
        f"{provider.url}/api",
        access="access-0",
        refresh="refresh-0",
        expires_in=86400,
    )
    with api_session() as http:
        # The premise: with the token the provider accepts, a call makes no grant.
        first = http.get(
            f"{hubs.urls[0]}/api/integrations/{integration}/proxy/items",
            headers=hubs.auth,
            timeout=30,
        )
        assert first.status_code == 200, first.text
        assert provider.counts() == (0, 0)
    return integration


def rotating_storms(request: pytest.FixtureRequest, hubs: Hubs, provider: RotatingProvider, name):
    integration = custom_integration(hubs, provider)
    rounds = run_rounds(hubs, integration, "items", provider.expire, provider.counts)
    report(request, name, rounds)
    assert provider.other == []
    assert provider.refused >= ROUNDS  # each round began with refusals, not with the hub's clock
    assert_one_grant_per_round(rounds)


@pytest.mark.postgres
def test_storms_after_the_provider_expired_the_token_make_one_grant_each(
    postgres_database, tmp_path, rotating_provider, request
):
    with serving(tmp_path, postgres_database) as hubs:
        rotating_storms(request, hubs, rotating_provider, "PostgreSQL, two processes")


def clock_offset(url: str) -> float:
    """How far ahead of this process's clock the server's ``Date`` header is, in seconds."""
    with api_session() as http:
        before = time.time()
        response = http.get(f"{url}/healthz", timeout=10)
        after = time.time()
    assert response.status_code == 200
    return parsedate_to_datetime(response.headers["Date"]).timestamp() - (before + after) / 2


@pytest.mark.postgres
def test_storms_with_one_clock_thirty_seconds_ahead_make_one_grant_each(
    postgres_database, tmp_path, rotating_provider, request
):
    if not Path(FAKETIME).is_file():
        pytest.skip(f"{FAKETIME} is missing (apt-get install faketime): no second clock")
    with serving(tmp_path, postgres_database, clocks=(None, "+30s")) as hubs:
        offsets = [clock_offset(url) for url in hubs.urls]
        if not (abs(offsets[0]) < 3 and 27 < offsets[1] < 33):
            pytest.skip(f"faketime did not shift the second hub's clock by 30 s: {offsets}")
        rotating_storms(
            request, hubs, rotating_provider, "PostgreSQL, two processes, one clock +30 s"
        )


def test_storms_on_one_sqlite_file_make_one_grant_each(tmp_path, rotating_provider, request):
    with serving(tmp_path, None) as hubs:
        rotating_storms(request, hubs, rotating_provider, "SQLite file, two processes")


# -- the same against a real authorization server (npm oidc-provider) ------------------------

OIDC_TOKEN_TTL = 4  # seconds: the provider expires access tokens itself; the storm takes less


@pytest.mark.postgres
def test_oidc_provider_storms_make_one_grant_each_and_detect_no_reuse(
    postgres_database, tmp_path, monkeypatch, request
):
    missing = e2e._missing()
    if missing:
        pytest.skip(missing)
    monkeypatch.setattr(e2e, "ACCESS_TOKEN_TTL", OIDC_TOKEN_TTL)
    monkeypatch.setenv("OAUTH_CLOCK_TOLERANCE", "0")  # expired means refused, not 15 s later
    # No refresh ahead of expiry: a token the storm fetched stays in use until the provider
    # expires it, so each grant answers a refusal.
    with serving(tmp_path, postgres_database, HUB_REFRESH_SKEW="0") as hubs:
        log = tmp_path / "oidc-provider.log"
        server = e2e.start_auth_server(hubs.urls[0], "form", log)
        try:
            oidc_storms(request, hubs, server, log)
        finally:
            e2e.stop(server.process)


def oidc_storms(request: pytest.FixtureRequest, hubs: Hubs, server, log: Path) -> None:
    auth = {"Authorization": f"Bearer {hubs.token}"}
    browser = api_session()
    signed_in = browser.post(
        f"{hubs.urls[0]}/api/login",
        json={"username": "alice", "password": ALICE_PASSWORD},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    created = browser.post(
        f"{hubs.urls[0]}/api/integrations",
        headers=auth,
        json={
            "name": "OIDC rotation",
            "provider": "custom",
            "authType": "oauth2",
            "authUri": f"{server.issuer}/auth",
            "tokenUri": f"{server.issuer}/token",
            "clientId": e2e.CLIENT_ID,
            "clientSecret": e2e.CLIENT_SECRET,
            "scope": "openid",
            "apiBaseUri": server.issuer,
            "settings": {"issuer": server.issuer, "tokenAuth": "form"},
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    integration = created.json()["id"]
    hub = SimpleNamespace(url=hubs.urls[0])  # all that e2e's helpers need of a hub
    callback = e2e.authorize(api_session(), e2e.begin(browser, hub, integration), hub)
    finished = browser.get(callback, allow_redirects=False, timeout=30)
    assert finished.status_code == 303, finished.text
    issued = time.monotonic()

    def grants() -> tuple[int, int]:
        lines = log.read_text(errors="replace").splitlines()
        return (
            lines.count("grant.success refresh_token"),
            sum("refresh token already used" in line for line in lines),
        )

    def expire() -> None:
        # The access token the hub holds dies at the provider; the hub believes it valid. Not
        # much longer: Node closes connections idle for 5 s, and a proxied call that meets one
        # closing is a 502 unrelated to refreshing.
        time.sleep(max(0.0, issued + OIDC_TOKEN_TTL + 0.3 - time.monotonic()))

    rounds = []
    for _ in range(ROUNDS):
        believed_valid(hubs)
        expire()
        before = grants()
        wrong = storm(hubs, integration, "me")
        issued = time.monotonic()
        after = grants()
        rounds.append(Round(after[0] - before[0], after[1] - before[1], wrong))
    report(request, "oidc-provider (rotation, reuse detection), PostgreSQL, two processes", rounds)
    assert "grant.revoked" not in log.read_text(errors="replace")
    assert_one_grant_per_round(rounds)
    # No reuse was detected: the grant still works after the storms.
    with api_session() as http:
        again = http.post(
            f"{hubs.urls[1]}/api/integrations/{integration}/connection/refresh",
            headers=auth,
            timeout=30,
        )
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "connected"
        me = http.get(
            f"{hubs.urls[0]}/api/integrations/{integration}/proxy/me", headers=auth, timeout=30
        )
        assert me.status_code == 200, me.text
    assert grants() == (ROUNDS + 1, 0)
