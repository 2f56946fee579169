"""``hub powerfolder register-client``: the administrator stores the hub's OAuth client on the
server, through a command the plugin adds with ``hub_register_commands``."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import click
import pytest
import requests
from click.testing import CliRunner

import hub_powerfolder
from hub.cli import register_plugin_commands

SERVER = "https://pf.example.org"
STORE = f"{SERVER}/api/oauth"
SECRET = "pf-client-secret-value"
PASSWORD = "admin-pässword"
ARGS = [
    "powerfolder",
    "register-client",
    "--server",
    SERVER,
    "--client-id",
    "hub-client",
    "--client-secret-stdin",
    "--admin-user",
    "root",
    "--admin-password-stdin",
]
STDIN = f"{SECRET}\n{PASSWORD}\n"


@pytest.fixture
def cli() -> click.Group:
    """A ``hub`` group with this plugin's commands added through its hook."""
    group = click.Group("hub")
    hub_powerfolder.hub_register_commands(cli=group)
    return group


@pytest.fixture
def run(cli):
    def invoke(args=ARGS, stdin=STDIN, **env):
        return CliRunner().invoke(cli, args, input=stdin, env=env or None)

    return invoke


def sent_query(request):
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def no_secret_in(result):
    forms = {SECRET, PASSWORD, quote(PASSWORD), quote_plus(PASSWORD)}
    return not any(form in result.output for form in forms)


# -- the hook --------------------------------------------------------------------------------


def test_the_hook_adds_a_powerfolder_group_with_register_client(cli):
    assert list(cli.commands["powerfolder"].commands) == ["register-client"]


def test_the_hub_registers_the_command_from_the_loaded_plugin(registry):
    group = click.Group("hub")

    register_plugin_commands(registry, group)

    assert "register-client" in group.commands["powerfolder"].commands


# -- the call --------------------------------------------------------------------------------


def test_the_client_is_stored_with_the_documented_call(run, requests_mock):
    store = requests_mock.get(STORE, json={"success": True})

    result = run()

    assert result.exit_code == 0, result.output
    assert sent_query(store.last_request) == {
        "action": "store",
        "client_id": "hub-client",
        "client_secret": SECRET,
    }


def test_the_call_is_signed_in_as_the_administrator(run, requests_mock):
    store = requests_mock.get(STORE, text="OK")

    run()

    expected = base64.b64encode(f"root:{PASSWORD}".encode("latin-1")).decode()
    assert store.last_request.headers["Authorization"] == f"Basic {expected}"


def test_a_password_latin_1_cannot_hold_is_sent_as_utf_8(run, requests_mock):
    store = requests_mock.get(STORE, text="OK")

    result = run(stdin=f"{SECRET}\n密码\n")

    expected = base64.b64encode("root:密码".encode()).decode()
    assert result.exit_code == 0, result.output
    assert store.last_request.headers["Authorization"] == f"Basic {expected}"


def test_success_is_reported_with_the_redirect_uri_and_no_secret(run, requests_mock):
    requests_mock.get(STORE, text="OK")

    result = run(HUB_PUBLIC_URL="https://hub.example.org/")

    assert "Stored OAuth client 'hub-client' on https://pf.example.org." in result.output
    assert "https://hub.example.org/oauth2/callback" in result.output
    assert "HUB_POWERFOLDER_CLIENT_ORIGINS=https://pf.example.org " in result.output
    assert no_secret_in(result)


def test_the_client_id_and_secret_can_come_from_the_hubs_environment(cli, requests_mock):
    store = requests_mock.get(STORE, text="OK")
    args = ["powerfolder", "register-client", "--server", SERVER, "--admin-password-stdin"]

    result = CliRunner().invoke(
        cli,
        args,
        input=f"{PASSWORD}\n",
        env={"HUB_POWERFOLDER_CLIENT_ID": "env-id", "HUB_POWERFOLDER_CLIENT_SECRET": "env-s"},
    )

    assert result.exit_code == 0, result.output
    assert sent_query(store.last_request)["client_secret"] == "env-s"
    assert store.last_request.headers["Authorization"].startswith("Basic ")


def test_secrets_are_prompted_for_without_echo(cli, requests_mock):
    store = requests_mock.get(STORE, text="OK")
    args = ["powerfolder", "register-client", "--server", SERVER, "--client-id", "c"]

    result = CliRunner().invoke(cli, args, input=f"{SECRET}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert sent_query(store.last_request)["client_secret"] == SECRET
    assert no_secret_in(result)


def test_no_redirect_is_followed(run, requests_mock):
    requests_mock.get(STORE, status_code=302, headers={"Location": f"{SERVER}/login?next=x"})
    elsewhere = requests_mock.get(f"{SERVER}/login", text="login")

    result = run()

    assert result.exit_code == 1
    assert "redirected to https://pf.example.org/login" in result.output
    assert not elsewhere.called


# -- failures are clear and never show a secret ----------------------------------------------


@pytest.mark.parametrize(
    "mock, says",
    [
        ({"status_code": 401}, "refused the admin login (401)"),
        ({"status_code": 403}, "refused the admin login (403)"),
        ({"status_code": 404}, "has no /api/oauth"),
        ({"status_code": 500, "text": f"boom {SECRET}"}, "answered 500: boom ********"),
        ({"status_code": 400, "text": "bad: admin-p%C3%A4ssword"}, "answered 400: bad: ****"),
        ({"text": "<!DOCTYPE html><html>Login</html>"}, "a login page"),
        ({"json": {"error": f"client {SECRET} exists"}}, "did not store the client"),
        ({"json": {"success": False, "message": "nope"}}, "did not store the client: nope"),
        ({"exc": requests.ConnectionError(f"{STORE}?client_secret={SECRET}")}, "could not reach"),
        ({"exc": requests.ConnectTimeout}, "did not answer in time"),
    ],
)
def test_a_failure_is_reported_without_secrets(run, requests_mock, mock, says):
    requests_mock.get(STORE, **mock)

    result = run()

    assert result.exit_code == 1
    assert says in result.output
    assert no_secret_in(result)


def test_plain_http_to_a_public_server_is_refused_before_anything_is_sent(run, requests_mock):
    result = run(args=[*ARGS[:3], "http://pf.example.org", *ARGS[4:]])

    assert result.exit_code == 1 and "https" in result.output
    assert not requests_mock.called


def test_a_private_server_needs_the_hubs_permission(run, requests_mock, monkeypatch):
    monkeypatch.setattr("hub.netguard.resolve_host", lambda host: ["10.0.0.5"])
    requests_mock.get("http://pf.internal:8080/api/oauth", text="OK")
    args = [*ARGS[:3], "http://pf.internal:8080", *ARGS[4:]]

    refused = run(args=args)
    allowed = run(args=args, HUB_ALLOW_PRIVATE_ADDRESSES="1")

    assert (refused.exit_code, allowed.exit_code) == (1, 0)


def test_a_missing_line_on_standard_input_is_a_usage_error(run, requests_mock):
    result = run(stdin=f"{SECRET}\n")

    assert result.exit_code == 2 and "password" in result.output
    assert not requests_mock.called


def test_a_list_of_allowed_networks_admits_only_those(run, requests_mock, monkeypatch):
    monkeypatch.setattr("hub.netguard.resolve_host", lambda host: ["10.0.0.5"])
    requests_mock.get("http://pf.internal:8080/api/oauth", text="OK")
    args = [*ARGS[:3], "http://pf.internal:8080", *ARGS[4:]]

    elsewhere = run(args=args, HUB_ALLOW_PRIVATE_ADDRESSES="192.168.1.0/24")
    listed = run(args=args, HUB_ALLOW_PRIVATE_ADDRESSES="127.0.0.1,10.0.0.0/8")
    bad = run(args=args, HUB_ALLOW_PRIVATE_ADDRESSES="not-a-network")

    assert (elsewhere.exit_code, bad.exit_code) == (1, 1)
    assert "HUB_ALLOW_PRIVATE_ADDRESSES" in bad.output
    assert listed.exit_code == 0, listed.output
