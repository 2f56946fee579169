"""Custom header templates: the variables plugins add, validation at save, expansion per request.

An integration's custom headers are ``{header name: template}``. A template is text with
``${name}`` placeholders (DESIGN §6); ``$${`` writes a literal ``${`` and any other ``$`` is
literal. Templates are checked when an integration is saved (:func:`validate_headers`) and
expanded for each request to the provider (:func:`expand_headers`).

Expansion inserts data the hub does not control (a user's name or email, an id a provider
chose), so every expanded value is checked again: a control character in it would let that data
end the header and start another (header injection, SECURITY 19).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hub import metadata
from hub.errors import HubError, ValidationError

MAX_HEADERS = 50
MAX_NAME_LENGTH = 100
MAX_TEMPLATE_LENGTH = 4096
MAX_VALUE_LENGTH = 8192

#: Lower-case names a template may never set: they carry credentials, decide where the request
#: goes, or frame the message — the hub sets these itself or strips them.
FORBIDDEN_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    }
)

# RFC 9110 §5.6.2: token = 1*tchar. Spelled out in ASCII so no Unicode letter or digit slips in.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_.]+")
# Unicode control characters (C0, DEL, C1 including NEL U+0085) and the line and paragraph
# separators U+2028/U+2029, which some parsers treat as line breaks.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
#: How the variable family of a connection's metadata is listed among the known variables.
METADATA_VARIABLE = "${connection.metadata.<key>}"


@dataclass(frozen=True)
class HeaderContext:
    """What a header template can draw on for one request."""

    user_id: int | None
    user_name: str | None
    user_email: str | None
    tenant_id: str
    integration_slug: str
    integration_owner: str
    connection_external_id: str | None
    # The connection's metadata, for ${connection.metadata.<key>} (hub.metadata).
    connection_metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HeaderVariable:
    """``${name}`` in a header template, resolved per request by ``resolve(context)``."""

    name: str
    description: str
    resolve: Callable[[HeaderContext], str | None]


class HeaderTemplateError(ValueError):
    """A template that cannot be parsed (an unterminated ``${`` or a malformed name)."""


class HeaderRefused(HubError):
    """A custom header could not be built for this request.

    The message names the header, never its value: the value may carry a user's data.
    """

    status = 400
    code = "header_refused"


# -- templates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variable:
    name: str


def _parse(template: str) -> list[str | _Variable]:
    """Split a template into literal text and variables, in order."""
    parts: list[str | _Variable] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        if template.startswith("$${", i):
            literal.append("${")
            i += 3
        elif template.startswith("${", i):
            end = template.find("}", i + 2)
            if end == -1:
                raise HeaderTemplateError(f"unterminated ${{ at position {i}")
            name = template[i + 2 : end]
            if not _VARIABLE_NAME.fullmatch(name):
                raise HeaderTemplateError(
                    f"invalid variable name at position {i}: "
                    "use letters, digits, dots and underscores, as in ${user.email}"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_Variable(name))
            i = end + 1
        else:
            literal.append(template[i])
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def template_variables(template: str) -> list[str]:
    """The variable names a template uses, each once, in order of first use.

    :raises HeaderTemplateError: the template has an unterminated ``${`` or a malformed name.
    """
    names: list[str] = []
    for part in _parse(template):
        if isinstance(part, _Variable) and part.name not in names:
            names.append(part.name)
    return names


def _has_refused_character(text: str) -> bool:
    return any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text)


# -- validation at save -----------------------------------------------------------------------


def _field(name: str) -> str:
    # The name is the user's input and may be long; keep the field key readable.
    shown = name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "…"
    return f"headers.{shown}"


def header_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a header the hub sends for an integration, or ``None``: it must
    be an RFC 9110 token of 1-100 characters and none of :data:`FORBIDDEN_HEADERS` (any case).
    The one rule for header templates and for every setting that names a header."""
    return _name_problem(name, set())


def check_header_name(name: object, field: str) -> str:
    """``name`` if it may be sent as a header; else :class:`ValidationError` naming ``field``."""
    problem = (
        "must be a header name (a string)"
        if not isinstance(name, str)
        else header_name_problem(name)
    )
    if problem is not None:
        raise ValidationError(f"{field}: {problem}", fields={field: problem})
    return name  # type: ignore[return-value]


def _name_problem(name: str, seen: set[str]) -> str | None:
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        return f"a header name has 1 to {MAX_NAME_LENGTH} characters"
    if not _TOKEN.fullmatch(name):
        return (
            "not a valid header name: use ASCII letters, digits and !#$%&'*+-.^_`|~ "
            "(no spaces, colons or control characters)"
        )
    if name.lower() in FORBIDDEN_HEADERS:
        return f"{name} cannot be set by a template: the hub sets or strips it"
    if name.lower() in seen:
        return f"{name} is given more than once (header names ignore case)"
    return None


def _template_problem(template: object, variables: Mapping[str, HeaderVariable]) -> str | None:
    if not isinstance(template, str):
        return "the template must be a string"
    if len(template) > MAX_TEMPLATE_LENGTH:
        return f"the template is longer than {MAX_TEMPLATE_LENGTH} characters"
    # TAB is legal inside an HTTP field value, but no template needs one: refusing every control
    # character keeps the rule simple to state and to check.
    if _has_refused_character(template):
        return "the template contains a control character (including tab, CR and LF)"
    try:
        used = template_variables(template)
    except HeaderTemplateError as exc:
        return str(exc)
    unknown = [name for name in used if name not in variables and not _metadata_path(name)]
    if unknown:
        known = ", ".join([*(f"${{{name}}}" for name in sorted(variables)), METADATA_VARIABLE])
        listed = ", ".join(f"${{{name}}}" for name in unknown)
        return f"unknown variable {listed}; known: {known}"
    return None


def validate_headers(headers: object, variables: Mapping[str, HeaderVariable]) -> dict[str, str]:
    """Check a JSON value meant as an integration's ``{header name: template}``.

    Every header is checked and every problem reported at once, keyed ``headers.<Name>``;
    problems with the whole value are keyed ``headers``.

    :param headers: the value as decoded from JSON.
    :param variables: the variables templates may use (``registry.header_variables``).
    :return: the headers, names as given.
    :raises ValidationError: when anything is wrong.
    """
    if not isinstance(headers, Mapping):
        raise ValidationError(
            "headers must be an object of header name to template",
            fields={"headers": "must be an object of header name to template"},
        )
    if len(headers) > MAX_HEADERS:
        reason = f"at most {MAX_HEADERS} headers"
        raise ValidationError(f"headers: {reason}", fields={"headers": reason})
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for name, template in headers.items():
        if not isinstance(name, str):
            problems["headers"] = "header names must be strings"
            continue
        problem = _name_problem(name, seen) or _template_problem(template, variables)
        seen.add(name.lower())
        if problem is not None:
            problems[_field(name)] = problem
    if problems:
        message = "; ".join(f"{field}: {reason}" for field, reason in problems.items())
        raise ValidationError(message, fields=problems)
    return dict(headers)


# -- expansion per request --------------------------------------------------------------------


def _expand_one(
    name: str, template: str, context: HeaderContext, variables: Mapping[str, HeaderVariable]
) -> str:
    try:
        parts = _parse(template)
    except HeaderTemplateError as exc:
        raise HeaderRefused(f"header {name}: the stored template is invalid: {exc}") from None
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        path = _metadata_path(part.name)
        if path is not None and part.name not in variables:
            text = metadata.template_text(metadata.lookup(context.connection_metadata, path))
            if text is None:
                raise HeaderRefused(
                    f"header {name}: ${{{part.name}}} is an object or a list, not a value"
                )
            pieces.append(text)
            continue
        variable = variables.get(part.name)
        if variable is None:
            # Saved when a plugin defined it; that plugin is gone now.
            raise HeaderRefused(
                f"header {name}: variable ${{{part.name}}} is not defined by any installed plugin"
            )
        value = variable.resolve(context)
        if value is None:
            continue
        if not isinstance(value, str):
            raise HeaderRefused(
                f"header {name}: variable ${{{part.name}}} resolved to "
                f"{type(value).__name__}, not a string"
            )
        pieces.append(value)
    return "".join(pieces)


def _metadata_path(name: str) -> str | None:
    """The path inside the connection's metadata that ``${connection.metadata.<path>}`` names."""
    if not name.startswith(metadata.TEMPLATE_PREFIX):
        return None
    path = name[len(metadata.TEMPLATE_PREFIX) :]
    steps = path.split(".")
    if not path or len(steps) > metadata.MAX_DEPTH or not all(map(metadata.KEY.fullmatch, steps)):
        return None
    return path


def refuse_header_name(name: str) -> None:
    """At request time: :class:`HeaderRefused` for a stored name that is not (or no longer)
    allowed — the list of forbidden names may have grown since it was saved."""
    if not _TOKEN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise HeaderRefused("a stored header name is not a valid header name")
    if name.lower() in FORBIDDEN_HEADERS:
        raise HeaderRefused(f"header {name} cannot be set by the integration")


def expand_headers(
    headers: Mapping[str, str],
    context: HeaderContext,
    variables: Mapping[str, HeaderVariable],
) -> dict[str, str]:
    """Expand an integration's saved header templates for one request.

    A variable resolving to ``None`` inserts nothing. Values are kept exactly (no trimming).
    Names are checked again although they were checked at save: the list of forbidden names may
    have grown since.

    :raises HeaderRefused: a name is no longer allowed, a variable is no longer defined, or an
        expanded value contains a control character (C0, DEL, C1 such as NEL, U+2028, U+2029)
        or is longer than 8192 characters. The message names the header, never the value.
    """
    expanded: dict[str, str] = {}
    for name, template in headers.items():
        refuse_header_name(name)
        value = _expand_one(name, template, context, variables)
        if _has_refused_character(value):
            raise HeaderRefused(f"header {name}: the value contains a control character")
        if len(value) > MAX_VALUE_LENGTH:
            raise HeaderRefused(f"header {name}: the value is longer than {MAX_VALUE_LENGTH}")
        if not value.isascii():
            # HTTP/1.1 clients send header bytes as Latin-1 at best; anything else would be
            # mangled or fail in flight. Refuse it here, with the header named.
            raise HeaderRefused(f"header {name}: the value has characters outside ASCII")
        expanded[name] = value
    return expanded
