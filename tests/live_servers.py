"""Real servers for tests that need live processes (the browser tests, ``hub serve --demo``):
the Demo server and the hub as it runs in production.

Each runs as a child process on a free 127.0.0.1 port: the Demo server with ``hub demo-server``,
the hub with ``hub init`` and ``hub serve`` (gunicorn) on its own SQLite instance folder. Nothing
here imports the hub into the test process: the browser sees what a user would see.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
import requests

HUB = Path(sys.executable).with_name("hub")
START_TIMEOUT = 60.0
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, quiet on a closed network (docs: TESTING.md, "Browsers").
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a browser test passphrase"


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import hub_demo  # noqa: F401
    except ImportError:
        return "the demo provider (plugins/demo) is not installed"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any HUB_* setting, plus ``settings``. The background
    refresher is off unless ``settings`` turn it on: a test counts the refreshes it causes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment["HUB_BACKGROUND_REFRESH"] = "0"
    environment.update(settings)
    return environment


@dataclass
class Server:
    """A child process serving on ``url``, its output in ``log``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Hub(Server):
    """The hub, with the first administrator's credentials as ``hub init`` printed them."""

    admin_name: str
    admin_password: str
    environment: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run ``hub ARGS`` against this hub's instance; its output."""
        return run_cli(self.environment, self.log.parent, *args, stdin=stdin)

    def create_user(self, name: str, password: str = PASSWORD) -> None:
        self.cli("users", "create", name, "--password-stdin", stdin=password + "\n")


def run_cli(environment: dict[str, str], folder: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(HUB), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=folder,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"hub {' '.join(args)}: {result.stderr}{result.stdout}"
    return result.stdout


def spawn(command: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment, cwd=log.parent
        )


def wait_until_serving(server: Server, path: str) -> None:
    """Until ``server.url + path`` answers 200; fails with the server's output if it stops."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"{server.url} stopped at start:\n{server.output()}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{server.url}{path} did not answer:\n{server.output()}")


@contextmanager
def demo_server(folder: Path, **settings: str) -> Iterator[Server]:
    """``hub demo-server`` on a free port (``settings``: e.g. HUB_DEMO_TOKEN_LIFETIME)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "demo-server.log"
    process = spawn(
        [str(HUB), "demo-server", "--port", str(port)], clean_environment(**settings), log
    )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_serving(server, "/")
        yield server
    finally:
        server.stop()


@contextmanager
def hub_server(folder: Path, demo: Server | None, **settings: str) -> Iterator[Hub]:
    """The hub as ``make run`` serves it (``hub init``, ``hub serve --demo``, gunicorn with two
    workers) on a free port and a fresh instance folder, using the Demo server ``demo``
    (``None``: plain ``hub serve``, no demo); ``settings``: more environment, e.g. HUB_METRICS.

    Only ``HUB_DEMO_URL`` is given: ``--demo`` itself fills in the demo client and allows the
    Demo server's address, as it does for ``make run``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = clean_environment(
        HUB_INSTANCE_PATH=str(folder / "instance"), HUB_PUBLIC_URL=url, **settings
    )
    if demo is not None:
        environment["HUB_DEMO_URL"] = demo.url
    printed = run_cli(environment, folder, "init")
    command = [str(HUB), "serve", "--port", str(port), "--workers", "2"]
    if demo is not None:
        command.insert(2, "--demo")
    log = folder / "hub.log"
    hub = Hub(
        url,
        spawn(command, environment, log),
        log,
        admin_name=_printed(printed, "Admin username:"),
        admin_password=_printed(printed, "Admin password:"),
        environment=environment,
    )
    try:
        wait_until_serving(hub, "/healthz")
        yield hub
    finally:
        hub.stop()


def _printed(output: str, label: str) -> str:
    found = re.search(rf"^{re.escape(label)} (\S+)$", output, re.MULTILINE)
    assert found, f"`hub init` did not print {label!r}:\n{output}"
    return found.group(1)


def from_another_host(database_url: str, sql: str, params: tuple = ()) -> list:
    """Run ``sql`` over a database connection of its own, as a second hub host (or an operator)
    would; ``%s`` placeholders on both engines. The rows it returns, if any."""
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        sql = sql.replace("%s", "?")
    else:
        connection = psycopg2.connect(database_url)
    try:
        with connection:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


# -- two hub processes on one database ------------------------------------------------------

FAKETIME = "/usr/bin/faketime"
ALICE_PASSWORD = "a password"


def reset_schema(url: str) -> None:
    """An empty database: other tests of the session may have used this one before."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.close()


@dataclass
class Hubs:
    urls: list[str]
    token: str  # alice's API token
    database_url: str  # PostgreSQL, or the SQLite file both processes share

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def connected_integration(
        self, provider: str, api: str, *, access: str, refresh: str, expires_in: int
    ) -> int:
        """Alice's custom OAuth2 integration with a client of its own at the server
        ``provider`` (``/authorize``, ``/token``) and API base ``api``, connected by pasting
        tokens that server issued; created through the first hub, connected through the second.
        Its id."""
        with api_session() as http:
            created = http.post(
                f"{self.urls[0]}/api/integrations",
                headers=self.auth,
                json={
                    "name": "API",
                    "authType": "oauth2",
                    "authUri": f"{provider}/authorize",
                    "tokenUri": f"{provider}/token",
                    "clientId": "hub-client",
                    "clientSecret": "client-secret",
                    "apiBaseUri": api,
                },
                timeout=10,
            )
            assert created.status_code == 201, created.text
            integration = created.json()["id"]
            seeded = http.post(
                f"{self.urls[1]}/api/integrations/{integration}/connection",
                headers=self.auth,
                json={"accessToken": access, "refreshToken": refresh, "expiresIn": expires_in},
                timeout=10,
            )
            assert seeded.status_code == 200, seeded.text
        return integration


def api_session() -> requests.Session:
    """A client for the hubs these tests start: everything is local, never a proxy from the
    environment."""
    session = requests.Session()
    session.trust_env = False
    return session


@contextmanager
def serving(
    tmp_path: Path,
    database_url: str | None,
    clocks: tuple[str | None, ...] = (None, None),
    *,
    workers: int = 1,
    threads: int = 12,  # per process: more than the 10 calls each gets in a storm of 20
    **settings: str,
) -> Iterator[Hubs]:
    """Two ``hub serve`` processes on one database: ``database_url`` (PostgreSQL), or with None
    the SQLite file in the instance folder both share. ``clocks``: a ``faketime`` offset per
    process (e.g. ``"+30s"``), None for the real clock. Alice, with the password ``PASSWORD``
    and an API token, is their one user; ``settings``: more environment."""
    if not HUB.exists():
        pytest.skip(f"the hub command is not installed next to {sys.executable}")
    ports = [free_port() for _ in clocks]
    instance = tmp_path / "instance"  # shared: the same keys (and SQLite file) in both
    env = clean_environment(
        HUB_INSTANCE_PATH=str(instance),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{ports[0]}",
        HUB_ALLOW_PRIVATE_ADDRESSES="1",
        **settings,
    )
    if database_url is not None:
        reset_schema(database_url)
        env["HUB_DATABASE_URL"] = database_url
    run_cli(env, tmp_path, "init", "--no-admin")
    run_cli(
        env, tmp_path, "users", "create", "alice", "--password-stdin", stdin=f"{ALICE_PASSWORD}\n"
    )
    token = run_cli(env, tmp_path, "tokens", "create", "alice").strip().splitlines()[-1]
    servers: list[Server] = []
    try:
        for port, clock in zip(ports, clocks, strict=True):
            command = [str(HUB), "serve", "--workers", str(workers), "--threads", str(threads)]
            if clock is not None:
                command = [FAKETIME, "-f", clock, *command]
            log = tmp_path / f"hub-{port}.log"
            process = spawn([*command, "--port", str(port)], env, log)
            servers.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in servers:
            wait_until_serving(server, "/healthz")
        yield Hubs(
            urls=[s.url for s in servers],
            token=token,
            database_url=database_url or f"sqlite:///{instance / 'hub.db'}",
        )
    finally:
        for server in servers:
            server.stop()
