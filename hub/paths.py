"""Checks for text that ends up in the path of a URL sent to a provider (SECURITY 16 and 33).

The proxy's relative path and every id a plugin puts into a URL path go through
:func:`check_path` before anything is sent. The danger is a path that a server further along
reads as leaving the place it was meant for: ``..`` spelt in any of the ways servers accept.
Servers differ in how often they percent-decode, whether they strip ``;`` path parameters
(Java servers read ``..;`` as ``..``), how they treat invalid UTF-8 (overlong ``%c0%ae`` is a
``.`` to some decoders) and whether they normalise Unicode (full-width dots, U+FF0E). So the check
does not guess one server's rules; it looks at every form the text can take:

1. the text as given, then the text percent-decoded again and again until it stops changing
   (a fixed point), at most :data:`MAX_DECODE_ROUNDS` times — text still changing after that
   many rounds is refused;
2. the Unicode NFKC normalisation of each of those forms, itself decoded the same way (the
   full-width percent sign, two and e, U+FF05 U+FF12 U+FF45, are ``%2e`` to a server that
   normalises first).

Each form must hold no dot segment (``.``, ``..``, either followed by ``;`` parameters, or any
segment made only of dots and spaces, which Windows servers trim to ``.``/``..``), no backslash,
no control character, no ``@`` (unless the caller allows it), and no ``/`` that only decoding or
normalising produced (an encoded slash). Percent-encoded bytes that are not valid UTF-8 (overlong
encodings among them) and IIS-style ``%uXXXX`` escapes are refused outright. Segments that merely
start with a dot (``.well-known``, ``.env``) or hold dots (``file.v1.json``) are fine.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_to_bytes

from hub.errors import ValidationError

#: How many rounds of percent-decoding a path may need to reach its fixed point. Real paths need
#: one or two; more is an attack on a server that decodes more often than the hub checks.
MAX_DECODE_ROUNDS = 4

_PERCENT_U = re.compile(r"%[uU][0-9a-fA-F]{4}")
_DOTS_AND_SPACES = frozenset(". ")
# Control characters (C0, DEL, C1), line and paragraph separators, lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def check_path(value: str, field: str = "path", *, allow_at: bool = False) -> str:
    """Return ``value`` unchanged if no server could read it as leaving its place; otherwise
    raise :class:`~hub.errors.ValidationError` naming ``field``.

    ``value`` is a relative URL path or a part of one — percent-encoded or not, one segment or
    several separated by ``/`` — that a caller or a provider chose: the proxy's path, an item id
    a plugin puts into a URL. Call it before building the URL, whether or not the value is
    percent-encoded afterwards (a server may decode more than once).

    :param value: the text to check.
    :param field: the name of the input it came from, for the error (``"itemId"``, ``"parent"``).
    :param allow_at: accept ``@`` (for ids that are file names, such as ``logo@2x.png``, which
        the plugin percent-encodes); the proxy's raw path refuses it.
    :raises ValidationError: ``fields={field: reason}``.
    """
    pending = [(value, 0)]
    seen: set[str] = set()
    while pending:
        form, rounds = pending.pop()
        if form in seen:
            continue
        seen.add(form)
        _check_form(form, field, allow_at)
        normalised = unicodedata.normalize("NFKC", form)
        if normalised != form:
            if normalised.count("/") != form.count("/"):
                raise _refused(field, "characters that normalise to '/' are not accepted")
            pending.append((normalised, rounds))
        decoded = _decode(form, field)
        if decoded != form:
            if decoded.count("/") != form.count("/"):
                raise _refused(field, "encoded slashes are not accepted")
            if rounds == MAX_DECODE_ROUNDS:
                raise _refused(field, f"it is percent-encoded more than {MAX_DECODE_ROUNDS} times")
            pending.append((decoded, rounds + 1))
    return value


def _check_form(form: str, field: str, allow_at: bool) -> None:
    if "\\" in form:
        raise _refused(field, "backslashes are not accepted")
    if not allow_at and "@" in form:
        raise _refused(field, "'@' is not accepted")
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in form):
        raise _refused(field, "control characters are not accepted")
    if _PERCENT_U.search(form):
        raise _refused(field, "%u escapes are not accepted")
    for segment in form.split("/"):
        if _is_dot_segment(segment):
            raise _refused(field, "dot segments ('.', '..', '..;') are not accepted")


def _is_dot_segment(segment: str) -> bool:
    """``.``, ``..``, either with ``;`` parameters, or only dots and spaces (``...``, ``.. ``)."""
    name = segment.split(";", 1)[0]
    return "." in name and set(name) <= _DOTS_AND_SPACES


def _decode(form: str, field: str) -> str:
    """One round of percent-decoding; bytes that are not UTF-8 (overlong forms too) refuse."""
    if "%" not in form:
        return form
    try:
        return unquote_to_bytes(form).decode("utf-8")
    except UnicodeError:
        raise _refused(field, "percent-encoded bytes that are not UTF-8 are not accepted") from None


def _refused(field: str, reason: str) -> ValidationError:
    return ValidationError(f"{field} is refused: {reason}", fields={field: reason})
