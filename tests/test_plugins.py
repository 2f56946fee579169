"""The plugin registry: discovery through entry points, validation, isolation of broken plugins."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

from hub import plugins as plugin_module
from hub.plugins import ENTRY_POINT_GROUP, PluginRegistry
from tests.conftest import HubCliRunner

GOOD_PLUGIN = """
from hub import hookimpl
from hub.providers import OAuth2Settings, Provider, Service


@hookimpl
def hub_register_providers():
    return [
        Provider(
            name="{provider}",
            display_name="Throwaway",
            auth_types=("oauth2", "bearer"),
            oauth2=OAuth2Settings(
                authorize_url="https://auth.example.org/authorize",
                token_url="https://auth.example.org/token",
            ),
            services=(Service("files", "Files"),),
        )
    ]
"""


@pytest.fixture
def plugin_source(tmp_path, monkeypatch):
    """Write plugin modules into a folder on sys.path; entry points name them by module."""
    folder = tmp_path / "plugin_modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    written = []

    def write(module: str, source: str) -> metadata.EntryPoint:
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        written.append(module)
        return metadata.EntryPoint(name=module, value=module, group=ENTRY_POINT_GROUP)

    yield write
    for module in written:
        sys.modules.pop(module, None)


def registry_with(*points: metadata.EntryPoint, **kwargs) -> PluginRegistry:
    return PluginRegistry(entry_points=list(points), **kwargs)


# -- discovery ---------------------------------------------------------------------------------


def pip_install_plugin(tmp_path, monkeypatch, provider: str, *, requires: str = "") -> None:
    """Build and install a one-module plugin distribution ``hub-{provider}`` with pip, as a team
    would, into a folder put on ``sys.path``."""
    source = tmp_path / "src"
    (source / f"hub_{provider}").mkdir(parents=True)
    (source / f"hub_{provider}" / "__init__.py").write_text(GOOD_PLUGIN.format(provider=provider))
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (source / "setup.cfg").write_text(
        textwrap.dedent(
            f"""
            [metadata]
            name = hub-{provider}
            version = 0.0.7

            [options]
            packages = hub_{provider}
            install_requires = {requires}

            [options.entry_points]
            hub.plugins =
                {provider} = hub_{provider}
            """
        )
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--disable-pip-version-check",
            "--target", str(target), str(source),
        ],
        check=True,
    )  # fmt: skip
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.delitem(sys.modules, f"hub_{provider}", raising=False)


@pytest.mark.slow
def test_a_plugin_installed_with_pip_is_discovered_through_its_entry_point(tmp_path, monkeypatch):
    pip_install_plugin(tmp_path, monkeypatch, "throwaway", requires="integration-hub>=0.1")
    try:
        registry = PluginRegistry()
        info = registry.plugins["throwaway"]
        assert (info.distribution, info.version, info.status) == ("hub-throwaway", "0.0.7", "ok")
        assert info.providers == ["throwaway"]
        assert registry.provider("throwaway").display_name == "Throwaway"
    finally:
        sys.modules.pop("hub_throwaway", None)


@pytest.mark.slow
def test_a_plugin_made_for_another_core_is_refused_by_name_and_the_hub_starts(
    tmp_path, monkeypatch, make_app
):
    """Installed with --no-deps (or before the core was changed), it is never imported."""
    pip_install_plugin(tmp_path, monkeypatch, "future", requires="integration-hub>=99")

    app = make_app()

    assert app.test_client().get("/healthz").status_code == 200
    listed = HubCliRunner(app).invoke(args=["plugins", "list"]).output
    row = next(line for line in listed.splitlines() if line.startswith("future "))
    assert "failed: incompatible: needs integration-hub>=99, this hub is 0.1.0" in row
    assert "hub_future" not in sys.modules
    assert app.extensions["hub"].registry.provider("future") is None


def test_the_bundled_plugins_are_discovered_with_distribution_and_version():
    registry = PluginRegistry()
    rows = {p.name: p for p in registry.listing()}
    for name, distribution in [
        ("infomaniak", "hub-infomaniak"),
        ("powerfolder", "hub-powerfolder"),
        ("google", "hub-google"),
        ("microsoft", "hub-microsoft"),
        ("dropbox", "hub-dropbox"),
    ]:
        assert rows[name].distribution == distribution
        assert rows[name].version
        assert rows[name].status == "ok"


def test_the_custom_provider_is_a_builtin_plugin():
    registry = registry_with()
    info = registry.plugins["custom"]
    assert info.builtin and info.status == "ok"
    assert info.distribution == "integration-hub"
    assert set(registry.provider("custom").auth_types) == {"oauth2", "apikey", "basic", "bearer"}


def test_a_good_plugin_registers_its_providers(plugin_source):
    registry = registry_with(plugin_source("good_plugin", GOOD_PLUGIN.format(provider="good")))
    assert registry.plugins["good_plugin"].status == "ok"
    assert registry.plugins["good_plugin"].hooks == ["hub_register_providers"]
    assert registry.provider("good").services[0].name == "files"


# -- broken plugins are isolated --------------------------------------------------------------


def test_a_plugin_that_cannot_be_imported_is_listed_as_failed(plugin_source):
    point = plugin_source("broken_import", "import module_that_does_not_exist\n")
    registry = registry_with(point)
    info = registry.plugins["broken_import"]
    assert info.status == "failed"
    assert "cannot be imported" in info.reason and "module_that_does_not_exist" in info.reason
    assert registry.provider("custom") is not None


def test_an_invalid_declaration_names_the_provider_and_field(plugin_source):
    source = GOOD_PLUGIN.format(provider="Bad Name")
    registry = registry_with(plugin_source("bad_declaration", source))
    info = registry.plugins["bad_declaration"]
    assert info.status == "failed"
    assert "'Bad Name'" in info.reason and "name" in info.reason


def test_a_declaration_with_an_unknown_auth_type_is_refused(plugin_source):
    source = GOOD_PLUGIN.format(provider="weird").replace('"bearer"', '"kerberos"')
    info = registry_with(plugin_source("weird_auth", source)).plugins["weird_auth"]
    assert info.status == "failed"
    assert "auth_types" in info.reason and "kerberos" in info.reason


def test_an_unknown_hook_name_is_refused(plugin_source):
    source = (
        GOOD_PLUGIN.format(provider="typo") + "\n\ndef hub_register_provider():\n    return []\n"
    )
    registry = registry_with(plugin_source("typo_hook", source))
    info = registry.plugins["typo_hook"]
    assert info.status == "failed"
    assert "hub_register_provider" in info.reason
    assert registry.provider("typo") is None


def test_a_hook_with_arguments_the_spec_does_not_have_is_refused(plugin_source):
    source = """
        from hub import hookimpl

        @hookimpl
        def hub_register_commands(cli, surprise):
            pass
    """
    info = registry_with(plugin_source("bad_args", source)).plugins["bad_args"]
    assert info.status == "failed"
    assert "surprise" in info.reason


def test_a_hook_that_raises_fails_only_its_plugin(plugin_source):
    broken = plugin_source(
        "raising_plugin",
        "def hub_register_providers():\n    raise RuntimeError('boom')\n",
    )
    good = plugin_source("fine_plugin", GOOD_PLUGIN.format(provider="fine"))
    registry = registry_with(broken, good)
    assert registry.plugins["raising_plugin"].status == "failed"
    assert "RuntimeError: boom" in registry.plugins["raising_plugin"].reason
    assert registry.plugins["fine_plugin"].status == "ok"
    assert registry.provider("fine") is not None


def test_a_hook_returning_something_else_than_a_list_fails_the_plugin(plugin_source):
    point = plugin_source("not_a_list", "def hub_register_providers():\n    return 42\n")
    info = registry_with(point).plugins["not_a_list"]
    assert info.status == "failed" and "list" in info.reason


def test_a_provider_name_declared_twice_fails_the_second_plugin(plugin_source):
    first = plugin_source("first_plugin", GOOD_PLUGIN.format(provider="twin"))
    second = plugin_source("second_plugin", GOOD_PLUGIN.format(provider="twin"))
    registry = registry_with(first, second)
    assert registry.plugins["first_plugin"].status == "ok"
    assert registry.plugins["second_plugin"].status == "failed"
    assert "'twin'" in registry.plugins["second_plugin"].reason


def test_an_installed_plugin_wins_a_provider_name_over_a_builtin(plugin_source):
    registry = registry_with(plugin_source("my_custom", GOOD_PLUGIN.format(provider="custom")))
    assert registry.provider("custom").display_name == "Throwaway"
    assert registry.plugins["custom"].status == "failed"


def test_a_failed_plugin_has_none_of_its_hooks_called(plugin_source):
    source = """
        from hub import hookimpl

        @hookimpl
        def hub_register_providers():
            return ["not a provider"]

        @hookimpl
        def hub_register_commands(cli):
            raise AssertionError("a failed plugin must not be called again")
    """
    registry = registry_with(plugin_source("half_broken", source))
    assert registry.plugins["half_broken"].status == "failed"
    registry.hook.hub_register_commands(cli=None)


def test_a_broken_plugin_does_not_stop_the_hub(plugin_source, monkeypatch, make_app):
    point = plugin_source("broken_at_start", "raise SyntaxError('nope')\n")
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    app = make_app()
    assert app.test_client().get("/healthz").status_code == 200
    result = HubCliRunner(app).invoke(args=["plugins", "list", "--json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["broken_at_start"]["status"] == "failed"
    assert "nope" in rows["broken_at_start"]["reason"]
    assert rows["custom"]["status"] == "ok"


# -- selection and tracing ---------------------------------------------------------------------


def test_the_deny_list_disables_a_plugin(plugin_source):
    point = plugin_source("denied_plugin", GOOD_PLUGIN.format(provider="denied"))
    registry = registry_with(point, deny=["denied_plugin"])
    assert registry.plugins["denied_plugin"].status == "disabled"
    assert registry.provider("denied") is None


def test_the_allow_list_loads_only_the_plugins_named(plugin_source):
    kept = plugin_source("kept_plugin", GOOD_PLUGIN.format(provider="kept"))
    other = plugin_source("other_plugin", GOOD_PLUGIN.format(provider="other"))
    registry = registry_with(kept, other, allow=["kept_plugin", "custom", "core-headers"])
    assert registry.plugins["kept_plugin"].status == "ok"
    assert registry.plugins["other_plugin"].status == "disabled"


def test_environment_settings_select_plugins(plugin_source, monkeypatch, make_app):
    point = plugin_source("env_denied", GOOD_PLUGIN.format(provider="envdenied"))
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    monkeypatch.setenv("HUB_PLUGINS_DENY", "env_denied")
    app = make_app()
    registry = app.extensions["hub"].registry
    assert registry.plugins["env_denied"].status == "disabled"


def test_tracing_logs_every_hook_call(plugin_source, caplog):
    point = plugin_source("traced_plugin", GOOD_PLUGIN.format(provider="traced"))
    with caplog.at_level(logging.INFO, logger="hub.plugins"):
        registry_with(point, trace=True)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "traced_plugin" in messages and "hub_register_providers" in messages


def test_tracing_is_switched_on_by_hub_trace_plugins(monkeypatch, make_app, caplog):
    monkeypatch.setenv("HUB_TRACE_PLUGINS", "1")
    with caplog.at_level(logging.INFO, logger="hub.plugins"):
        make_app()
    assert any("hub_register_providers" in r.getMessage() for r in caplog.records)


def test_every_app_has_its_own_plugin_manager(make_app):
    first = make_app().extensions["hub"].registry
    second = make_app().extensions["hub"].registry
    assert first is not second and first.manager is not second.manager


def test_lifecycle_notification_survives_a_failing_plugin(plugin_source, caplog):
    source = """
        calls = []

        def hub_connection_connected(event):
            raise RuntimeError("listener broke")
    """
    listener = plugin_source("bad_listener", source)
    recorder = plugin_source(
        "recorder", "calls = []\n\ndef hub_connection_connected(event):\n    calls.append(event)\n"
    )
    registry = registry_with(listener, recorder)
    registry.notify("hub_connection_connected", event="an event")
    assert sys.modules["recorder"].calls == ["an event"]
    assert "listener broke" in caplog.text


def test_every_hookspec_is_documented():
    from hub import hookspecs

    specs = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("hub_")]
    assert specs
    for spec in specs:
        assert spec.__doc__ and len(spec.__doc__.strip()) > 40, spec.__name__


def test_a_plugin_failing_later_loses_its_providers_too(plugin_source):
    source = GOOD_PLUGIN.format(provider="halfway") + (
        "\n\n@hookimpl\ndef hub_register_header_variables():\n    raise RuntimeError('late')\n"
    )
    registry = registry_with(plugin_source("late_failure", source))
    assert registry.plugins["late_failure"].status == "failed"
    assert registry.provider("halfway") is None


def test_a_plugin_whose_commands_fail_does_not_stop_the_command_line(plugin_source, capsys):
    import click

    from hub.cli import register_plugin_commands

    broken = plugin_source(
        "bad_commands",
        "from hub import hookimpl\n\n@hookimpl\n"
        "def hub_register_commands(cli):\n    raise RuntimeError('no')\n",
    )
    good = plugin_source(
        "good_commands",
        "import click\nfrom hub import hookimpl\n\n@hookimpl\ndef hub_register_commands(cli):\n"
        "    cli.add_command(click.Command('hello', callback=lambda: None))\n",
    )
    group = click.Group()
    register_plugin_commands(registry_with(broken, good), group)
    assert "hello" in group.commands
    assert "bad_commands" in capsys.readouterr().err


# -- compatibility ---------------------------------------------------------------------------


def test_a_plugin_supporting_this_plugin_api_loads(plugin_source):
    source = GOOD_PLUGIN.format(provider="current") + '\nHUB_PLUGIN_API = ">=1.0,<2"\n'
    registry = registry_with(plugin_source("current_plugin", source))
    assert registry.plugins["current_plugin"].status == "ok"


@pytest.mark.parametrize(
    "declared, reason",
    [
        ('">=2,<3"', "incompatible: supports plugin API <3,>=2, this hub offers 1.0"),
        ('"<1.0"', "incompatible: supports plugin API <1.0, this hub offers 1.0"),
        ('"version one"', "HUB_PLUGIN_API 'version one' is not a version range such as '>=1.0,<2'"),
        ("2", "HUB_PLUGIN_API 2 is not a version range such as '>=1.0,<2'"),
    ],
)
def test_a_plugin_for_another_plugin_api_is_refused_with_the_reason(
    plugin_source, declared, reason
):
    source = GOOD_PLUGIN.format(provider="elsewhen") + f"\nHUB_PLUGIN_API = {declared}\n"
    registry = registry_with(plugin_source("elsewhen_plugin", source))
    info = registry.plugins["elsewhen_plugin"]
    assert (info.status, info.reason) == ("failed", reason)
    assert registry.provider("elsewhen") is None
