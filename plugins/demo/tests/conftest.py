"""Fixtures for the demo plugin's tests: the Demo server app, and a whole hub whose calls to
http://127.0.0.1:5001 requests-mock forwards to that app's test client (no socket anywhere)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests_mock as requests_mock_module
from flask import Flask
from flask.testing import FlaskClient

from hub.testing import isolate, make_hub_app, signed_in_client
from hub_demo import CLIENT_ID, CLIENT_SECRET, DEFAULT_URL, server

VERIFIER = "v" * 43 + "-demo-verifier"
REDIRECT = "http://hub.test/oauth2/callback"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shell settings, no DNS, cheap password hashing (hub.testing.isolate)."""
    isolate(monkeypatch)


@pytest.fixture
def demo_app() -> Flask:
    """The Demo server, fresh (its state is in memory)."""
    return server.create_app()


@pytest.fixture
def demo(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent_id(page: str) -> str:
    match = re.search(r'name="consent" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def authorize(demo: FlaskClient) -> Callable[..., dict[str, str]]:
    """Run the consent page and answer it; the parameters the browser is sent back with."""

    def run(decision: str = "allow", **params: str) -> dict[str, str]:
        args = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "st4te",
            "scope": "profile files",
            "code_challenge": server.s256(VERIFIER),
            "code_challenge_method": "S256",
            **params,
        }
        shown = demo.get("/authorize", query_string=args)
        assert shown.status_code == 200, shown.text
        answered = demo.post(
            "/authorize", data={"consent": consent_id(shown.text), "decision": decision}
        )
        assert answered.status_code == 302
        assert answered.headers["Location"].startswith(REDIRECT + "?")
        return query(answered.headers["Location"])

    return run


@pytest.fixture
def token(demo: FlaskClient) -> Callable[..., Any]:
    """POST /token with the demo client's credentials in the form body."""

    def run(**form: str) -> Any:
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
        return demo.post("/token", data=body)

    return run


# -- a whole hub talking to the Demo server ------------------------------------------------------


@pytest.fixture
def forward(requests_mock: Any, demo: FlaskClient) -> Any:
    """Every request to the Demo server's address goes to the Demo app's test client."""

    def answer(request: Any, context: Any) -> bytes:
        parts = urlsplit(request.url)
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        response = demo.open(
            parts.path,
            method=request.method,
            query_string=parts.query,
            headers=headers,
            data=body or b"",
        )
        context.status_code = response.status_code
        context.headers = {
            k: v for k, v in response.headers.items() if k.lower() != "content-length"
        }
        return response.get_data()

    pattern = re.compile("^" + re.escape(DEFAULT_URL) + "/")
    return requests_mock.register_uri(requests_mock_module.ANY, pattern, content=answer)


@pytest.fixture
def hub(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, forward: Any) -> Flask:
    """A hub with the demo provider switched on (as ``hub serve --demo`` does)."""
    monkeypatch.setenv("HUB_DEMO", "1")
    return make_hub_app(tmp_path, ALLOW_PRIVATE_ADDRESSES=True, PUBLIC_URL="http://hub.test")


@pytest.fixture
def client(hub: Flask) -> FlaskClient:
    return signed_in_client(hub, "ada")


@pytest.fixture
def connected(client: FlaskClient, demo: FlaskClient) -> Callable[..., int]:
    """Create a demo integration and connect it through the Demo consent page; its id."""

    def run(**fields: Any) -> int:
        created = client.post(
            "/api/integrations",
            json={
                "name": "Demo files",
                "provider": "demo",
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                **fields,
            },
        )
        assert created.status_code == 201, created.get_json()
        ref = created.get_json()["id"]
        started = client.get(f"/api/integrations/{ref}/connect")
        assert started.status_code == 302, started.get_json()
        location = urlsplit(started.headers["Location"])
        assert f"{location.scheme}://{location.netloc}" == DEFAULT_URL
        shown = demo.get(location.path, query_string=location.query)
        assert shown.status_code == 200, shown.text
        answered = demo.post(
            "/authorize", data={"consent": consent_id(shown.text), "decision": "allow"}
        )
        back = urlsplit(answered.headers["Location"])
        callback = client.get(back.path, query_string=back.query)
        assert callback.status_code == 303, callback.get_json()
        return ref

    return run
