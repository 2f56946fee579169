"""Settings: defaults, then ``instance/config.py``, then ``HUB_*`` environment variables.

The first start also creates the instance folder with a secret key and an encryption key file,
each readable by the owner only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Config, Flask

from hub import config_secrets
from hub.crypto import KeyRing, generate_key

SECRET_KEY_FILE = "secret_key"
ENCRYPTION_KEY_FILE = "encryption.keys"

DEFAULTS: dict[str, Any] = {
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "ALLOW_PRIVATE_ADDRESSES": False,
    "TENANT_ID": "",
    "TRACE_PLUGINS": False,
    "PLUGINS_ALLOW": "",
    "PLUGINS_DENY": "",
    "DEMO": False,
    # Largest request body accepted anywhere (icons are the biggest legitimate upload).
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # Login throttling: failures allowed per username (and per address) inside the window.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
    "LOGIN_WINDOW_SECONDS": 900,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    # The largest answer the proxy passes on (bytes).
    "PROXY_MAX_RESPONSE_BYTES": 1024 * 1024 * 1024,
    # Reverse proxies in front of the hub whose X-Forwarded-* headers are trusted.
    "TRUSTED_PROXIES": 0,
    # The background refresher in `hub serve` (hub/refresher.py), and seconds between its turns.
    "BACKGROUND_REFRESH": True,
    "BACKGROUND_REFRESH_INTERVAL": 30,
    # The webhook sender in `hub serve` (hub/webhook_sender.py), and seconds between its rounds.
    "WEBHOOKS": True,
    "WEBHOOKS_INTERVAL": 5,
    # GET /metrics (Prometheus) for anyone; off: only with an administrator's API token.
    "METRICS": False,
}

_BOOLEAN_KEYS = ("TRACE_PLUGINS", "DEMO", "BACKGROUND_REFRESH", "WEBHOOKS", "METRICS")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_instance_path() -> Path:
    return Path(os.environ.get("HUB_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def settings(
    instance_path: str | Path | None = None, test_config: dict[str, Any] | None = None
) -> Config:
    """The hub's settings from every source, in order of increasing precedence: defaults,
    ``instance/config.py``, ``HUB_*`` environment variables, then ``test_config``; values parsed
    (booleans, integers, the private-address rule). What the app runs with, and what a plugin's
    command (``hub_register_commands``) reads when it has no app.

    :raises ValueError: a value that cannot be read, naming its setting.
    """
    folder = Path(instance_path) if instance_path is not None else default_instance_path()
    values = Config(str(folder))
    values.update(DEFAULTS)
    values["DATABASE_URL"] = f"sqlite:///{folder / 'hub.db'}"
    values.from_pyfile(str(folder / "config.py"), silent=True)
    for name, value in os.environ.items():
        if name.startswith("HUB_") and name != "HUB_INSTANCE_PATH":
            values[name[4:]] = value
    if test_config:
        values.update(test_config)
    if config_secrets.is_sealed(values.get("ENCRYPTION_KEYS")):
        raise config_secrets.ConfigSecretError(
            "HUB_ENCRYPTION_KEYS cannot be encrypted: it holds the keys that decrypt the others"
        )
    sealed = config_secrets.reveal(values, lambda: config_secrets.instance_keyring(values, folder))
    values["SEALED_SETTINGS"] = sealed
    for key in _BOOLEAN_KEYS:
        values[key] = as_bool(values.get(key))
    try:
        values["ALLOW_PRIVATE_ADDRESSES"] = private_addresses(values["ALLOW_PRIVATE_ADDRESSES"])
        for key, default in DEFAULTS.items():
            if isinstance(default, int) and not isinstance(default, bool):
                values[key] = _as_int(key, values[key])
    except ValueError as exc:
        named = next((name for name in sealed if f"HUB_{name} " in f"{exc} "), None)
        if named is not None:  # never the decrypted value in an error
            raise ValueError(f"HUB_{named} (encrypted) does not hold a valid value") from None
        raise
    values["PUBLIC_URL"] = str(values["PUBLIC_URL"]).rstrip("/")
    return values


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from every source (see :func:`settings`)."""
    app.config.update(settings(app.instance_path, test_config))
    if app.config["PUBLIC_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def private_addresses(value: Any) -> bool | tuple[Network, ...]:
    """``HUB_ALLOW_PRIVATE_ADDRESSES``: ``True`` (``1``, ``true``...: every non-public address),
    ``False`` (unset, ``0``...: none), or the networks of a comma-separated list of addresses and
    networks (``127.0.0.1``, ``192.168.1.0/24``, ``fd00::/8``): only those.

    :raises ValueError: an entry is neither a boolean spelling nor an address or network.
    """
    if isinstance(value, bool) or value is None:
        return bool(value)
    if isinstance(value, str):
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
    networks = []
    for entry in as_list(value):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                "HUB_ALLOW_PRIVATE_ADDRESSES must be 1, 0 or a comma-separated list of "
                f"addresses and networks (such as 127.0.0.1 or 192.168.1.0/24), not {entry!r}"
            ) from None
    return tuple(networks) or False


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"HUB_{key} must be a whole number of zero or more, not {value!r}")


def as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


def prepare_instance(app: Flask) -> None:
    """Create the instance folder and its key files on first start; read them afterwards."""
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_or_create(
            instance / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48)
        )
    if not app.config.get("ENCRYPTION_KEYS"):
        app.config["ENCRYPTION_KEYS"] = read_or_create(
            instance / ENCRYPTION_KEY_FILE, lambda: generate_key() + "\n"
        )
        app.config["ENCRYPTION_KEYS_SOURCE"] = str(instance / ENCRYPTION_KEY_FILE)
    else:
        app.config["ENCRYPTION_KEYS_SOURCE"] = "HUB_ENCRYPTION_KEYS"


def keyring_from_config(app: Flask) -> KeyRing:
    value = app.config["ENCRYPTION_KEYS"]
    if isinstance(value, list | tuple):
        return KeyRing(value)
    return KeyRing.from_text(str(value))


def read_or_create(path: Path, make: Any) -> str:
    """Read ``path``; if it does not exist, write ``make()`` to it, owner-only, atomically.

    Several workers may start at once: the content is written to a private temporary file and
    linked into place, so nobody ever reads a half-written key and exactly one value wins.
    """
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
