"""The OAuth2 flow end to end against a real authorization server (npm ``oidc-provider``).

No mocks: the hub runs as a real HTTP server in a thread, the authorization server as a node
process (``tests/e2e_oauth/server.mjs``), and the test drives both with real HTTP clients — one
cookie jar for the hub, another for the authorization server — the way a browser would. What the
real server enforces and a test double usually does not: PKCE, exact redirect-URI matching,
single-use codes, client authentication, ``iss`` on the callback (RFC 9207), refresh-token
rotation with reuse detection that revokes the whole grant, and revocation (RFC 7009).

Needs ``node`` and ``tests/e2e_oauth/node_modules`` (``make e2e-deps``); skips without them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests
from werkzeug.serving import make_server

from hub import accounts, create_app, db, migrations
from hub.crypto import generate_key
from hub.db import database
from hub.models import Connection

E2E_DIR = Path(__file__).parent / "e2e_oauth"
NODE = shutil.which("node")
PASSWORD = "correct horse battery"
CLIENT_ID = "hub-e2e"
CLIENT_SECRET = "e2e-" + secrets.token_urlsafe(16)
ACCESS_TOKEN_TTL = 2  # seconds: short, so that a test can outlive an access token
MODES = {"form": "client_secret_post", "basic": "client_secret_basic"}
# The authorization server's second client: the client_credentials grant only.
MACHINE_ID = "hub-machine"
MACHINE_SECRET = "machine-" + secrets.token_urlsafe(16)


def _missing() -> str | None:
    if NODE is None:
        return "node is not installed: the end-to-end OAuth tests need node 20+ (oidc-provider)"
    if not (E2E_DIR / "node_modules" / "oidc-provider").is_dir():
        return "tests/e2e_oauth/node_modules is missing: run `make e2e-deps` (npm ci)"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]


def http_session() -> requests.Session:
    """A cookie jar of its own; never a proxy from the environment (everything is local)."""
    session = requests.Session()
    session.trust_env = False
    return session


# -- the hub, live ---------------------------------------------------------------------------


@dataclass
class LiveHub:
    url: str
    app: Any

    def tokens(self, integration_id: int) -> tuple[str | None, str | None]:
        """The stored (access, refresh) tokens, decrypted: the only way to learn them, since
        neither the API nor the pages ever show a token."""
        with self.app.app_context():
            db.bind(self.app)
            with database.connection_context():
                connection = Connection.get_or_none(Connection.integration == integration_id)
                if connection is None:
                    return None, None
                access, refresh = (
                    connection.get_secret("access_token"),
                    connection.get_secret("refresh_token"),
                )
                return (
                    access.reveal() if access else None,
                    refresh.reveal() if refresh else None,
                )


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A real HTTP server on 127.0.0.1 serving a hub on SQLite, with the user ``alice``."""
    root = tmp_path_factory.mktemp("e2e-hub")
    holder: dict[str, Any] = {}

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return holder["app"](environ, start_response)

    # Bound first, so that PUBLIC_URL can name the port the server really has.
    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-hub", daemon=True)
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in [n for n in os.environ if n.startswith("HUB_")]:
                env.delenv(name)  # no HUB_* setting of the developer's shell reaches this hub
            app = create_app(
                {
                    "INSTANCE_PATH": str(root / "instance"),
                    "DATABASE_URL": f"sqlite:///{root / 'hub.db'}",
                    "SECRET_KEY": secrets.token_urlsafe(32),
                    "ENCRYPTION_KEYS": generate_key(),
                    "PUBLIC_URL": url,
                    "ALLOW_PRIVATE_ADDRESSES": True,
                }
            )
        with app.app_context():
            migrations.migrate()
            with database.connection_context():
                accounts.create_user("alice", PASSWORD, email="alice@example.org")
        holder["app"] = app
        thread.start()
        yield LiveHub(url=url, app=app)
    finally:
        if thread.is_alive():
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()
        if not database.is_closed():
            database.close()


@pytest.fixture
def hub(live_hub: LiveHub) -> LiveHub:
    db.bind(live_hub.app)  # other tests' apps may have taken the database proxy meanwhile
    return live_hub


@pytest.fixture
def alice(hub: LiveHub) -> requests.Session:
    """Alice's browser at the hub: a session cookie from ``POST /api/login``."""
    browser = http_session()
    response = browser.post(
        f"{hub.url}/api/login", json={"username": "alice", "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return browser


# -- the authorization server ---------------------------------------------------------------


@dataclass
class AuthServer:
    issuer: str
    mode: str  # the hub's tokenAuth setting: form or basic
    process: subprocess.Popen[bytes]
    log: Path

    def client_auth(self, data: dict[str, str]) -> dict[str, Any]:
        """``requests`` arguments that authenticate the client the way this server wants."""
        if self.mode == "basic":
            return {"data": data, "auth": (CLIENT_ID, CLIENT_SECRET)}
        return {"data": {**data, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}

    def refresh(self, refresh_token: str) -> requests.Response:
        """A refresh grant sent straight to the token endpoint, as a client would."""
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return http_session().post(f"{self.issuer}/token", timeout=10, **self.client_auth(body))

    def active(self, token: str, *, machine: bool = False) -> bool:
        """RFC 7662 introspection: whether the server still honours ``token`` (asked by the
        client it was issued to)."""
        auth = (
            {"data": {"token": token}, "auth": (MACHINE_ID, MACHINE_SECRET)}
            if machine and self.mode == "basic"
            else {
                "data": {"token": token, "client_id": MACHINE_ID, "client_secret": MACHINE_SECRET}
            }
            if machine
            else self.client_auth({"token": token})
        )
        response = http_session().post(f"{self.issuer}/token/introspection", timeout=10, **auth)
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])


def start_auth_server(hub_url: str, mode: str, log: Path) -> AuthServer:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_PUBLIC_URL": hub_url,
        "PORT": "0",
        "OAUTH_CLIENT_ID": CLIENT_ID,
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_TOKEN_AUTH": MODES[mode],
        "OAUTH_ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL),
        "OAUTH_MACHINE_CLIENT_ID": MACHINE_ID,
        "OAUTH_MACHINE_CLIENT_SECRET": MACHINE_SECRET,
    }
    assert NODE is not None
    with log.open("wb") as out:
        process = subprocess.Popen(
            [NODE, "server.mjs"], cwd=E2E_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = re.search(r"^ready (\d+)$", log.read_text(errors="replace"), re.MULTILINE)
        if ready:
            return AuthServer(f"http://127.0.0.1:{ready.group(1)}", mode, process, log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    pytest.fail(f"the authorization server did not start:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def auth_servers(
    live_hub: LiveHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], AuthServer]]:
    """One authorization server per client-authentication mode, started when first needed."""
    servers: dict[str, AuthServer] = {}
    logs = tmp_path_factory.mktemp("e2e-as")

    def get(mode: str) -> AuthServer:
        if mode not in servers:
            servers[mode] = start_auth_server(live_hub.url, mode, logs / f"{mode}.log")
        return servers[mode]

    try:
        yield get
    finally:
        for server in servers.values():
            stop(server.process)
            assert server.process.returncode == 0, server.log.read_text(errors="replace")


@pytest.fixture(params=["form", "basic"])
def auth_server(request: pytest.FixtureRequest, auth_servers) -> AuthServer:
    return auth_servers(request.param)


@pytest.fixture
def form_server(auth_servers) -> AuthServer:
    return auth_servers("form")


# -- driving the flow ------------------------------------------------------------------------


def create_integration(alice: requests.Session, hub: LiveHub, server: AuthServer) -> int:
    name = f"E2E {server.mode} {uuid.uuid4().hex[:8]}"
    response = alice.post(
        f"{hub.url}/api/integrations",
        json={
            "name": name,
            "provider": "custom",
            "authType": "oauth2",
            "authUri": f"{server.issuer}/auth",
            "tokenUri": f"{server.issuer}/token",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "scope": "openid",
            "apiBaseUri": server.issuer,
            "settings": {
                "issuer": server.issuer,
                "revokeUri": f"{server.issuer}/token/revocation",
                "tokenAuth": server.mode,
            },
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def begin(alice: requests.Session, hub: LiveHub, integration_id: int) -> str:
    """``GET /connect``: the authorization URL the hub sends the browser to."""
    response = alice.get(
        f"{hub.url}/api/integrations/{integration_id}/connect", allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:")
    return location


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
PROMPT = re.compile(r'name="prompt" value="(login|consent)"')


def authorize(browser: requests.Session, url: str, hub: LiveHub, *, abort: bool = False) -> str:
    """Follow the authorization server's dev login and consent pages (or abort them) until it
    redirects to the hub's callback; return that callback URL, unopened."""
    callback = f"{hub.url}/oauth2/callback"
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(12):
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.split("?", 1)[0] == callback:
                return url
            response = browser.get(url, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:2000])
        page = response.text
        if abort:
            response = browser.get(f"{url}/abort", allow_redirects=False, timeout=10)
            continue
        action, prompt = FORM_ACTION.search(page), PROMPT.search(page)
        assert action and prompt, page[:2000]
        answer = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            answer.update(login="alice-at-the-provider", password="anything")
        response = browser.post(
            urljoin(url, action.group(1)), data=answer, allow_redirects=False, timeout=10
        )
    pytest.fail(f"no redirect to the hub's callback; last answer: {response.status_code}")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query_of(url), **changes})))


def finish(alice: requests.Session, callback: str) -> requests.Response:
    return alice.get(callback, allow_redirects=False, timeout=30)


def connect(alice: requests.Session, hub: LiveHub, integration_id: int) -> None:
    callback = authorize(http_session(), begin(alice, hub, integration_id), hub)
    response = finish(alice, callback)
    assert response.status_code == 303, response.text
    assert urlsplit(response.headers["Location"]).path == "/oauth2/done"


def status(alice: requests.Session, hub: LiveHub, integration_id: int) -> dict[str, Any]:
    response = alice.get(f"{hub.url}/api/integrations/{integration_id}/connection", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def refresh(alice: requests.Session, hub: LiveHub, integration_id: int) -> requests.Response:
    return alice.post(f"{hub.url}/api/integrations/{integration_id}/connection/refresh", timeout=30)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting until {what}")
        time.sleep(0.2)


# -- the tests -------------------------------------------------------------------------------


def test_connect_refresh_rotation_and_refresh_after_expiry(alice, hub, auth_server):
    integration = create_integration(alice, hub, auth_server)
    authorization_url = begin(alice, hub, integration)
    assert query_of(authorization_url)["code_challenge_method"] == "S256"
    callback = authorize(http_session(), authorization_url, hub)
    assert query_of(callback)["iss"] == auth_server.issuer  # RFC 9207, from the real server
    response = finish(alice, callback)
    assert response.status_code == 303, response.text
    done = alice.get(urljoin(hub.url, response.headers["Location"]), timeout=10)
    assert done.status_code == 200 and "is connected" in done.text
    connected = status(alice, hub, integration)
    assert connected["status"] == "connected" and connected["hasRefreshToken"] is True
    assert connected["scope"] == "openid"
    access_1, refresh_1 = hub.tokens(integration)
    assert access_1 and refresh_1 and auth_server.active(access_1)

    forced = refresh(alice, hub, integration)
    assert forced.status_code == 200, forced.text
    assert forced.json()["status"] == "connected"
    access_2, refresh_2 = hub.tokens(integration)
    assert access_2 != access_1
    assert refresh_2 and refresh_2 != refresh_1  # rotated, and the new one stored
    assert not auth_server.active(refresh_1)  # the server consumed the old one

    # Outlive the access token (its TTL is 2 s): the refresh token still works afterwards.
    wait_until(lambda: not auth_server.active(access_2), 10, "the access token expired")
    later = refresh(alice, hub, integration)
    assert later.status_code == 200, later.text
    access_3, refresh_3 = hub.tokens(integration)
    assert access_3 not in (access_1, access_2) and refresh_3 not in (refresh_1, refresh_2)
    assert auth_server.active(access_3)
    assert status(alice, hub, integration)["status"] == "connected"


def test_reusing_an_old_refresh_token_revokes_the_grant_and_reconnecting_works(
    alice, hub, form_server
):
    integration = create_integration(alice, hub, form_server)
    connect(alice, hub, integration)
    _, old = hub.tokens(integration)
    assert refresh(alice, hub, integration).status_code == 200
    current_access, current = hub.tokens(integration)
    assert current != old

    # Someone replays the rotated-away refresh token: reuse detection revokes the whole grant.
    replay = form_server.refresh(old)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not form_server.active(current) and not form_server.active(current_access)

    response = refresh(alice, hub, integration)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "reauth_required"
    assert status(alice, hub, integration)["status"] == "needs_reauth"
    listed = alice.get(f"{hub.url}/api/integrations/{integration}", timeout=10).json()
    assert listed["status"] == "needs_reauth"

    connect(alice, hub, integration)
    assert status(alice, hub, integration)["status"] == "connected"
    again = refresh(alice, hub, integration)
    assert again.status_code == 200, again.text


def test_disconnect_revokes_the_grant_at_the_provider(alice, hub, auth_server):
    integration = create_integration(alice, hub, auth_server)
    connect(alice, hub, integration)
    access, refresh_token = hub.tokens(integration)
    assert access and refresh_token
    assert auth_server.active(refresh_token) and auth_server.active(access)

    response = alice.delete(f"{hub.url}/api/integrations/{integration}/connection", timeout=30)
    assert response.status_code == 204, response.text
    assert status(alice, hub, integration)["status"] == "not_connected"
    # Revoking the refresh token revokes the grant, with its access tokens.
    assert not auth_server.active(refresh_token)
    assert not auth_server.active(access)
    attempt = auth_server.refresh(refresh_token)
    assert attempt.status_code == 400 and attempt.json()["error"] == "invalid_grant"


def test_a_forged_state_is_refused_and_does_not_burn_the_code(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    callback = authorize(http_session(), begin(alice, hub, integration), hub)
    forged = finish(alice, with_query(callback, state=secrets.token_urlsafe(32)))
    assert forged.status_code == 400
    assert "unknown sign-in state" in forged.text
    assert status(alice, hub, integration)["status"] == "not_connected"
    # The forged callback asked no token: the real code is still unused and works.
    real = finish(alice, callback)
    assert real.status_code == 303, real.text
    assert status(alice, hub, integration)["status"] == "connected"


def test_a_wrong_issuer_on_the_callback_is_refused(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    callback = authorize(http_session(), begin(alice, hub, integration), hub)
    response = finish(alice, with_query(callback, iss="http://127.0.0.1:9"))
    assert response.status_code == 400
    assert "another authorization server" in response.text
    assert status(alice, hub, integration)["status"] == "not_connected"


def test_a_replayed_callback_is_refused(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    callback = authorize(http_session(), begin(alice, hub, integration), hub)
    assert finish(alice, callback).status_code == 303
    tokens = hub.tokens(integration)
    replayed = finish(alice, callback)
    assert replayed.status_code == 400
    assert "already used" in replayed.text
    assert hub.tokens(integration) == tokens  # nothing changed
    assert status(alice, hub, integration)["status"] == "connected"


def test_access_denied_at_the_provider_stores_nothing(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    callback = authorize(http_session(), begin(alice, hub, integration), hub, abort=True)
    params = query_of(callback)
    assert params["error"] == "access_denied" and "code" not in params
    assert params["iss"] == form_server.issuer
    response = finish(alice, callback)
    assert response.status_code == 400
    assert "access_denied" in response.text and "nothing was stored" in response.text
    assert status(alice, hub, integration)["status"] == "not_connected"
    assert hub.tokens(integration) == (None, None)


def test_a_callback_in_another_browser_session_is_refused(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    callback = authorize(http_session(), begin(alice, hub, integration), hub)
    other = http_session()
    signed_in = other.post(
        f"{hub.url}/api/login", json={"username": "alice", "password": PASSWORD}, timeout=10
    )
    assert signed_in.status_code == 200
    response = finish(other, callback)
    assert response.status_code == 400
    assert status(alice, hub, integration)["status"] == "not_connected"


def test_an_http_authorize_url_on_an_allowed_private_address_connects(alice, hub, form_server):
    integration = create_integration(alice, hub, form_server)
    changed = alice.patch(
        f"{hub.url}/api/integrations/{integration}",
        json={"authUri": f"{form_server.issuer}/auth"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    response = alice.get(
        f"{hub.url}/api/integrations/{integration}/connect", allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    callback = authorize(http_session(), response.headers["Location"], hub)
    assert finish(alice, callback).status_code == 303
    assert status(alice, hub, integration)["status"] == "connected"


# -- client-credentials grants -----------------------------------------------------------------


def machine_integration(
    alice: requests.Session, hub: LiveHub, server: AuthServer, secret: str = MACHINE_SECRET
) -> int:
    response = alice.post(
        f"{hub.url}/api/integrations",
        json={
            "name": f"Machine {server.mode} {uuid.uuid4().hex[:8]}",
            "authType": "oauth2",
            "grantType": "client_credentials",
            "connectionMode": "shared",
            "authUri": f"{server.issuer}/auth",
            "tokenUri": f"{server.issuer}/token",
            "clientId": MACHINE_ID,
            "clientSecret": secret,
            "apiBaseUri": server.issuer,
            "settings": {"tokenAuth": server.mode},
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def grants(server: AuthServer, grant_type: str) -> int:
    return server.log.read_text(errors="replace").count(f"grant.success {grant_type}\n")


def test_a_client_credentials_grant_connects_and_renews_with_no_user_in_the_loop(
    alice, hub, auth_server
):
    integration = machine_integration(alice, hub, auth_server)
    before = grants(auth_server, "client_credentials")
    connected = alice.get(
        f"{hub.url}/api/integrations/{integration}/connect", allow_redirects=False, timeout=10
    )
    assert connected.status_code == 200, connected.text
    assert connected.json()["status"] == "connected"
    first, refresh_token = hub.tokens(integration)
    assert first is not None and refresh_token is None
    assert auth_server.active(first, machine=True)
    # Past the token's lifetime the next use fetches a new one: the hub's refresher path.
    time.sleep(ACCESS_TOKEN_TTL + 0.5)
    renewed = refresh(alice, hub, integration)
    assert renewed.status_code == 200, renewed.text
    second, _ = hub.tokens(integration)
    assert second not in (None, first)
    assert auth_server.active(second, machine=True)
    assert grants(auth_server, "client_credentials") == before + 2


def test_a_refused_client_stores_nothing(alice, hub, form_server):
    integration = machine_integration(alice, hub, form_server, secret="not-the-secret")
    response = alice.get(
        f"{hub.url}/api/integrations/{integration}/connect", allow_redirects=False, timeout=10
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "oauth_failed"
    assert "not-the-secret" not in response.text
    assert hub.tokens(integration) == (None, None)
    assert status(alice, hub, integration)["status"] == "not_connected"
