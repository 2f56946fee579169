"""The hub's provider contract (:mod:`hub.contract`) run against the real Demo server.

The provider is played by the Demo server itself (:mod:`hub_demo.server`), not by recorded
answers: it is started once for this module on a free port of 127.0.0.1, and the hub reaches it
over real HTTP. ``HUB_DEMO_ENDPOINTS`` (given as the ``DEMO_ENDPOINTS`` setting) points the
declaration at that port, so the walk also shows that the deployment override moves every URL.

``requests-mock`` stays installed for the kit's own answers (its error cases and its refresh) and
passes everything else through to the server (``real_http``). The kit connects with its fixed
tokens; the server is told to accept them as if it had issued them (:meth:`DemoServer.accept`).
The error answers are the server's own: each is asked of the server once (through its test
client) and replayed where the kit installs it, and a revoked grant is revoked for real.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from hub import contract
from hub.contract import ErrorCase, ProviderContract
from hub_demo import CLIENT_ID, CLIENT_SECRET, server

HOST = "127.0.0.1"


@dataclass(frozen=True)
class DemoServer:
    """The Demo server this module runs, and what the tests need to know of it."""

    url: str
    app: Flask

    @property
    def state(self) -> server.State:
        """The server's memory (grants and tokens)."""
        return self.app.extensions["hub_demo"]

    def accept(self, access: tuple[str, ...], refresh: str) -> None:
        """Forget every grant, then accept ``access`` tokens and the ``refresh`` token as if this
        server had issued them under one grant of its scopes (the kit connects with fixed ones)."""
        state = self.state
        with state.lock:
            state.consents.clear()
            state.codes.clear()
            state.access.clear()
            state.refresh.clear()
            state.revoked.clear()
            grant = server.Grant(scope=" ".join(server.SCOPES))
            now = time.time()
            for value in access:
                state.access[value] = server.Token(grant, now + server.DEFAULT_TOKEN_LIFETIME)
            state.refresh[refresh] = server.Token(grant, now + server.REFRESH_LIFETIME)

    def revoke_all(self) -> None:
        """End every grant, as the button on the server's home page does."""
        with self.state.lock:
            self.state.revoke_all()

    def answer(self, path: str, **query: str) -> tuple[int, Any]:
        """The status and JSON body the server gives ``GET path?query`` with a valid token."""
        with self.state.lock:
            token = self.state.issue(server.Grant(scope=" ".join(server.SCOPES)), 60)
        got = self.app.test_client().get(
            path,
            query_string=query,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        return got.status_code, got.get_json()


@pytest.fixture(scope="module")
def demo_server() -> Iterator[DemoServer]:
    """The real Demo server on a free port of 127.0.0.1, for this module's tests."""
    app = server.create_app()
    http = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield DemoServer(f"http://{HOST}:{http.server_port}", app)
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)


def listing(base: str) -> re.Pattern[str]:
    """Every ``GET /api/list`` of the server at ``base``, whatever its query."""
    return re.compile("^" + re.escape(f"{base}/api/list") + r"(\?|$)")


@dataclass(frozen=True)
class RevokedGrant(ErrorCase):
    """The grant ended on the Demo server itself: it refuses the access token (``401
    invalid_token``) and then the refresh token (``400 invalid_grant``), so the connection is
    lost. Nothing is replayed: earlier cases' answers are stepped over (``real_http``) so the
    listing and the refresh reach the server."""

    revoke: Callable[[], None] = lambda: None
    token_url: str = ""

    def install(self, requests_mock: Any) -> Callable[[], None]:
        """Revoke every grant on the server and let the calls through to it. Nothing to undo
        that a later case could see: this case comes last."""
        self.revoke()
        requests_mock.register_uri(self.method, self.url, real_http=True)
        requests_mock.register_uri("POST", self.token_url, real_http=True)
        return lambda: None


class TestDemoContract(ProviderContract):
    """The contract over the Demo server's files, walked two items a page so that the top level
    and ``Photos`` page (the server pages by offset, with the offset as its cursor)."""

    provider = "demo"
    plugin = "demo=hub_demo"
    known_scopes = frozenset(server.SCOPES)
    supports_range = True
    breadcrumbs = True
    page_size = 2
    search_query = "s"
    thumbnail_item = "Photos/sea.png"

    @pytest.fixture
    def hub_settings(self, demo_server: DemoServer) -> dict[str, Any]:
        """The Demo server's address for the provider (the deployment override, as an operator
        sets ``HUB_DEMO_ENDPOINTS``), and that one loopback address allowed, as ``hub serve
        --demo`` allows it."""
        return {
            "ALLOW_PRIVATE_ADDRESSES": HOST,
            "DEMO_ENDPOINTS": {"server": demo_server.url},
        }

    @pytest.fixture
    def hub_environ(self) -> dict[str, str]:
        """The demo provider switched on: ``HUB_DEMO`` is read from the environment when the
        plugin registers its provider."""
        return {"HUB_DEMO": "1"}

    @pytest.fixture
    def contract_integration(self) -> dict[str, Any]:
        """The Demo server's one (published) client, so the hub can refresh against it."""
        return {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}

    @pytest.fixture
    def contract_api(self, requests_mock: Any, demo_server: DemoServer) -> None:
        """Nothing recorded: the Demo server answers, accepting the kit's tokens."""
        requests_mock.real_http = True
        demo_server.accept((contract.OLD_TOKEN, contract.NEW_TOKEN), contract.REFRESH_TOKEN)

    @pytest.fixture
    def contract_errors(self, demo_server: DemoServer) -> list[ErrorCase]:
        """The Demo server's error answers, in the order the kit installs them (the revoked
        grant last: it loses the connection)."""
        base = demo_server.url
        folder_status, unknown_folder = demo_server.answer("/api/list", parent="Nope")
        cursor_status, bad_cursor = demo_server.answer("/api/list", parent="root", cursor="x")
        file_status, not_a_file = demo_server.answer("/api/content/Photos")
        assert (folder_status, cursor_status, file_status) == (404, 400, 404)
        return [
            ErrorCase("GET", listing(base), 404, "not_found", json=unknown_folder),
            ErrorCase("GET", listing(base), 400, "upstream_failed", json=bad_cursor),
            ErrorCase(
                "GET",
                f"{base}/api/content/Photos",
                404,
                "not_found",
                json=not_a_file,
                item="Photos",
            ),
            RevokedGrant(
                "GET",
                listing(base),
                401,
                "reauth_required",
                revoke=demo_server.revoke_all,
                token_url=f"{base}/token",
            ),
        ]
