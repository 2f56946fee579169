"""What the contract (test_contract.py) does not check: the declaration is switched on by
HUB_DEMO only, addressed by HUB_DEMO_URL, moved whole by HUB_DEMO_ENDPOINTS; and the command."""

from __future__ import annotations

import json
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from hub.addresses import api_base_uri, oauth_urls
from hub.db import database
from hub.models import Integration
from hub.plugins import PLUGIN_API_VERSION
from hub.testing import load_plugin, make_hub_app, provider_of, signed_in_client
from hub_demo import CLIENT_ID, CLIENT_SECRET

SERVER = "{endpoints.server}"


@pytest.mark.parametrize("value", ["1", "true", "yes", "YES"])
def test_declared_when_the_demo_is_on(monkeypatch, value):
    monkeypatch.setenv("HUB_DEMO", value)
    provider = provider_of("hub_demo", "demo")
    assert provider.display_name == "Demo (local test server)"
    assert provider.auth_types == ("oauth2",)
    assert provider.oauth2.pkce is True
    assert provider.endpoints["server"] == "http://127.0.0.1:5001"
    service = provider.service("files")
    assert service is not None and service.browse and service.download


def test_every_url_goes_through_the_server_endpoint(monkeypatch):
    monkeypatch.setenv("HUB_DEMO", "1")
    provider = provider_of("hub_demo", "demo")
    oauth2 = provider.oauth2
    assert oauth2.authorize_url == f"{SERVER}/authorize"
    assert oauth2.token_url == f"{SERVER}/token"
    assert oauth2.revoke_url == f"{SERVER}/revoke"
    assert oauth2.refresh_url is None and oauth2.issuer is None  # refresh: the token URL
    assert list(provider.endpoints) == ["server"]
    assert provider.api_endpoint == provider.profile.endpoint == "server"


def test_hub_demo_endpoints_moves_every_url(tmp_path, monkeypatch):
    moved = "http://127.0.0.1:6123"
    monkeypatch.setenv("HUB_DEMO", "1")
    monkeypatch.setenv("HUB_DEMO_ENDPOINTS", json.dumps({"server": moved}))
    app = make_hub_app(tmp_path, ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
    client = signed_in_client(app, "ada")
    created = client.post(
        "/api/integrations",
        json={
            "name": "Demo",
            "provider": "demo",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
        },
    )
    assert created.status_code == 201, created.get_json()

    started = client.get(f"/api/integrations/{created.get_json()['id']}/connect")

    assert started.status_code == 302
    assert started.headers["Location"].startswith(f"{moved}/authorize?")
    provider = app.extensions["hub"].registry.provider("demo")
    with app.app_context(), database.connection_context():
        integration = Integration.get_by_id(created.get_json()["id"])
        urls = oauth_urls(provider, integration)
        assert api_base_uri(provider, integration) == moved
    assert (urls.authorize, urls.token, urls.refresh, urls.revoke) == (
        f"{moved}/authorize",
        f"{moved}/token",
        f"{moved}/token",
        f"{moved}/revoke",
    )


@pytest.mark.parametrize("value", [None, "", "0", "no", "false"])
def test_absent_unless_asked_for(monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("HUB_DEMO", value)
    registry = load_plugin("hub_demo", name="demo")
    assert registry.plugins["demo"].status == "ok"
    assert registry.provider("demo") is None


def test_server_address_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUB_DEMO", "1")
    monkeypatch.setenv("HUB_DEMO_URL", "http://127.0.0.1:6001/")
    provider = provider_of("hub_demo", "demo")
    assert provider.endpoints["server"] == "http://127.0.0.1:6001"


def test_declares_the_core_and_plugin_api_it_is_written_for():
    import hub_demo

    assert SpecifierSet(hub_demo.HUB_PLUGIN_API).contains(PLUGIN_API_VERSION)
    needs = [Requirement(text) for text in metadata.requires("hub-demo") or []]
    core = next(r for r in needs if r.name == "integration-hub")
    assert str(core.specifier) and core.specifier.contains(metadata.version("integration-hub"))


def test_demo_server_command_is_registered():
    import click

    import hub_demo

    group = click.Group()
    hub_demo.hub_register_commands(group)
    command = group.commands["demo-server"]
    served = []
    from hub_demo import server

    original = server.run
    try:
        server.run = lambda port: served.append(port)
        from click.testing import CliRunner

        result = CliRunner().invoke(command, ["--port", "5099"])
    finally:
        server.run = original
    assert result.exit_code == 0, result.output
    assert served == [5099]
    assert "not a real provider" in result.output
