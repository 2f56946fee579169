"""The declaration: valid, switched on by HUB_DEMO only, addressed by HUB_DEMO_URL."""

from __future__ import annotations

import pytest

from hub.providers import validate_provider
from hub.testing import assert_safe_icon, load_plugin, provider_of


@pytest.mark.parametrize("value", ["1", "true", "yes", "YES"])
def test_declared_and_valid_when_the_demo_is_on(monkeypatch, value):
    monkeypatch.setenv("HUB_DEMO", value)
    provider = provider_of("hub_demo", "demo")
    assert provider.display_name == "Demo (local test server)"
    assert provider.auth_types == ("oauth2",)
    assert provider.oauth2.pkce is True
    assert provider.endpoints["server"] == "http://127.0.0.1:5001"
    assert provider.oauth2.authorize_url == "{endpoints.server}/authorize"
    service = provider.service("files")
    assert service is not None and service.browse and service.download
    assert_safe_icon(provider.icon)


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
    provider = validate_provider(provider_of("hub_demo", "demo"))
    assert provider.endpoints["server"] == "http://127.0.0.1:6001"


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
