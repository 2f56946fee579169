"""The ``hub`` command line."""

from __future__ import annotations

import datetime
import json
import logging
import os
import secrets
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from hub import accounts, migrations
from hub.app import build_registry, create_app
from hub.config import as_bool
from hub.crypto import CryptoError, generate_key
from hub.db import database
from hub.errors import HubError, ReauthRequired
from hub.plugins import PluginRegistry

ADMIN_NAME = "admin"


def _factory() -> Any:
    return create_app()


class HubGroup(FlaskGroup):
    """Flask's group, without building the app just to list commands (``--help``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


@click.group(cls=HubGroup, create_app=_factory, add_default_commands=False)
def cli() -> None:
    """Integration Hub: connect, share and browse the services your team uses."""


def main() -> None:
    """The console script: the hub group, plus the commands plugins register."""
    settings = _environment_settings()
    logging.basicConfig(
        level=logging.INFO if as_bool(settings.get("TRACE_PLUGINS")) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    register_plugin_commands(build_registry(settings), cli)
    cli.main(prog_name="hub")


def register_plugin_commands(registry: PluginRegistry, group: click.Group) -> None:
    """Let each plugin add commands; one that fails is reported and skipped, not fatal."""
    for impl in registry.hook.hub_register_commands.get_hookimpls():
        try:
            impl.function(cli=group)
        except Exception as exc:
            click.echo(f"Plugin {impl.plugin_name} could not add its commands: {exc}", err=True)


def _environment_settings() -> dict[str, str]:
    return {k[4:]: v for k, v in os.environ.items() if k.startswith("HUB_")}


def _fail(message: str) -> None:
    raise click.ClickException(message)


def run_database(function: Any) -> Any:
    """Run ``function`` in a database connection, turning hub errors into CLI errors."""
    try:
        with database.connection_context():
            return function()
    except HubError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        _fail(f"{exc.message}" + (f" ({details})" if details else ""))
    except CryptoError as exc:
        _fail(str(exc))


# -- serve / init ----------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=lambda: os.cpu_count() or 2, type=int, help="processes")
@click.option("--threads", default=4, show_default=True, type=int, help="threads per process")
@click.option("--demo", is_flag=True, help="switch the demo provider on (for trying the hub)")
@with_appcontext
def serve(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    """Serve the hub with gunicorn (a production WSGI server)."""
    from hub.server import serve as run_server

    if not migrations.is_current():
        _fail("the database schema is not up to date: run `hub init` first")
    if demo:
        os.environ["HUB_DEMO"] = "1"
        # The app above was built before the switch: ask a registry built after it.
        if build_registry(_environment_settings()).provider("demo") is None:
            click.echo("Note: the demo provider (hub-demo) is not installed.", err=True)
    click.echo(f"Serving Integration Hub on http://{host}:{port}")
    run_server(create_app, host=host, port=port, workers=workers, threads=threads)


@cli.command()
@click.option("--no-admin", is_flag=True, help="do not create the first administrator")
@with_appcontext
def init(no_admin: bool) -> None:
    """Create or migrate the database schema (safe to run again)."""
    applied = migrations.migrate()
    for step in applied:
        click.echo(f"Applied migration {step.version}: {step.name}")
    if not applied:
        click.echo("The database schema is up to date.")
    if not no_admin and not run_database(accounts.any_superuser):
        password = secrets.token_urlsafe(12)
        run_database(lambda: accounts.create_user(ADMIN_NAME, password, is_superuser=True))
        click.echo(f"Admin username: {ADMIN_NAME}")
        click.echo(f"Admin password: {password}")
        click.echo(f"Sign in at {current_app.config['PUBLIC_URL']}/login")


# -- users, teams, tokens --------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Manage local users."""


@users.command("create")
@click.argument("name")
@click.option("--email", default=None)
@click.option("--admin", is_flag=True, help="make the user an administrator")
@click.option("--password", default=None, help="the password (visible in the process list)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def users_create(
    name: str, email: str | None, admin: bool, password: str | None, password_stdin: bool
) -> None:
    """Create a user."""
    if (password is None) == (not password_stdin):
        _fail("give exactly one of --password or --password-stdin")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    assert password is not None
    run_database(lambda: accounts.create_user(name, password, email=email, is_superuser=admin))
    click.echo(f"Created user {name}{' (administrator)' if admin else ''}")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users."""
    from hub.models import Principal, User

    def rows() -> list[User]:
        return list(User.select(User, Principal).join(Principal).order_by(Principal.name))

    for user in run_database(rows):
        flag = " (administrator)" if user.is_superuser else ""
        click.echo(f"{user.name}\t{user.email or ''}{flag}")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True)
@with_appcontext
def users_set_password(name: str, password_stdin: bool) -> None:
    """Replace a user's password (signs out their sessions)."""
    password = sys.stdin.readline().rstrip("\r\n")
    run_database(lambda: accounts.set_password(accounts.get_user(name), password))
    click.echo(f"Password changed for {name}")


@cli.group()
def teams() -> None:
    """Manage teams."""


@teams.command("create")
@click.argument("slug")
@click.option("--name", default="", help="display name")
@click.option("--member", "members", multiple=True, help="a user to add (repeatable)")
@with_appcontext
def teams_create(slug: str, name: str, members: tuple[str, ...]) -> None:
    """Create a team."""
    run_database(lambda: accounts.create_team(slug, display_name=name, members=list(members)))
    click.echo(f"Created team {slug}" + (f" with {', '.join(members)}" if members else ""))


@cli.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="cli", show_default=True)
@with_appcontext
def tokens_create(user: str, name: str) -> None:
    """Create an API token for USER; it is printed once, alone on the last line."""
    new = run_database(lambda: accounts.create_token(accounts.get_user(user), name))
    click.echo(f"API token {new.token.name!r} for {user} (store it now; it is not shown again):")
    click.echo(new.plaintext)


# -- tokens ----------------------------------------------------------------------------------


@cli.command("refresh")
@click.option("--due", is_flag=True, help="refresh the tokens that expire soon (for cron)")
@click.option(
    "--within", default=600, show_default=True, type=click.IntRange(min=0), help="seconds ahead"
)
@with_appcontext
def refresh_command(due: bool, within: int) -> None:
    """Refresh OAuth2 access tokens before they expire."""
    from hub import tokens

    if not due:
        _fail("say which tokens: --due refreshes those expiring within --within seconds")
    registry = current_app.extensions["hub"].registry
    counts = {"refreshed": 0, "needs_reauth": 0, "failed": 0, "skipped": 0}

    def run() -> None:
        rows = list(tokens.due_connections(datetime.timedelta(seconds=within)))
        with click.progressbar(rows, label="Refreshing tokens") as bar:
            for connection in bar:
                integration = connection.integration
                provider = registry.provider(integration.provider)
                if provider is None:
                    counts["skipped"] += 1
                    continue
                try:
                    tokens.ensure_fresh(
                        provider, integration, connection, newer_than=None, horizon=within
                    )
                    counts["refreshed"] += 1
                except ReauthRequired:
                    counts["needs_reauth"] += 1
                except HubError:
                    counts["failed"] += 1

    run_database(run)
    click.echo(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))


# -- plugins, keys ---------------------------------------------------------------------------


@cli.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@with_appcontext
def plugins_list(as_json: bool) -> None:
    """One row per plugin: name, distribution, version, status."""
    listing = current_app.extensions["hub"].registry.listing()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in listing], indent=2))
        return
    rows = [("NAME", "DISTRIBUTION", "VERSION", "STATUS", "PROVIDERS")]
    for p in listing:
        status = p.status if p.status == "ok" else f"{p.status}: {p.reason}"
        rows.append(
            (p.name, p.distribution or "-", p.version or "-", status, ", ".join(p.providers))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        )


@cli.group()
def keys() -> None:
    """Manage the encryption key ring."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random key (for HUB_ENCRYPTION_KEYS)."""
    click.echo(generate_key())


@keys.command("rotate")
@click.option(
    "--new-key/--no-new-key",
    default=None,
    help="add a new newest key to the instance key file first (default: when keys come from it)",
)
@with_appcontext
def keys_rotate(new_key: bool | None) -> None:
    """Re-encrypt every secret under the newest key."""
    from hub import keys as key_ops

    state = current_app.extensions["hub"]
    from_file = current_app.config["ENCRYPTION_KEYS_SOURCE"] != "HUB_ENCRYPTION_KEYS"
    if new_key is None:
        new_key = from_file
    if new_key:
        if not from_file:
            _fail("keys come from HUB_ENCRYPTION_KEYS: put a new key first there instead")
        key_file = current_app.config["ENCRYPTION_KEYS_SOURCE"]
        state.keyring = key_ops.add_key_to_file(key_file)
        click.echo(f"Added key {state.keyring.primary_kid} to {key_file}")
    keyring = state.keyring

    def rotate() -> int:
        total = key_ops.count_stale(keyring)
        with click.progressbar(length=total, label="Re-encrypting secrets") as bar:
            done = key_ops.rotate(keyring, progress=bar.update)
        return done

    done = run_database(rotate)
    click.echo(f"Re-encrypted {done} secret(s) under key {keyring.primary_kid}.")
