"""``Content-Disposition`` both ways: the header the hub sends, and the file name a provider sent.

Every download the hub serves names its file with :func:`content_disposition`; every plugin that
learns a file's name from a provider's ``Content-Disposition`` reads it with
:func:`filename_from_disposition`, so the two directions follow one reading of RFC 6266.

A provider that names ``Résumé "final".txt`` sends an ASCII fallback (``filename="R_sum_
_final_.txt"``) beside the exact name (``filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.txt``).
RFC 6266 §4.3 says ``filename*`` wins whatever the order; the standard library's and Werkzeug's
parsers keep whichever parameter comes first or last instead, so the parameters are read here.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["content_disposition", "filename_from_disposition"]

# One parameter: `; name = token` or `; name = "quoted \" string"` (RFC 6266 §4.1, RFC 9110 §5.6).
_PARAMETER = re.compile(
    r""";\s*(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^;]*)""",
    re.DOTALL,
)
# RFC 8187 ext-value: charset ' [language] ' value-chars.
_EXT_VALUE = re.compile(r"(?P<charset>[!#$%&+^_`{}~0-9A-Za-z-]+)'[^']*'(?P<chars>.*)", re.DOTALL)
_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "iso-8859-1"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the exact name as RFC 6266 / 8187 ``filename*``."""
    cleaned = _CONTROL.sub("", filename).strip() or "download"
    fallback = "".join(c if c.isascii() and c not in '"\\;' else "_" for c in cleaned)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def filename_from_disposition(value: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header gives, or None when it gives none.

    ``filename*`` is read first (UTF-8 or ISO-8859-1, percent-encoded); when it is missing or
    cannot be decoded, ``filename``. Only the last path segment is kept (a name never climbs out
    of a folder), control characters are dropped, and ``.``/``..``/blank names count as none.
    """
    if not value:
        return None
    parameters: dict[str, str] = {}
    for match in _PARAMETER.finditer(value):
        parameters.setdefault(match["name"].lower(), match["value"].strip())
    name = _extended(parameters.get("filename*")) or _plain(parameters.get("filename"))
    return _basename(name) if name else None


def _extended(value: str | None) -> str | None:
    if value is None:
        return None
    match = _EXT_VALUE.fullmatch(_unquoted(value))
    charset = _CHARSETS.get(match["charset"].lower()) if match else None
    if match is None or charset is None:
        return None
    try:
        return unquote(match["chars"], encoding=charset, errors="strict")
    except UnicodeDecodeError:
        return None


def _plain(value: str | None) -> str | None:
    if value is None:
        return None
    name = _unquoted(value)
    # HTTP header bytes reach Python as ISO-8859-1; a server that put raw UTF-8 in `filename`
    # (outside the RFC, yet common) is read the way browsers read it.
    try:
        return name.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)
    return value


def _basename(name: str) -> str | None:
    name = _CONTROL.sub("", re.split(r"[\\/]", name)[-1]).strip()
    return name if name not in ("", ".", "..") else None
