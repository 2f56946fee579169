"""The ``hub`` command line (DESIGN §4): every command through the test app's CLI runner."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import hub.app
import hub.cli
import hub.server
from hub import accounts, create_app, migrations
from hub.cli import cli
from hub.crypto import generate_key
from hub.db import database
from hub.models import ApiToken, Membership, Principal, User
from hub.plugins import PLUGIN_API_VERSION

from .conftest import PASSWORD
from .live_servers import (
    HUB,
    Server,
    clean_environment,
    free_port,
    run_cli,
    spawn,
    wait_until_serving,
)

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def fresh_app(tmp_path, database_url):
    """An app on an empty database: no schema yet (``make_app`` would migrate it)."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "ENCRYPTION_KEYS": generate_key(),
        }
    )
    yield app
    if not database.is_closed():
        database.close()


@pytest.fixture
def fresh_runner(fresh_app):
    return fresh_app.test_cli_runner()


@pytest.fixture
def served(monkeypatch):
    """``hub.server.serve`` replaced by a recorder: no server ever starts. ``serve --demo``
    starts no Demo server either (see ``demo_started``)."""
    calls = []
    before = {k: v for k, v in os.environ.items() if k.startswith("HUB_")}

    def record(factory, **options):
        calls.append(
            {
                "factory": factory,
                **{name: os.environ.get(f"HUB_{name}") for name in DEMO_SETTINGS},
                **options,
            }
        )

    monkeypatch.setattr(hub.server, "serve", record)
    yield calls
    # `serve --demo` sets HUB_* variables in this process's environment for the workers.
    for name in [k for k in os.environ if k.startswith("HUB_")]:
        if name not in before:
            del os.environ[name]
    os.environ.update(before)


DEMO_SETTINGS = (
    "DEMO",
    "DEMO_URL",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "ALLOW_PRIVATE_ADDRESSES",
)


class FakeProcess:
    """What ``start_demo_server`` returns, without a process behind it."""

    def __init__(self):
        self.returncode = None
        self.terminated = False

    def poll(self):
        return self.returncode

    def terminate(self):
        self.terminated = True
        self.returncode = -15

    def wait(self, timeout=None):
        return self.returncode


@pytest.fixture
def demo_started(monkeypatch):
    """The ports ``serve --demo`` started a Demo server on, and each stand-in process."""
    started = []

    def start(port):
        process = FakeProcess()
        started.append((port, process))
        return hub.cli.DemoServer(process, os.getpid())

    monkeypatch.setattr(hub.cli, "start_demo_server", start)
    return started


def in_db(app, function):
    with app.app_context(), database.connection_context():
        return function()


def value_after(output: str, label: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(label)]
    assert len(lines) == 1, output
    return lines[0][len(label) :].strip()


# -- init --------------------------------------------------------------------------------------


def test_init_applies_the_migrations_to_a_fresh_database(fresh_app, fresh_runner):
    result = fresh_runner.invoke(cli, ["init"])

    assert result.exit_code == 0, result.output
    assert "Applied migration 1: initial schema" in result.output
    assert in_db(fresh_app, migrations.is_current)


def test_init_on_a_fresh_database_prints_the_admin_credentials(fresh_runner):
    result = fresh_runner.invoke(cli, ["init"])

    assert value_after(result.output, "Admin username:") == "admin"
    assert value_after(result.output, "Admin password:")


def test_init_creates_the_admin_as_an_administrator(fresh_app, fresh_runner):
    fresh_runner.invoke(cli, ["init"])

    admin = in_db(fresh_app, lambda: accounts.get_user("admin"))

    assert admin.is_superuser


def test_the_printed_admin_password_signs_in(fresh_app, fresh_runner):
    result = fresh_runner.invoke(cli, ["init"])
    password = value_after(result.output, "Admin password:")

    response = fresh_app.test_client().post(
        "/api/login", json={"username": "admin", "password": password}
    )

    assert response.status_code == 200, response.json
    assert response.json["name"] == "admin"
    assert response.json["isSuperuser"] is True


def test_init_prints_where_to_sign_in(fresh_runner):
    result = fresh_runner.invoke(cli, ["init"])

    assert "Sign in at http://127.0.0.1:5000/login" in result.output


def test_init_again_says_up_to_date_and_prints_no_admin(fresh_runner):
    fresh_runner.invoke(cli, ["init"])

    result = fresh_runner.invoke(cli, ["init"])

    assert result.exit_code == 0, result.output
    assert "The database schema is up to date." in result.output
    assert "Applied migration" not in result.output
    assert "Admin" not in result.output


def test_init_no_admin_creates_no_administrator(fresh_app, fresh_runner):
    result = fresh_runner.invoke(cli, ["init", "--no-admin"])

    assert result.exit_code == 0, result.output
    assert "Admin" not in result.output
    assert not in_db(fresh_app, accounts.any_superuser)


def test_init_creates_no_admin_when_an_administrator_exists(runner, admin):
    result = runner.invoke(cli, ["init"])

    assert result.exit_code == 0, result.output
    assert "Admin" not in result.output


# -- users -------------------------------------------------------------------------------------


def test_users_create_with_password_creates_a_user_who_can_sign_in(app, runner):
    result = runner.invoke(
        cli, ["users", "create", "alice", "--email", "alice@example.org", "--password", PASSWORD]
    )

    assert result.exit_code == 0, result.output
    assert "Created user alice" in result.output
    response = app.test_client().post(
        "/api/login", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json["email"] == "alice@example.org"
    assert response.json["isSuperuser"] is False


def test_users_create_admin_makes_an_administrator(app, runner):
    result = runner.invoke(cli, ["users", "create", "root", "--admin", "--password", PASSWORD])

    assert result.exit_code == 0, result.output
    assert "Created user root (administrator)" in result.output
    assert in_db(app, lambda: accounts.get_user("root").is_superuser)


def test_users_create_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        cli, ["users", "create", "alice", "--password-stdin"], input=f"{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    user = in_db(app, lambda: accounts.get_user("alice"))
    assert accounts.verify_password(user, PASSWORD)


def test_users_create_never_echoes_the_password(runner):
    result = runner.invoke(cli, ["users", "create", "alice", "--password-stdin"], input=PASSWORD)

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    "options",
    [["--password", PASSWORD, "--password-stdin"], []],
    ids=["both", "neither"],
)
def test_users_create_needs_exactly_one_password_option(app, runner, options):
    result = runner.invoke(cli, ["users", "create", "alice", *options], input=f"{PASSWORD}\n")

    assert result.exit_code == 1
    assert "give exactly one of --password or --password-stdin" in result.output
    assert not in_db(app, lambda: Principal.select().where(Principal.name == "alice").exists())


def test_users_create_refuses_a_taken_name_naming_it(runner, alice):
    result = runner.invoke(cli, ["users", "create", "alice", "--password", PASSWORD])

    assert result.exit_code == 1
    assert "'alice'" in result.output
    assert "already taken" in result.output
    assert "Traceback" not in result.output


def test_users_create_refuses_a_short_password(app, runner):
    result = runner.invoke(cli, ["users", "create", "alice", "--password", "short"])

    assert result.exit_code == 1
    assert "the password is too short" in result.output
    assert "at least 8 characters" in result.output
    assert not in_db(app, lambda: User.select().exists())


def test_users_create_refuses_an_invalid_name(runner):
    result = runner.invoke(cli, ["users", "create", "Not A Name", "--password", PASSWORD])

    assert result.exit_code == 1
    assert "name is not a valid name" in result.output


def test_users_list_shows_every_user_by_name_with_email_and_role(runner, make_user):
    make_user("bob")
    make_user("alice", superuser=True)

    result = runner.invoke(cli, ["users", "list"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "alice\talice@example.org (administrator)",
        "bob\tbob@example.org",
    ]


def test_users_list_of_no_users_prints_nothing(runner):
    result = runner.invoke(cli, ["users", "list"])

    assert result.exit_code == 0
    assert result.output == ""


def test_users_set_password_replaces_the_password(app, runner, alice):
    result = runner.invoke(
        cli, ["users", "set-password", "alice", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert "Password changed for alice" in result.output
    user = in_db(app, lambda: accounts.get_user("alice"))
    assert accounts.verify_password(user, NEW_PASSWORD)
    assert not accounts.verify_password(user, PASSWORD)


def test_users_set_password_signs_out_the_users_sessions(runner, alice, login):
    client = login("alice")

    runner.invoke(
        cli, ["users", "set-password", "alice", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
    )

    assert client.get("/api/me").status_code == 401


def test_users_set_password_of_an_unknown_user_fails(runner):
    result = runner.invoke(
        cli, ["users", "set-password", "nobody", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
    )

    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


def test_users_set_password_refuses_a_short_password(app, runner, alice):
    result = runner.invoke(
        cli, ["users", "set-password", "alice", "--password-stdin"], input="short\n"
    )

    assert result.exit_code == 1
    assert "the password is too short" in result.output
    user = in_db(app, lambda: accounts.get_user("alice"))
    assert accounts.verify_password(user, PASSWORD)


def test_users_set_password_needs_password_stdin(runner, alice):
    result = runner.invoke(cli, ["users", "set-password", "alice"], input=f"{NEW_PASSWORD}\n")

    assert result.exit_code == 2
    assert "--password-stdin" in result.output


# -- teams -------------------------------------------------------------------------------------


def test_teams_create_adds_the_members(app, runner, alice, bob):
    result = runner.invoke(
        cli,
        ["teams", "create", "ops", "--name", "Operations", "--member", "alice", "--member", "bob"],
    )

    assert result.exit_code == 0, result.output
    assert "Created team ops with alice, bob" in result.output
    team = in_db(app, lambda: accounts.get_team("ops"))
    members = in_db(
        app,
        lambda: sorted(m.user.name for m in Membership.select().where(Membership.team == team)),
    )
    assert members == ["alice", "bob"]


def test_teams_create_sets_the_display_name(app, runner):
    runner.invoke(cli, ["teams", "create", "ops", "--name", "Operations"])

    team = in_db(app, lambda: accounts.get_team("ops"))

    assert in_db(app, lambda: team.principal.display_name) == "Operations"


def test_teams_create_with_an_unknown_member_fails_and_creates_nothing(app, runner, alice):
    result = runner.invoke(
        cli, ["teams", "create", "ops", "--member", "alice", "--member", "carol"]
    )

    assert result.exit_code == 1
    assert "no user named 'carol'" in result.output
    assert in_db(app, lambda: accounts.find_principal("ops")) is None


def test_teams_create_adds_a_repeated_member_once(app, runner, alice):
    result = runner.invoke(
        cli, ["teams", "create", "ops", "--member", "alice", "--member", "alice"]
    )

    assert result.exit_code == 0, repr(result.exception)
    assert in_db(app, lambda: Membership.select().count()) == 1


def test_teams_create_refuses_a_name_taken_by_a_user(runner, alice):
    result = runner.invoke(cli, ["teams", "create", "alice"])

    assert result.exit_code == 1
    assert "the name 'alice' is already taken" in result.output


# -- tokens ------------------------------------------------------------------------------------


def test_tokens_create_prints_the_token_alone_on_the_last_line(runner, alice):
    result = runner.invoke(cli, ["tokens", "create", "alice", "--name", "laptop"])

    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith(accounts.TOKEN_PREFIX)
    assert last == last.strip()
    assert " " not in last


def test_the_printed_token_authenticates_as_its_user(client, runner, alice):
    result = runner.invoke(cli, ["tokens", "create", "alice", "--name", "laptop"])
    token = result.output.splitlines()[-1]

    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json["name"] == "alice"


def test_tokens_create_stores_the_name_and_only_a_hash(app, runner, alice):
    result = runner.invoke(cli, ["tokens", "create", "alice", "--name", "laptop"])
    token = result.output.splitlines()[-1]

    row = in_db(app, lambda: ApiToken.get())

    assert row.name == "laptop"
    assert row.token_hash == accounts.hash_token(token)
    assert token not in (row.token_hash, row.prefix)


def test_tokens_create_names_the_token_cli_by_default(app, runner, alice):
    runner.invoke(cli, ["tokens", "create", "alice"])

    assert in_db(app, lambda: ApiToken.get().name) == "cli"


def test_tokens_create_for_an_unknown_user_fails(app, runner):
    result = runner.invoke(cli, ["tokens", "create", "nobody"])

    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output
    assert not in_db(app, lambda: ApiToken.select().exists())


# -- plugins -----------------------------------------------------------------------------------


def test_plugins_list_shows_a_row_per_plugin_with_a_header(runner):
    result = runner.invoke(cli, ["plugins", "list"])

    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:4] == ["NAME", "DISTRIBUTION", "VERSION", "STATUS"]
    custom = next(row.split() for row in rows if row.split()[0] == "custom")
    assert custom[1:2] == ["integration-hub"]
    assert custom[3] == "ok"


def test_plugins_list_json_is_one_object_per_plugin(runner):
    result = runner.invoke(cli, ["plugins", "list", "--json"])

    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert listing
    for row in listing:
        assert {"name", "distribution", "version", "status"} <= row.keys()


def test_plugins_list_json_shows_the_builtin_custom_plugin_ok(runner):
    result = runner.invoke(cli, ["plugins", "list", "--json"])

    custom = next(row for row in json.loads(result.output) if row["name"] == "custom")
    assert custom["status"] == "ok"
    assert custom["distribution"] == "integration-hub"
    assert custom["providers"] == ["custom"]


# -- serve -------------------------------------------------------------------------------------


def test_serve_refuses_an_unmigrated_database(fresh_runner, served):
    result = fresh_runner.invoke(cli, ["serve"])

    assert result.exit_code == 1
    assert "run `hub init` first" in result.output
    assert served == []


def test_serve_passes_host_port_and_workers_to_the_server(runner, served):
    result = runner.invoke(
        cli, ["serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "3", "--threads", "2"]
    )

    assert result.exit_code == 0, result.output
    assert len(served) == 1
    assert (served[0]["host"], served[0]["port"]) == ("0.0.0.0", 8080)
    assert (served[0]["workers"], served[0]["threads"]) == (3, 2)


def test_serve_defaults_to_localhost_port_5000(runner, served):
    result = runner.invoke(cli, ["serve"])

    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 5000)
    assert served[0]["workers"] >= 1
    assert "Serving Integration Hub on http://127.0.0.1:5000" in result.output


def test_serve_gives_every_worker_the_app_factory(runner, served):
    runner.invoke(cli, ["serve"])

    assert served[0]["factory"] is hub.app.create_app


def test_serve_demo_switches_the_demo_provider_on_for_the_workers(runner, served, demo_started):
    result = runner.invoke(cli, ["serve", "--demo"])

    assert result.exit_code == 0, result.output
    assert served[0]["DEMO"] == "1"
    assert os.environ["HUB_DEMO"] == "1"


def test_serve_without_demo_leaves_the_demo_off(runner, served, demo_started):
    runner.invoke(cli, ["serve"])

    assert served[0]["DEMO"] is None
    assert served[0]["ALLOW_PRIVATE_ADDRESSES"] is None
    assert demo_started == []


def free_port_to_test(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_serve_demo_starts_the_demo_server_and_lets_the_hub_reach_only_its_address(
    runner, served, demo_started
):
    if not free_port_to_test(5001):
        pytest.skip("port 5001 is in use here (a hub started with make run?)")

    result = runner.invoke(cli, ["serve", "--demo"])

    assert result.exit_code == 0, result.output
    assert [port for port, _ in demo_started] == [5001]
    assert served[0]["DEMO_URL"] == "http://127.0.0.1:5001"
    assert served[0]["ALLOW_PRIVATE_ADDRESSES"] == "127.0.0.1"
    assert "Demo server runs on http://127.0.0.1:5001" in result.output
    assert "not a real provider" in result.output


def test_serve_demo_fills_in_the_demo_client_so_nobody_types_it(runner, served, demo_started):
    runner.invoke(cli, ["serve", "--demo"])

    assert (served[0]["DEMO_CLIENT_ID"], served[0]["DEMO_CLIENT_SECRET"]) == (
        "hub-demo",
        "demo-secret",
    )


def test_serve_demo_keeps_a_demo_client_set_in_the_environment(
    runner, served, demo_started, monkeypatch
):
    monkeypatch.setenv("HUB_DEMO_CLIENT_ID", "mine")
    monkeypatch.setenv("HUB_DEMO_CLIENT_SECRET", "my-secret")

    runner.invoke(cli, ["serve", "--demo"])

    assert (served[0]["DEMO_CLIENT_ID"], served[0]["DEMO_CLIENT_SECRET"]) == ("mine", "my-secret")


def test_serve_demo_stops_the_demo_server_when_the_hub_stops(runner, served, demo_started):
    runner.invoke(cli, ["serve", "--demo"])

    assert [process.terminated for _, process in demo_started] == [True]


def test_serve_demo_stops_the_demo_server_when_the_hub_fails(runner, demo_started, monkeypatch):
    def crash(factory, **options):
        raise RuntimeError("gunicorn could not bind")

    monkeypatch.setattr(hub.server, "serve", crash)
    before = {k: v for k, v in os.environ.items() if k.startswith("HUB_")}
    try:
        result = runner.invoke(cli, ["serve", "--demo"])
    finally:
        for name in [k for k in os.environ if k.startswith("HUB_") and k not in before]:
            del os.environ[name]

    assert isinstance(result.exception, RuntimeError)
    assert [process.terminated for _, process in demo_started] == [True]


def test_a_forked_worker_leaving_serve_does_not_stop_the_demo_server():
    process = FakeProcess()

    hub.cli.stop_demo_server(hub.cli.DemoServer(process, os.getpid() + 1))

    assert not process.terminated


def test_serve_demo_takes_the_next_port_when_5001_is_busy(runner, served, demo_started):
    with socket.socket() as busy:
        with contextlib.suppress(OSError):  # if it fails, 5001 is busy already
            busy.bind(("127.0.0.1", 5001))
            busy.listen()

        result = runner.invoke(cli, ["serve", "--demo", "--port", "5002"])

    assert result.exit_code == 0, result.output
    port = demo_started[0][0]
    assert port > 5002
    assert served[0]["DEMO_URL"] == f"http://127.0.0.1:{port}"
    assert f"Port 5001 is busy: the Demo server uses port {port}" in result.output


@pytest.mark.parametrize(
    "setting, expected",
    [("1", "1"), ("192.168.1.0/24", "192.168.1.0/24,127.0.0.1"), ("0", "127.0.0.1")],
)
def test_serve_demo_adds_the_demo_address_to_the_allowed_private_addresses(
    runner, served, demo_started, monkeypatch, setting, expected
):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", setting)

    runner.invoke(cli, ["serve", "--demo"])

    assert served[0]["ALLOW_PRIVATE_ADDRESSES"] == expected


def test_serve_demo_refuses_a_malformed_private_address_setting(
    runner, served, demo_started, monkeypatch
):
    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", "127.0.0.1,not-an-address")

    result = runner.invoke(cli, ["serve", "--demo"])

    assert result.exit_code == 1
    assert "'not-an-address'" in result.output
    assert served == []
    assert demo_started == []


def test_serve_demo_uses_a_demo_server_given_by_hub_demo_url(
    runner, served, demo_started, monkeypatch
):
    monkeypatch.setenv("HUB_DEMO_URL", "http://127.0.0.2:6001")

    result = runner.invoke(cli, ["serve", "--demo"])

    assert result.exit_code == 0, result.output
    assert demo_started == []
    assert served[0]["DEMO_URL"] == "http://127.0.0.2:6001"
    assert served[0]["ALLOW_PRIVATE_ADDRESSES"] == "127.0.0.2"


def test_serve_demo_without_the_demo_plugin_says_so_and_serves_without_it(
    runner, served, demo_started, monkeypatch
):
    monkeypatch.setenv("HUB_PLUGINS_DENY", "demo")

    result = runner.invoke(cli, ["serve", "--demo"])

    assert result.exit_code == 0, result.output
    assert "The demo provider is not installed" in result.output
    assert demo_started == []
    assert len(served) == 1
    assert served[0]["ALLOW_PRIVATE_ADDRESSES"] is None


def test_the_demo_client_is_the_one_the_demo_server_knows():
    server = pytest.importorskip("hub_demo.server")

    assert (hub.cli.DEMO_CLIENT_ID, hub.cli.DEMO_CLIENT_SECRET) == (
        server.CLIENT_ID,
        server.CLIENT_SECRET,
    )


@pytest.mark.slow
def test_serve_demo_runs_the_demo_server_beside_gunicorn_and_stops_it(tmp_path):
    """The real thing: ``hub serve --demo`` in a process, its Demo server in a child process."""
    pytest.importorskip("hub_demo")
    environment = clean_environment(HUB_INSTANCE_PATH=str(tmp_path / "instance"))
    run_cli(environment, tmp_path, "init")
    port = free_port()
    log = tmp_path / "serve.log"
    command = [str(HUB), "serve", "--demo", "--port", str(port), "--workers", "1"]
    hub_server = Server(f"http://127.0.0.1:{port}", spawn(command, environment, log), log)
    try:
        wait_until_serving(hub_server, "/healthz")
        found = re.search(r"Demo server runs on (http://127\.0\.0\.1:(\d+))", hub_server.output())
        assert found, hub_server.output()
        with urllib.request.urlopen(f"{found.group(1)}/", timeout=5) as answer:
            assert b"Revoke every grant" in answer.read()
    finally:
        hub_server.stop()

    deadline = time.monotonic() + 10
    while not free_port_to_test(int(found.group(2))):
        assert time.monotonic() < deadline, "the Demo server outlived the hub"
        time.sleep(0.1)


# -- the console script ------------------------------------------------------------------------


def test_the_hub_console_script_lists_the_commands(tmp_path):
    script = Path(sys.executable).with_name("hub")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")

    result = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"serve", "init", "users", "teams", "tokens", "plugins", "keys"} <= listed


def test_the_console_script_names_a_setting_it_cannot_read(monkeypatch, capsys):
    from hub.cli import main

    monkeypatch.setenv("HUB_ALLOW_PRIVATE_ADDRESSES", "nonsense")
    monkeypatch.setattr("sys.argv", ["hub", "--help"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    assert "the settings cannot be read" in capsys.readouterr().err


def test_plugin_commands_come_from_a_registry_built_with_instance_config(tmp_path, monkeypatch):
    """A plugin denied in instance/config.py adds no command (not only one denied by HUB_*)."""
    from hub import cli as cli_module

    (tmp_path / "config.py").write_text("PLUGINS_DENY = 'powerfolder'\n")
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path))
    seen = {}
    monkeypatch.setattr(
        cli_module, "register_plugin_commands", lambda registry, group: seen.update(r=registry)
    )
    monkeypatch.setattr(cli_module.cli, "main", lambda **kwargs: None)
    cli_module.main()
    assert seen["r"].provider("powerfolder") is None
    assert seen["r"].provider("custom") is not None


def test_plugins_list_names_the_plugin_api_it_offers(runner):
    result = runner.invoke(cli, ["plugins", "list"])

    assert f"Plugin API {PLUGIN_API_VERSION} (integration-hub" in result.output


def test_listing_plugins_creates_no_instance_folder(tmp_path):
    """Looking at what is installed must not leave a key file or a database behind."""
    instance = tmp_path / "instance"

    output = run_cli(
        clean_environment(HUB_INSTANCE_PATH=str(instance)), tmp_path, "plugins", "list"
    )

    assert "custom" in output
    assert not instance.exists()
