"""Talking to Dropbox's API v2: RPC calls, the ``Dropbox-API-Arg`` header, and its errors.

Dropbox's endpoints are all ``POST``. RPC endpoints (``api.dropboxapi.com``) take their
argument as a JSON body; content-download endpoints (``content.dropboxapi.com``) take it as JSON
in the ``Dropbox-API-Arg`` header and return the result metadata as JSON in the
``Dropbox-API-Result`` header. Errors are JSON bodies whose ``error`` is a tagged union
(``{".tag": "path", "path": {".tag": "not_found"}}``) and whose ``error_summary`` spells the
same tags as text (``"path/not_found/.."``). Sources are listed in the plugin's README.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from hub.context import ProviderContext, error_for
from hub.errors import (
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    ValidationError,
)

#: Why a generated token stops working, said when Dropbox refuses one (bearer connections
#: cannot be refreshed).
GENERATED_TOKEN_HINT = (
    "connect again (a token generated in the Dropbox App Console lives about four hours: "
    "generate a new one, or connect with OAuth2, which the hub refreshes)"
)


def header_safe_json(value: Any) -> str:
    """``value`` as JSON fit for an HTTP header such as ``Dropbox-API-Arg``.

    Dropbox reads these headers as ASCII and wants U+007F and every character above it escaped
    as ``\\uXXXX`` (characters beyond the BMP as a UTF-16 surrogate pair, as the official
    JavaScript SDK's ``httpHeaderSafeJson`` does). ``json.dumps`` already escapes control
    characters and, with ``ensure_ascii``, everything above U+007F, but leaves DEL (U+007F)
    raw; a raw DEL can only occur inside a JSON string, so replacing it is safe.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("\x7f", "\\u007f")


def rpc(ctx: ProviderContext, route: str, argument: Any, *, field: str = "parent") -> Any:
    """Call the RPC endpoint ``/2/{route}`` with ``argument`` as its JSON body; its JSON answer.

    Every route this plugin calls only reads, so the request is marked idempotent: the hub
    may send it again after a short ``429``/``503`` wait. ``field`` names the caller's input
    that a path error is about (``parent``, ``itemId``, ``cursor``).
    """
    response = ctx.request("POST", ctx.url("api", f"/2/{route}"), json=argument, idempotent=True)
    raise_for_error(ctx, response, field=field)
    try:
        return response.json()
    except ValueError:
        raise UpstreamFailed(f"{ctx.name} did not answer {route} with JSON") from None


def raise_for_error(ctx: ProviderContext, response: requests.Response, *, field: str) -> None:
    """Raise the hub error a failed Dropbox answer means; return on success."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    response.close()
    error = body.get("error") if isinstance(body, dict) else None
    tags = error_tags(error)
    raise dropbox_error(ctx, response, tags, body, field=field)


def error_tags(error: Any) -> list[str]:
    """The chain of ``.tag`` values of a Dropbox error union, outermost first.

    ``{".tag": "path", "path": {".tag": "not_found"}}`` gives ``["path", "not_found"]``. A
    401's ``error`` may be the bare object of an ``AuthError``; a 429's ``error`` is a
    ``RateLimitError`` struct whose tag sits under ``reason``.
    """
    tags: list[str] = []
    current = error
    while isinstance(current, dict) and len(tags) < 8:
        tag = current.get(".tag")
        if not isinstance(tag, str):
            current = current.get("reason")
            continue
        tags.append(tag)
        current = current.get(tag)
    if isinstance(error, str):
        tags.append(error)
    return tags


def dropbox_error(
    ctx: ProviderContext,
    response: requests.Response,
    tags: list[str],
    body: Any,
    *,
    field: str,
) -> HubError:
    """The hub error for one failed answer, from its status and its error tags."""
    status = response.status_code
    name = ctx.name
    if status == 409:
        return _endpoint_error(name, tags, field)
    if status == 401:
        return _auth_error(ctx, tags, body)
    if status == 403:
        reason = "/".join(tags) or "no_permission"
        return Forbidden(f"{name} refused this account access to this ({reason})")
    if status == 429:
        return RateLimited(
            f"{name} is rate limiting requests; try again later",
            retry_after=_retry_after(response, body),
        )
    if status == 400:
        # Dropbox answers a request it cannot parse with 400 and a plain-text sentence.
        return UpstreamFailed(f"{name} refused the request as malformed (400)")
    return error_for(name, response)


def _endpoint_error(name: str, tags: list[str], field: str) -> HubError:
    """A ``409``: the route's own error union (``ListFolderError``, ``DownloadError``...)."""
    last = tags[-1] if tags else ""
    if last == "not_found":
        return NotFound(f"{name} has nothing there (it may have been moved or deleted)")
    if last == "restricted_content":
        return Forbidden(f"{name} restricts this content (for example for legal reasons)")
    if last in ("no_permission", "team_access_denied"):
        return Forbidden(f"{name} does not let this account open this")
    if last == "malformed_path":
        return ValidationError(
            f"{name} cannot read this as a path or id", fields={field: "not a Dropbox path or id"}
        )
    if last == "not_folder":
        return ValidationError(f"this is not a folder in {name}", fields={field: "not a folder"})
    if last == "not_file":
        return ValidationError(f"this is not a file in {name}", fields={field: "not a file"})
    if last == "reset":
        return ValidationError(
            f"{name} no longer accepts this cursor: open the folder again",
            fields={"cursor": "expired"},
        )
    if last in ("unsupported_file", "unsupported_content_type"):
        return ValidationError(
            f"{name} does not let this file be downloaded directly",
            fields={field: "not downloadable"},
        )
    if last == "invalid_argument":  # SearchError: Dropbox refused the search's arguments
        return ValidationError(f"{name} refused this search", fields={field: "refused by Dropbox"})
    if last == "locked":
        return Conflict(f"this item is locked in {name}", code="locked")
    summary = "/".join(tags) or "unknown error"
    return UpstreamFailed(f"{name} could not do this ({summary})")


def _auth_error(ctx: ProviderContext, tags: list[str], body: Any) -> HubError:
    """A ``401`` the hub's one refresh did not cure (or a bearer token, never refreshed)."""
    name = ctx.name
    last = tags[0] if tags else ""
    if last == "missing_scope":
        scope = _dotted(body, ("error", "required_scope"))
        wanted = f" the {scope} permission" if isinstance(scope, str) else " a permission"
        return Forbidden(
            f"this {name} connection lacks{wanted}: tick it in the App Console and connect again"
        )
    if last == "expired_access_token":
        # OAuth2 connections reach this only when the hub's refresh did not help; a bearer
        # token generated in the App Console is never refreshed.
        return ReauthRequired(f"{name}'s token has expired: {GENERATED_TOKEN_HINT}")
    if last == "user_suspended":
        return ReauthRequired(f"{name} has suspended this account")
    return ReauthRequired(f"{name} no longer accepts this connection: connect again")


def _retry_after(response: requests.Response, body: Any) -> int | None:
    """Seconds to wait: the ``Retry-After`` header, else the body's ``error.retry_after``."""
    header = response.headers.get("Retry-After", "")
    if header.isdigit():
        return int(header)
    value = _dotted(body, ("error", "retry_after"))
    return value if isinstance(value, int) and value >= 0 else None


def _dotted(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
