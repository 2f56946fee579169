"""Encrypted values in the hub's configuration: ``enc:<key id>:<ciphertext>``.

An operator keeps a client secret, a database password or any other setting encrypted in an
environment file they can commit: ``hub secrets encrypt HUB_GOOGLE_CLIENT_SECRET`` reads the
value from standard input and prints the ``enc:`` form, sealed with the hub's key ring (AES-GCM,
as every secret at rest: :mod:`hub.crypto`). The associated data binds it to the setting's name,
so a value pasted under another name does not decrypt. At start, :func:`reveal` decrypts every
setting whose value starts with ``enc:`` — from the environment or ``instance/config.py`` alike —
or stops the start with one line naming the setting and the key id.

A setting is named the same whichever source it comes from: ``HUB_GOOGLE_CLIENT_SECRET`` in the
environment is ``GOOGLE_CLIENT_SECRET`` in ``instance/config.py``; both seal to the same value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.crypto import KID_LENGTH, CryptoError, KeyRing

PREFIX = "enc:"
NAME = re.compile(r"[A-Z][A-Z0-9_]{0,127}")
# An env file's assignment: NAME=value, maybe after "export", maybe quoted, maybe a comment after.
_ASSIGNMENT = re.compile(
    rb"^(?P<head>[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*)"
    rb"(?P<quote>['\"]?)(?P<value>enc:[^'\"\s#]*)(?P=quote)"
)


class ConfigSecretError(ValueError):
    """An ``enc:`` setting that cannot be read: one line naming the setting and the key id,
    never the value."""


@dataclass(frozen=True)
class Sealed:
    """An ``enc:`` value taken apart."""

    kid: str
    payload: str


def setting_name(name: str) -> str:
    """The name a value is bound to: the setting without ``HUB_`` (``GOOGLE_CLIENT_SECRET``).

    :raises ConfigSecretError: not a setting name (upper-case letters, digits, ``_``).
    """
    bare = name.strip().removeprefix("HUB_")
    if not NAME.fullmatch(bare):
        raise ConfigSecretError(
            f"{name!r} is not a setting name: use upper-case letters, digits and _, "
            "such as HUB_GOOGLE_CLIENT_SECRET"
        )
    return bare


def _context(name: str) -> str:
    return f"config.{setting_name(name)}"


def parse(name: str, value: str) -> Sealed:
    """Take an ``enc:<key id>:<ciphertext>`` value apart, or say it was cut or changed."""
    kid, sep, payload = value.removeprefix(PREFIX).partition(":")
    if not sep or len(kid) != KID_LENGTH or not payload:
        raise ConfigSecretError(
            f"HUB_{setting_name(name)} starts with enc: but is not an enc:<key id>:<ciphertext> "
            "value: it was cut or changed (encrypt it again with hub secrets encrypt)"
        )
    return Sealed(kid, payload)


def encrypt(keyring: KeyRing, name: str, plaintext: str) -> str:
    """``plaintext`` sealed for the setting ``name`` under the newest key: ``enc:<kid>:<...>``."""
    kid, _, payload = keyring.encrypt(plaintext, _context(name)).partition("$")
    return f"{PREFIX}{kid}:{payload}"


def decrypt(keyring: KeyRing, name: str, value: str) -> str:
    """The plaintext of an ``enc:`` value of the setting ``name``.

    :raises ConfigSecretError: cut or changed, sealed with a key the ring lacks, or sealed for
        another setting — each named with the key id, never with the value.
    """
    sealed = parse(name, value)
    shown = f"HUB_{setting_name(name)}"
    if sealed.kid not in keyring:
        raise ConfigSecretError(
            f"{shown} is encrypted with key {sealed.kid}, which is not in the hub's key ring "
            "(HUB_ENCRYPTION_KEYS or instance/encryption.keys): add that key back"
        )
    try:
        return keyring.decrypt(f"{sealed.kid}${sealed.payload}", _context(name))
    except CryptoError:
        raise ConfigSecretError(
            f"{shown} (key {sealed.kid}) does not decrypt: it was cut, changed, or encrypted "
            "for another setting name"
        ) from None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def reveal(
    values: MutableMapping[str, Any], keyring: Callable[[], KeyRing | None]
) -> dict[str, str]:
    """Decrypt every ``enc:`` setting of ``values`` in place; return ``{setting: key id}`` of
    those decrypted (what ``hub keys rotate`` reports as stale, and what error text hides).

    :param keyring: the hub's key ring, asked for only when a value is sealed (None: none).
    :raises ConfigSecretError: a value that does not decrypt, or no key ring at all.
    """
    sealed = {name: value for name, value in values.items() if is_sealed(value)}
    if not sealed:
        return {}
    ring = keyring()
    found: dict[str, str] = {}
    for name, value in sorted(sealed.items()):
        if ring is None:
            raise ConfigSecretError(
                f"HUB_{name} is encrypted but the hub has no key ring yet "
                "(HUB_ENCRYPTION_KEYS or instance/encryption.keys)"
            )
        values[name] = decrypt(ring, name, value)
        found[name] = parse(name, value).kid
    return found


def instance_keyring(values: MutableMapping[str, Any], instance: Path) -> KeyRing | None:
    """The key ring the hub will run with, without creating anything: ``ENCRYPTION_KEYS`` if
    set, else the instance's key file if there is one."""
    configured = values.get("ENCRYPTION_KEYS")
    if isinstance(configured, list | tuple):
        return KeyRing(configured)
    if configured:
        return KeyRing.from_text(str(configured))
    key_file = instance / "encryption.keys"
    if key_file.exists():
        return KeyRing.from_text(key_file.read_text())
    return None


# -- env files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rewritten:
    text: bytes
    names: list[str]  # the settings re-encrypted, in file order


def reencrypt_env(data: bytes, keyring: KeyRing) -> Rewritten:
    """An env file's bytes with each ``NAME=enc:...`` value sealed again under the newest key;
    every other byte (comments, order, quotes, line endings) as it was.

    :raises ConfigSecretError: a value that does not decrypt, naming its setting and key id.
    """
    lines = data.splitlines(keepends=True)
    names: list[str] = []
    out: list[bytes] = []
    for line in lines:
        match = _ASSIGNMENT.match(line)
        if match is None:
            out.append(line)
            continue
        name = match["name"].decode("ascii")
        value = match["value"].decode("ascii")
        plaintext = decrypt(keyring, name, value)
        fresh = encrypt(keyring, name, plaintext).encode("ascii")
        start, end = match.span("value")
        out.append(line[:start] + fresh + line[end:])
        names.append(name)
    return Rewritten(b"".join(out), names)


def write_in_place(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
