"""``HUB_<PROVIDER>_ENDPOINTS``: an operator points a provider at a staging or self-hosted
server for every integration, without a per-integration override and without changing the
plugin. The provider is played by a recording server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata

import pytest

from hub import plugins as plugin_module
from hub.plugins import ENTRY_POINT_GROUP
from tests.conftest import PASSWORD
from tests.live_servers import HUB, clean_environment


@pytest.fixture
def with_endpoints(make_app, monkeypatch):
    """An app with the test provider (tests/support_provider.py) and the given override."""
    point = metadata.EntryPoint(
        name="testfiles", value="tests.support_provider", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])

    def build(value):
        return make_app(TESTFILES_ENDPOINTS=value, ALLOW_PRIVATE_ADDRESSES=True)

    return build


def connected_client(app, make_user, settings=None):
    make_user("alice")
    client = app.test_client()
    client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    body = {"name": "Files", "provider": "testfiles", "authType": "bearer"}
    if settings:
        body["settings"] = settings
    ref = client.post("/api/integrations", json=body).json["id"]
    client.post(f"/api/integrations/{ref}/connection", json={"token": "tok-1"})
    return client, ref


def test_every_integration_goes_to_the_operators_server(with_endpoints, make_user, upstream):
    app = with_endpoints(json.dumps({"api": upstream.base}))
    upstream.answer("list", json={"entries": [], "next": None, "path": []})
    client, ref = connected_client(app, make_user)

    page = client.get(f"/api/integrations/{ref}/services/files/items")

    assert page.status_code == 200, page.json
    assert upstream.seen[0].path.startswith("/base/list?")
    assert upstream.seen[0].headers["Authorization"] == "Bearer tok-1"


def test_an_integrations_own_override_still_wins(with_endpoints, make_user, upstream):
    app = with_endpoints({"api": "https://staging.files.example.org"})
    upstream.answer("list", json={"entries": [], "next": None, "path": []})
    client, ref = connected_client(app, make_user, {"endpoints": {"api": upstream.base}})

    assert client.get(f"/api/integrations/{ref}/services/files/items").status_code == 200
    assert len(upstream.seen) == 1


@pytest.mark.parametrize(
    "value, words",
    [
        (
            '{"files": "https://x.example.org"}',
            "Test Files has no endpoint 'files'; its endpoints are api",
        ),
        ("https://x.example.org", 'must be a JSON object such as {"api": '),
        ('{"api": 42}', "must map endpoint names to URLs"),
        ('{"api": "ftp://x.example.org"}', "endpoints.api"),
    ],
)
def test_a_bad_override_stops_the_hub_naming_the_setting(with_endpoints, value, words):
    with pytest.raises(ValueError) as refused:
        with_endpoints(value)
    assert str(refused.value).startswith("HUB_TESTFILES_ENDPOINTS")
    assert words in str(refused.value)


def test_the_command_line_names_a_bad_override(tmp_path):
    environment = clean_environment(
        HUB_INSTANCE_PATH=str(tmp_path / "instance"), HUB_CUSTOM_ENDPOINTS='{"api": "https://x"}'
    )
    result = subprocess.run(
        [str(HUB), "plugins", "list"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "HUB_CUSTOM_ENDPOINTS: Custom API has no endpoint 'api'" in result.stderr


def test_the_expected_issuer_follows_the_endpoint_it_names(make_app):
    """Google's `iss` is its accounts endpoint: an operator's staging server is expected to send
    its own, and Google's is then refused."""
    from hub.addresses import effective_oauth2
    from hub.models import Integration

    staging = "https://accounts.staging.example.org"
    for settings, expected in (
        ({}, "https://accounts.google.com"),
        ({"accounts": staging}, staging),
    ):
        app = make_app(GOOGLE_ENDPOINTS=settings)
        google = app.extensions["hub"].registry.provider("google")
        with app.app_context():
            oauth2, _ = effective_oauth2(google, Integration(provider="google", settings={}))
        assert oauth2.issuer == expected


def test_a_server_address_not_given_yet_makes_no_origin(make_app):
    """PowerFolder's endpoints hang off serverUrl: before it is given they are unknown, never
    the text 'None' (whose origin would be '://')."""
    from hub.addresses import declared_oauth_origins, endpoints_of
    from hub.models import Integration

    app = make_app()
    powerfolder = app.extensions["hub"].registry.provider("powerfolder")
    unsaved = Integration(provider="powerfolder", auth_type="oauth2", settings={})
    with app.app_context():
        assert "server" not in endpoints_of(powerfolder, unsaved)
        assert declared_oauth_origins(powerfolder, unsaved) == frozenset()
