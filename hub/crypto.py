"""Secrets at rest: AES-GCM with a key ring, each ciphertext bound to its table, column and row.

A stored ciphertext looks like ``<kid>$<base64url(nonce || ciphertext+tag)>`` where ``kid`` is the
first eight hex digits of the SHA-256 of the key: the key id travels with every secret, so a
missing key is found by its id and rotation knows what is stale. The associated data binds the
ciphertext to ``table.column.row``: a value copied to another row or column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
KID_LENGTH = 8
REDACTED = "********"


class Secret:
    """A secret value that never shows itself by accident.

    ``repr``, ``str`` and formatting all print ``********``; only :meth:`reveal` gives the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return secrets.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not picklable")


class CryptoError(Exception):
    """A ciphertext cannot be read: wrong row, tampered, or its key is not in the ring."""


class MissingKeyError(CryptoError):
    def __init__(self, kid: str, where: str = "") -> None:
        self.kid = kid
        location = f" (used by {where})" if where else ""
        super().__init__(
            f"encryption key id {kid!r} is not in the key ring{location}; add it back to "
            "HUB_ENCRYPTION_KEYS or the instance key file, or those secrets cannot be read"
        )


def generate_key() -> str:
    """A new random key in the text form the key ring reads (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:KID_LENGTH]


@dataclass(frozen=True)
class _Key:
    kid: str
    aead: AESGCM


class KeyRing:
    """Keys, newest first. The newest encrypts; any of them decrypts what it wrote."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys: dict[str, _Key] = {}
        self._order: list[str] = []
        for position, text in enumerate(keys, start=1):
            raw = _decode_key(text, position)
            kid = key_id(raw)
            if kid not in self._keys:
                self._keys[kid] = _Key(kid, AESGCM(raw))
                self._order.append(kid)
        if not self._order:
            raise CryptoError("the key ring is empty: set HUB_ENCRYPTION_KEYS or keep the key file")

    @classmethod
    def from_text(cls, text: str) -> KeyRing:
        """Comma- or newline-separated keys, newest first; ``#`` starts a comment line."""
        items = []
        for line in text.replace(",", "\n").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                items.append(line)
        return cls(items)

    @property
    def primary_kid(self) -> str:
        return self._order[0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._order)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        return f"KeyRing(kids={self._order!r})"

    def encrypt(self, plaintext: str, context: str) -> str:
        key = self._keys[self.primary_kid]
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(context, key.kid))
        payload = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{key.kid}${payload}"

    def decrypt(self, token: str, context: str) -> str:
        kid, payload = split_token(token)
        key = self._keys.get(kid)
        if key is None:
            raise MissingKeyError(kid, context)
        try:
            blob = base64.urlsafe_b64decode(payload.encode("ascii"))
            plain = key.aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(context, kid))
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise CryptoError(
                f"the secret stored in {context} does not decrypt: it was altered or moved "
                "from another row"
            ) from exc
        return plain.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        return split_token(token)[0] != self.primary_kid


def split_token(token: str) -> tuple[str, str]:
    kid, sep, payload = token.partition("$")
    if not sep or len(kid) != KID_LENGTH:
        raise CryptoError("not a hub ciphertext")
    return kid, payload


def _aad(context: str, kid: str) -> bytes:
    return f"hub-secret:v1:{context}:{kid}".encode()


def _decode_key(text: str, position: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"==")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise CryptoError(
            f"encryption key #{position} is not 32 bytes of URL-safe base64 "
            "(make one with `hub keys generate`)"
        )
    return raw
