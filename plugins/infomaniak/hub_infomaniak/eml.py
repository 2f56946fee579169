"""A message as an ``.eml`` file: its filename, built safely from the subject.

The raw RFC 822 bytes are served untouched; only the name is derived. The subject is read from
the message's own header block as it streams by, so a download needs no second request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from itertools import chain

MEDIA_TYPE = "message/rfc822"
MAX_NAME_BYTES = 200  # UTF-8 bytes before ".eml": well under the 255 most file systems allow
HEADER_LIMIT = 256 * 1024  # a header block larger than this is not read for a subject
RESERVED = re.compile(r'[\\/:*?"<>|]+')  # path separators and what Windows refuses in a name
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)


def eml_filename(subject: str | None, fallback: str = "message") -> str:
    """A file name for a message: its subject made safe, then ``.eml``.

    Control and invisible formatting characters (bidi overrides included) become spaces, path
    separators and characters Windows refuses become ``_``, whitespace is collapsed, leading and
    trailing dots and spaces go, the name is cut to 200 UTF-8 bytes, and an empty result or a
    Windows device name falls back to ``fallback``.

    :param subject: the decoded subject, or ``None``.
    :param fallback: the name to use when nothing is left of the subject.
    :return: e.g. ``"Quarterly report_ Q3.eml"`` for ``"Quarterly report: Q3"``.
    """
    text = unicodedata.normalize("NFC", subject or "")
    text = "".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in text)
    text = RESERVED.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    text = text.rstrip(" .")
    if not text or text.split(".")[0].upper() in WINDOWS_DEVICES:
        text = fallback
    return f"{text}.eml"


def subject_of(header_block: bytes) -> str | None:
    """The decoded ``Subject`` of a message's header block (RFC 2047 words decoded).

    :return: the subject, or ``None`` when there is none or the block cannot be read.
    """
    try:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(header_block)
        subject = headers.get("Subject")
    except (ValueError, TypeError, IndexError, LookupError):
        return None
    return None if subject is None else str(subject)


def peek_headers(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """Read a stream until its header block is complete, without losing a byte.

    :param chunks: the message's bytes as chunks.
    :return: ``(header_block, chunks)`` where ``chunks`` yields the whole message again, from
        its first byte; ``header_block`` is empty when no end of headers came within 256 KiB.
    """
    iterator = iter(chunks)
    buffered = b""
    complete = True  # a message that ends inside its headers is all headers
    for chunk in iterator:
        buffered += chunk
        end = _header_end(buffered)
        if end is not None:
            return buffered[:end], chain([buffered], iterator)
        if len(buffered) > HEADER_LIMIT:
            complete = False
            break
    return (buffered if complete else b""), chain([buffered] if buffered else [], iterator)


def _header_end(data: bytes) -> int | None:
    ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else None
