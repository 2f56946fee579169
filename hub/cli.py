"""The ``hub`` command line."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from hub import __version__ as hub_version
from hub import access, accounts, config_secrets, migrations, sessions
from hub.app import build_registry, create_app
from hub.config import as_bool, private_addresses
from hub.config import settings as hub_settings
from hub.crypto import CryptoError, generate_key
from hub.db import database
from hub.errors import HubError, ReauthRequired
from hub.plugins import PLUGIN_API_VERSION, PluginRegistry
from hub.scaffolding import write_plugin
from hub.scopes import SCOPES

ADMIN_NAME = "admin"


def _factory() -> Any:
    try:
        return create_app()
    except CryptoError as exc:  # e.g. a stored secret's key is not in the ring: one line, no trace
        raise click.ClickException(str(exc)) from None


class HubGroup(FlaskGroup):
    """Flask's group, without building the app just to list commands (``--help``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


@click.group(cls=HubGroup, create_app=_factory, add_default_commands=False)
def cli() -> None:
    """Integration Hub: connect, share and browse the services your team uses."""


def main() -> None:
    """The console script: the hub group, plus the commands plugins register."""
    try:
        settings = hub_settings()
        logging.basicConfig(
            level=logging.INFO if as_bool(settings.get("TRACE_PLUGINS")) else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        registry = build_registry(settings)
    except Exception as exc:  # a bad value or instance/config.py: say which, no traceback
        click.echo(f"hub: the settings cannot be read: {exc}", err=True)
        raise SystemExit(2) from None
    register_plugin_commands(registry, cli)
    cli.main(prog_name="hub")


def register_plugin_commands(registry: PluginRegistry, group: click.Group) -> None:
    """Let each plugin add commands; one that fails is reported and skipped, not fatal."""
    for impl in registry.hook.hub_register_commands.get_hookimpls():
        try:
            impl.function(cli=group)
        except Exception as exc:
            click.echo(f"Plugin {impl.plugin_name} could not add its commands: {exc}", err=True)


def _fail(message: str) -> NoReturn:
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
@click.option(
    "--demo",
    is_flag=True,
    help="switch the demo provider on and run its Demo server on 127.0.0.1 (for trying the hub)",
)
@with_appcontext
def serve(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    """Serve the hub with gunicorn (a production WSGI server)."""
    from hub.server import serve as run_server

    if not migrations.is_current():
        _fail("the database schema is not up to date: run `hub init` first")
    demo_server = switch_demo_on(port) if demo else None
    click.echo(f"Serving Integration Hub on http://{host}:{port}")
    try:
        run_server(
            create_app,
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            metrics_root=current_app.instance_path,
        )
    finally:
        if demo_server is not None:
            stop_demo_server(demo_server)


# -- serve --demo ----------------------------------------------------------------------------

# The Demo server's one client (plugins/demo): a demo credential, published on purpose, that
# protects nothing. `serve --demo` fills it in so that nobody has to type it.
DEMO_CLIENT_ID = "hub-demo"
DEMO_CLIENT_SECRET = "demo-secret"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = 5001
DEMO_PORTS_TRIED = 20
DEMO_START_TIMEOUT = 20.0


@dataclass(frozen=True)
class DemoServer:
    """The Demo server's child process, and which process started it."""

    process: subprocess.Popen[bytes]
    parent: int


def switch_demo_on(hub_port: int) -> DemoServer | None:
    """Set up this process's environment (which the workers inherit) for the demo provider and
    start the Demo server as a child process; return it (``None`` when none was started).

    The hub never imports a plugin: the server is the hub-demo plugin's own ``hub demo-server``
    command, run in a child process. Without the plugin the hub is served without the demo.
    """
    os.environ["HUB_DEMO"] = "1"
    # The app of this command was built before the switch: ask a registry built after it.
    try:
        registry = build_registry(hub_settings())
    except ValueError as exc:
        _fail(str(exc))
    if registry.provider("demo") is None:
        click.echo(
            "The demo provider is not installed (the hub-demo plugin, plugins/demo): serving "
            "the hub without it. Install it with `.venv/bin/pip install -e plugins/demo`.",
            err=True,
        )
        return None
    os.environ.setdefault("HUB_DEMO_CLIENT_ID", DEMO_CLIENT_ID)
    os.environ.setdefault("HUB_DEMO_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    given = os.environ.get("HUB_DEMO_URL")
    if given:
        _allow_private_address(urlsplit(given).hostname or "")
        click.echo(f"Demo provider on: using the Demo server at {given} (HUB_DEMO_URL).")
        return None
    _allow_private_address(DEMO_HOST)
    demo_port = free_demo_port(avoid=hub_port)
    if demo_port != DEMO_PORT:
        click.echo(f"Port {DEMO_PORT} is busy: the Demo server uses port {demo_port}.", err=True)
    url = f"http://{DEMO_HOST}:{demo_port}"
    os.environ["HUB_DEMO_URL"] = url
    server = start_demo_server(demo_port)
    click.echo(
        f"Demo provider on: a demo, not a real provider. Its Demo server runs on {url}; "
        "create an integration of provider Demo and connect it (no account needed)."
    )
    return server


def _allow_private_address(address: str) -> None:
    """Add ``address`` to ``HUB_ALLOW_PRIVATE_ADDRESSES`` (unless every address is allowed)."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return  # a host name: the allow-list holds addresses
    current = os.environ.get("HUB_ALLOW_PRIVATE_ADDRESSES", "")
    try:
        allowed = private_addresses(current)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if allowed is not True:
        os.environ["HUB_ALLOW_PRIVATE_ADDRESSES"] = f"{current},{address}" if allowed else address


def free_demo_port(avoid: int) -> int:
    """:data:`DEMO_PORT`, or the next port after it that nothing listens on."""
    for port in range(DEMO_PORT, DEMO_PORT + DEMO_PORTS_TRIED):
        if port == avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((DEMO_HOST, port))
            except OSError:
                continue
            return port
    last = DEMO_PORT + DEMO_PORTS_TRIED - 1
    _fail(f"no free port for the Demo server between {DEMO_PORT} and {last}")


def start_demo_server(port: int) -> DemoServer:
    """``hub demo-server --port PORT`` as a child process, once it accepts connections."""
    command = [sys.executable, "-c", "from hub.cli import main; main()"]
    # Fixed arguments, the port a number: nothing from outside reaches the command line.
    process = subprocess.Popen(  # noqa: S603
        [*command, "demo-server", "--port", str(port)],
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    server = DemoServer(process, os.getpid())
    deadline = time.monotonic() + DEMO_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _fail(f"the Demo server stopped at once (exit status {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection((DEMO_HOST, port), 0.5):
            return server
        time.sleep(0.1)
    stop_demo_server(server)
    _fail(f"the Demo server did not start on port {port} within {DEMO_START_TIMEOUT:.0f} s")


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the hub dies, even by SIGKILL (Linux only)."""
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_demo_server(server: DemoServer) -> None:
    """Stop the Demo server; only the process that started it does (not gunicorn's workers,
    which are forks of it and leave ``serve`` through the same ``finally``)."""
    process = server.process
    if server.parent != os.getpid() or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


@users.command("sign-out")
@click.argument("name")
@with_appcontext
def users_sign_out(name: str) -> None:
    """End every browser session of a user (their API tokens keep working)."""
    ended = run_database(lambda: sessions.sign_out_everywhere(accounts.get_user(name), actor=None))
    click.echo(f"Signed {name} out everywhere: {ended} session(s) ended")


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
@click.option(
    "--scope",
    "scope_names",
    multiple=True,
    help="what the token may do (repeatable): " + ", ".join(SCOPES) + "; none: every right",
)
@click.option(
    "--integration",
    "integration_refs",
    multiple=True,
    help="an integration (id or owner:slug) the token is limited to (repeatable); none: all",
)
@click.option("--expires", default=None, help="after a duration (12h, 30d, 8w) or at a date")
@with_appcontext
def tokens_create(
    user: str,
    name: str,
    scope_names: tuple[str, ...],
    integration_refs: tuple[str, ...],
    expires: str | None,
) -> None:
    """Create an API token for USER; it is printed once, alone on the last line."""

    def create() -> accounts.NewToken:
        owner = accounts.get_user(user)
        reached = [access.find(owner, ref)[0] for ref in integration_refs]
        return accounts.create_token(
            owner,
            name,
            expires_at=accounts.parse_expiry(expires, field="--expires") if expires else None,
            scopes=list(scope_names) or None,
            integrations=reached or None,
        )

    new = run_database(create)
    rights = ", ".join(new.token.scopes) if new.token.scopes else "every right of the user"
    limits = f"; only {', '.join(integration_refs)}" if integration_refs else ""
    click.echo(
        f"API token {new.token.name!r} for {user} ({rights}{limits}; "
        "store it now; it is not shown again):"
    )
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
    skipped: list[str] = []

    def run() -> None:
        rows = list(tokens.due_connections(datetime.timedelta(seconds=within)))
        with click.progressbar(rows, label="Refreshing tokens") as bar:
            for connection in bar:
                integration = connection.integration
                provider = registry.provider(integration.provider)
                if provider is None:
                    counts["skipped"] += 1
                    skipped.append(
                        f"{integration.owner.name}:{integration.slug} (connection "
                        f"{connection.id}): provider {integration.provider} is not installed "
                        "in this environment"
                    )
                    continue
                try:
                    tokens.ensure_fresh(provider, integration, connection, horizon=within)
                    counts["refreshed"] += 1
                except ReauthRequired:
                    counts["needs_reauth"] += 1
                except HubError:
                    counts["failed"] += 1

    run_database(run)
    for line in skipped:
        click.echo(f"skipped {line}")
    click.echo(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))


@cli.group()
def webhooks() -> None:
    """Outgoing webhooks."""


@webhooks.command("send")
@with_appcontext
def webhooks_send() -> None:
    """Send the webhook deliveries that are due, once (for cron, with HUB_WEBHOOKS=0)."""
    from hub.webhook_sender import send_due

    done = run_database(send_due)
    for line in done.lines:
        click.echo(line)
    click.echo(done.summary())


# -- plugins, keys ---------------------------------------------------------------------------


@cli.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list", with_appcontext=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins_list(as_json: bool) -> None:
    """One row per plugin: name, distribution, version, status."""
    # Built from the settings alone: listing plugins creates no instance folder, key or database.
    listing = build_registry(hub_settings()).listing()
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
    click.echo(f"\nPlugin API {PLUGIN_API_VERSION} (integration-hub {hub_version})")


@plugins.command("new", with_appcontext=False)
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="where to write the plugin's folder hub-NAME",
)
def plugins_new(name: str, directory: Path) -> None:
    """Write a new provider plugin, hub-NAME, whose tests pass once installed."""
    try:
        target = write_plugin(name, directory)
    except HubError as exc:
        _fail(exc.message)
    click.echo(f"Wrote {target}")
    click.echo(f"Next: pip install -e '{target}[test]' && (cd {target} && pytest)")
    click.echo(f"Then: hub plugins list  # {name} ... ok")


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
    stale = {
        name: kid
        for name, kid in current_app.config.get("SEALED_SETTINGS", {}).items()
        if kid != keyring.primary_kid
    }
    for name, kid in sorted(stale.items()):
        click.echo(
            f"Configuration value HUB_{name} is still under key {kid}: re-encrypt it "
            f"(hub secrets reencrypt ENV_FILE, or hub secrets encrypt HUB_{name})"
        )


# -- encrypted configuration values ------------------------------------------------------------


@cli.group("secrets")
def secrets_group() -> None:
    """Encrypt configuration values (enc:...) for an environment file you can commit."""


def _read_secret_input(prompt: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True)
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        _fail("give the value on standard input (never on the command line)")
    return value


@secrets_group.command("encrypt")
@click.argument("name")
@with_appcontext
def secrets_encrypt(name: str) -> None:
    """Read a value for setting NAME from standard input; print it encrypted, enc:<key>:<...>.

    The value is bound to NAME: set it only as NAME (HUB_X in the environment, X in
    instance/config.py)."""
    try:
        config_secrets.setting_name(name)
    except config_secrets.ConfigSecretError as exc:
        _fail(str(exc))
    keyring = current_app.extensions["hub"].keyring
    value = _read_secret_input(f"Value of {name}")
    click.echo(config_secrets.encrypt(keyring, name, value))


@secrets_group.command("decrypt")
@click.argument("name")
@with_appcontext
def secrets_decrypt(name: str) -> None:
    """Print the plaintext of the enc: value of NAME read from standard input (or, with no
    input, of NAME as configured). Only the owner of the instance folder may."""
    owner = Path(current_app.instance_path).stat().st_uid
    if os.geteuid() != owner:
        _fail(
            f"only the owner of the instance folder (uid {owner}) may decrypt configuration "
            "values; run this command as that user"
        )
    keyring = current_app.extensions["hub"].keyring
    value = "" if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not value:
        _fail(f"give the enc: value of {name} on standard input")
    try:
        click.echo(config_secrets.decrypt(keyring, name, value))
    except config_secrets.ConfigSecretError as exc:
        _fail(str(exc))


@secrets_group.command("reencrypt")
@click.argument("env_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def secrets_reencrypt(env_file: Path) -> None:
    """Rewrite ENV_FILE's enc: values under the newest key, keeping every other byte."""
    keyring = current_app.extensions["hub"].keyring
    try:
        rewritten = config_secrets.reencrypt_env(env_file.read_bytes(), keyring)
    except config_secrets.ConfigSecretError as exc:
        _fail(f"{env_file}: {exc}; the file was not changed")
    if rewritten.names:
        config_secrets.write_in_place(env_file, rewritten.text)
    click.echo(
        f"Re-encrypted {len(rewritten.names)} value(s) of {env_file} under key "
        f"{keyring.primary_kid}" + (f": {', '.join(rewritten.names)}" if rewritten.names else "")
    )
