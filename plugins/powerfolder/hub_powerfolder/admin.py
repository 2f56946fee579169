"""The administrator's step: storing the hub's OAuth client on a PowerFolder server.

PowerFolder (11.5 and later) only accepts OAuth clients an administrator has stored with
``GET {server}/api/oauth?action=store&client_id=..&client_secret=..``, signed in as the admin.
``hub powerfolder register-client`` makes that call. The secrets never appear on the command
line, in output or in errors: they are read from standard input, the environment, or a hidden
prompt, and any text the server answers is shown with them masked.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, quote_plus, urlsplit

import click
import requests

from hub.addresses import origin as origin_of
from hub.config import settings
from hub.crypto import Secret
from hub.errors import ValidationError
from hub.netguard import AllowPrivate, check_url
from hub.transport import CONNECT_TIMEOUT, READ_TIMEOUT, session

STORE_PATH = "/api/oauth"
MASK = "********"


class RegistrationFailed(Exception):
    """The server did not store the client; the message says why and holds no secret."""


@dataclass(frozen=True)
class Registration:
    """What the administrator gives: the server, the client to store, the admin's login."""

    server: str
    client_id: str
    client_secret: Secret
    admin_user: str
    admin_password: Secret


def store_client(
    registration: Registration,
    *,
    allow_private: AllowPrivate = False,
    http: requests.Session | None = None,
) -> str:
    """Store the OAuth client on the server; return a one-line report of success.

    :param allow_private: as ``HUB_ALLOW_PRIVATE_ADDRESSES``: accept a server on a private
        network (and plain http there); ``True`` for any, or the networks allowed.
    :raises RegistrationFailed: the address was refused, the server could not be reached, or it
        did not store the client.
    """
    try:
        server = check_url(registration.server, "--server", allow_private=allow_private)
    except ValidationError as exc:
        raise RegistrationFailed(exc.message) from None
    hidden = (registration.client_secret.reveal(), registration.admin_password.reveal())
    params = {
        "action": "store",
        "client_id": registration.client_id,
        "client_secret": hidden[0],
    }
    client = http or session()
    try:
        response = client.get(
            server + STORE_PATH,
            params=params,
            auth=(_basic_part(registration.admin_user), _basic_part(hidden[1])),
            headers={"Accept": "application/json"},
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,  # never send the admin's password or the secret elsewhere
        )
    except requests.Timeout:
        raise RegistrationFailed(f"{_host(server)} did not answer in time") from None
    except requests.RequestException as exc:
        # The exception's text holds the URL, and with it the client secret: name its type only.
        raise RegistrationFailed(f"could not reach {_host(server)}: {type(exc).__name__}") from None
    _check_answer(server, response, hidden)
    return f"Stored OAuth client {registration.client_id!r} on {server}."


def _basic_part(value: str) -> bytes:
    """Latin-1, as requests (and so the hub's basic connections) sends; UTF-8 for text Latin-1
    cannot hold, instead of failing."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _check_answer(server: str, response: requests.Response, hidden: tuple[str, ...]) -> None:
    status = response.status_code
    text = response.text
    if 300 <= status < 400:
        where = urlsplit(response.headers.get("Location", ""))
        target = f"{where.scheme}://{where.netloc}{where.path}" if where.netloc else where.path
        raise RegistrationFailed(
            f"{_host(server)} redirected to {target or 'another address'} ({status}): if that is "
            "the server, pass it as --server; a login page means the admin login was refused"
        )
    if status in (401, 403):
        raise RegistrationFailed(
            f"{_host(server)} refused the admin login ({status}): check --admin-user and the "
            "password, and that the account is a server administrator"
        )
    if status == 404:
        raise RegistrationFailed(
            f"{_host(server)} has no {STORE_PATH} ({status}): check --server, and that the "
            "server is PowerFolder 11.5 or later"
        )
    if status >= 400:
        raise RegistrationFailed(
            f"{_host(server)} answered {status}: {_masked(text, hidden) or 'no details'}"
        )
    head = text.lstrip()[:20].lower()
    if "html" in response.headers.get("Content-Type", "").lower() or head.startswith(
        ("<!doctype html", "<html")
    ):
        raise RegistrationFailed(
            f"{_host(server)} answered a web page (a login page?) instead of storing the client: "
            "the admin login was not accepted"
        )
    error = _error_of(text)
    if error:
        raise RegistrationFailed(
            f"{_host(server)} did not store the client: {_masked(error, hidden)}"
        )


def _error_of(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("error"):
        return str(data["error"])
    if data.get("success") is False:
        return str(data.get("message") or "the server reported no success")
    return None


def _masked(text: str, hidden: tuple[str, ...]) -> str:
    """The server's text on one short line, with every secret masked, also URL-encoded (a
    server may echo the request's URL)."""
    for secret in hidden:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if form:
                text = text.replace(form, MASK)
    return " ".join(text.split())[:300]


def _host(server: str) -> str:
    return urlsplit(server).netloc or server


# -- the command ---------------------------------------------------------------------------


def _read_line(stream: IO[str], what: str) -> str:
    line = stream.readline()
    value = line.rstrip("\r\n")
    if not value:
        raise click.UsageError(f"expected the {what} on a line of standard input")
    return value


@click.group("powerfolder")
def powerfolder() -> None:
    """PowerFolder servers: the administrator's steps."""


@powerfolder.command("register-client")
@click.option(
    "--server",
    required=True,
    metavar="URL",
    help="The PowerFolder server's address, as in the integration's serverUrl.",
)
@click.option(
    "--client-id",
    required=True,
    envvar="HUB_POWERFOLDER_CLIENT_ID",
    show_envvar=True,
    help="The OAuth client id the hub will use.",
)
@click.option(
    "--client-secret-stdin",
    is_flag=True,
    help="Read the client secret from the first line of standard input "
    "(else HUB_POWERFOLDER_CLIENT_SECRET, else a hidden prompt).",
)
@click.option(
    "--admin-user",
    default="admin",
    show_default=True,
    help="A server administrator's username.",
)
@click.option(
    "--admin-password-stdin",
    is_flag=True,
    help="Read the administrator's password from the next line of standard input "
    "(else a hidden prompt).",
)
def register_client(
    server: str,
    client_id: str,
    client_secret_stdin: bool,
    admin_user: str,
    admin_password_stdin: bool,
) -> None:
    """Store the hub's OAuth client on a PowerFolder server (an administrator's step).

    Calls GET {server}/api/oauth?action=store&client_id=..&client_secret=.. signed in as the
    administrator. Nothing secret is echoed. With both --*-stdin flags, standard input holds the
    client secret, then the password, one per line.
    """
    stdin = sys.stdin  # the click test runner replaces it too
    if client_secret_stdin:
        client_secret = _read_line(stdin, "client secret")
    else:
        client_secret = os.environ.get("HUB_POWERFOLDER_CLIENT_SECRET") or click.prompt(
            "Client secret", hide_input=True, err=True
        )
    if admin_password_stdin:
        password = _read_line(stdin, "administrator's password")
    else:
        password = click.prompt(f"Password of {admin_user}", hide_input=True, err=True)
    registration = Registration(
        server=server,
        client_id=client_id,
        client_secret=Secret(client_secret),
        admin_user=admin_user,
        admin_password=Secret(password),
    )
    try:
        hub = settings()  # the hub's own: instance/config.py and HUB_* variables
        report = store_client(registration, allow_private=hub["ALLOW_PRIVATE_ADDRESSES"])
    except (ValueError, RegistrationFailed) as exc:
        raise click.ClickException(str(exc)) from None
    public_url = hub["PUBLIC_URL"]
    click.echo(report)
    click.echo(f"The hub's redirect URI is {public_url}/oauth2/callback.")
    click.echo("Give the hub the same client: HUB_POWERFOLDER_CLIENT_ID / _CLIENT_SECRET,")
    click.echo(
        f"and approve this server for it: HUB_POWERFOLDER_CLIENT_ORIGINS={origin_of(server)} "
        "(comma-separated, one origin per server)."
    )
