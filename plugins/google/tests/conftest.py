"""Fixtures for the Google plugin's tests: the plugin loaded the way the hub loads it, a whole hub
with a connected Google integration, and Google itself played by requests-mock from the response
bodies recorded in ``tests/recorded/``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from hub.db import database
from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.testing import isolate, load_plugin, provider_of, signed_in_client
from hub_google import api

RECORDED = Path(__file__).parent / "recorded"
DRIVE_API = "https://www.googleapis.com/drive/v3"
TOKEN_URL = "https://oauth2.googleapis.com/token"
REVOKE_URL = "https://oauth2.googleapis.com/revoke"
USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo"
CLIENT_ID = "123456789012-hub.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-client-secret"


def recorded(name: str) -> Any:
    """A response body recorded from Google, by file name without ``.json``."""
    return json.loads((RECORDED / f"{name}.json").read_text())


def query(request: Any) -> dict[str, str]:
    """A mocked request's query string, exactly as sent (requests-mock lowercases its own)."""
    return query_of_url(request.url)


def query_of_url(url: str) -> dict[str, str]:
    """The query parameters of ``url``, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- the plugin -----------------------------------------------------------------------------------


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry holding the built-ins and this plugin, loaded through its entry point."""
    return load_plugin("hub_google", name="google")


@pytest.fixture
def provider() -> Provider:
    """The validated ``google`` provider, as the registry holds it."""
    return provider_of("hub_google", "google")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shell settings, no DNS, cheap password hashing (hub.testing.isolate)."""
    isolate(monkeypatch)


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of the Drive backoff, recorded instead of slept; jitter fixed at half."""
    slept: list[float] = []
    monkeypatch.setattr(api, "BACKOFF", api.Backoff(sleep=slept.append, random=lambda: 0.5))
    return slept


# -- Google, played by requests-mock --------------------------------------------------------------


def _responses(spec: str | dict | list) -> list[dict[str, Any]]:
    if isinstance(spec, str):
        return [{"json": recorded(spec)}]
    if isinstance(spec, dict):
        return [{"json": spec}]
    return spec


class FakeGoogle:
    """Google's token, userinfo, revocation and Drive endpoints, answering recorded bodies.

    Every Drive method registers one answer (or a list of answers, played in turn) and returns
    the requests-mock matcher, whose ``call_count`` and ``last_request`` tests can read.
    """

    def __init__(self, mocker: Any, drive_api: str = DRIVE_API) -> None:
        self.mocker = mocker
        self.drive_api = drive_api
        self.token = mocker.post(TOKEN_URL, json=recorded("token"))
        self.userinfo = mocker.get(USERINFO_URL, json=recorded("userinfo"))
        self.revoke = mocker.post(REVOKE_URL, status_code=200, text="")
        # Like Google: a file nobody registered is not found (registered ones take precedence).
        mocker.get(
            re.compile(re.escape(drive_api) + "/files/[^/?]+([?].*)?$"),
            status_code=404,
            json=recorded("error_not_found"),
        )

    def tokens(self, spec: Any) -> Any:
        """Make the token endpoint answer ``spec`` from now on (e.g. to refreshes)."""
        self.token = self.mocker.post(TOKEN_URL, _responses(spec))
        return self.token

    @staticmethod
    def answer(name: str, status: int = 200, **extra: Any) -> dict[str, Any]:
        """One answer with a recorded body, for the lists the methods below take."""
        return {"status_code": status, "json": recorded(name), **extra}

    def folder(self, parent: str, spec: Any, *, page_token: str | None = None) -> Any:
        """``files.list`` of ``parent``'s children, for one page token (none: the first page)."""

        def matches(request: Any) -> bool:
            sent = query(request)
            return f"'{parent}' in parents" in sent.get("q", "") and (
                sent.get("pageToken") == page_token
            )

        return self.mocker.get(
            f"{self.drive_api}/files", _responses(spec), additional_matcher=matches
        )

    def drives(self, spec: Any, *, page_token: str | None = None) -> Any:
        """``drives.list``, for one page token."""
        return self.mocker.get(
            f"{self.drive_api}/drives",
            _responses(spec),
            additional_matcher=lambda r: query(r).get("pageToken") == page_token,
        )

    def drive(self, drive_id: str, spec: Any) -> Any:
        """``drives.get`` of one shared drive."""
        return self.mocker.get(f"{self.drive_api}/drives/{drive_id}", _responses(spec))

    def file(self, file_id: str, spec: Any) -> Any:
        """``files.get`` of a file's metadata (no ``alt=media``)."""
        return self.mocker.get(
            f"{self.drive_api}/files/{file_id}",
            _responses(spec),
            additional_matcher=lambda r: "alt" not in query(r),
        )

    def media(self, file_id: str, spec: Any) -> Any:
        """``files.get`` with ``alt=media``: the file's bytes."""
        return self.mocker.get(
            f"{self.drive_api}/files/{file_id}",
            _responses(spec),
            additional_matcher=lambda r: query(r).get("alt") == "media",
        )

    def export(self, file_id: str, mime_type: str, spec: Any) -> Any:
        """``files.export`` to one type."""
        return self.mocker.get(
            f"{self.drive_api}/files/{file_id}/export",
            _responses(spec),
            additional_matcher=lambda r: query(r).get("mimeType") == mime_type,
        )

    def export_link(self, meta: str, mime_type: str, spec: Any) -> Any:
        """The export link that the recorded metadata ``meta`` lists for ``mime_type``
        (on ``docs.google.com`` for Docs Editors files), matched with its whole query."""
        url = recorded(meta)["exportLinks"][mime_type]
        expected = query_of_url(url)
        return self.mocker.get(
            url.split("?")[0],
            _responses(spec),
            additional_matcher=lambda r: query(r) == expected,
        )


@pytest.fixture
def google(requests_mock: Any) -> FakeGoogle:
    """Google, answering from the recorded bodies."""
    return FakeGoogle(requests_mock)


# -- the hub --------------------------------------------------------------------------------------


@pytest.fixture
def hub_settings() -> dict[str, Any]:
    """Google client credentials for every hub of these tests, as the environment keys
    ``HUB_GOOGLE_CLIENT_ID`` / ``HUB_GOOGLE_CLIENT_SECRET`` give them (hub.pytest_plugin)."""
    return {"GOOGLE_CLIENT_ID": CLIENT_ID, "GOOGLE_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def hub_app(hub_make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """The hub kit's hub (``hub_settings`` above; the plugins ``hub_plugins`` names, by default
    every installed one), its database closed afterwards.

    Built on ``hub_make_app`` rather than beside it, so that a contract class's ``hub_plugins``
    (only this plugin) applies here too."""
    yield hub_make_app()
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(hub_app: Flask) -> FlaskClient:
    """A browser signed in to the hub."""
    return signed_in_client(hub_app)


@pytest.fixture
def create(client: FlaskClient) -> Callable[..., int]:
    """Create a Google integration (fields as in ``POST /api/integrations``); its id."""

    def make(**fields: Any) -> int:
        response = client.post(
            "/api/integrations", json={"name": "Drive", "provider": "google", **fields}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return make


@pytest.fixture
def connect(client: FlaskClient, google: FakeGoogle) -> Callable[[int], TestResponse]:
    """Connect an integration: ``/connect``, Google's consent (skipped), then ``/oauth2/callback``
    with the code, as Google redirects back. Returns the callback's response."""

    def run(ref: int) -> TestResponse:
        started = client.get(f"/api/integrations/{ref}/connect")
        assert started.status_code == 302, started.get_json()
        state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
        return client.get(
            "/oauth2/callback",
            query_string={
                "state": state,
                "code": "4/0AeaYSHBrecordedcode",
                "scope": "email profile openid https://www.googleapis.com/auth/drive.readonly",
                "authuser": "0",
                "prompt": "consent",
                "iss": "https://accounts.google.com",
            },
        )

    return run


class HubDrive:
    """The hub's data API for one integration's ``drive`` service, as a client calls it."""

    def __init__(self, client: FlaskClient, ref: int) -> None:
        self.client = client
        self.ref = ref
        self.base = f"/api/integrations/{ref}/services/drive/items"

    def items(self, **params: Any) -> TestResponse:
        """``GET …/items`` with ``parent``, ``cursor``, ``limit``."""
        return self.client.get(self.base, query_string=params)

    def download(self, item_id: str, headers: dict | None = None, **params: Any) -> TestResponse:
        """``GET …/items/{id}/download`` (``format`` and other parameters as given)."""
        return self.client.get(
            f"{self.base}/{item_id}/download", query_string=params, headers=headers or {}
        )


@pytest.fixture
def drive(create: Callable[..., int], connect: Callable[[int], TestResponse], client: FlaskClient):
    """A connected Google integration's Drive, through the hub's HTTP API."""
    ref = create()
    assert connect(ref).status_code == 303
    return HubDrive(client, ref)
