"""What Infomaniak's error answers mean, as the hub's errors: the one mapping, in one place.

An error answer is an envelope, ``{"result": "error", "error": {"code", "description",
"context"}}``; the login host answers OAuth's ``{"error": "invalid_grant"}`` instead. The code
decides first; a code this module does not know leaves it to the HTTP status.

Some codes look alike and are not: ``limit_exceeded_error`` is kDrive's "file too big / too
many files", never throttling (throttling is ``too_many_request``, singular, or a 429), so it is
never answered with ``429`` and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from hub.errors import (
    Forbidden,
    HubError,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    UpstreamTimeout,
    ValidationError,
)
from hub_infomaniak.scopes import ScopeNeed

# Envelope error codes, and what each means here.
CODE_KINDS = {
    "object_not_found": "not_found",
    "not_found": "not_found",
    "mail__message_not_found": "not_found",
    "folder__not_exists": "not_found",
    "not_authorized": "reauth",
    "invalid_token": "reauth",
    "forbidden_error": "forbidden",
    "access_denied": "forbidden",
    "all_scopes": "scope",
    "product_blocked": "blocked",
    "not_renew": "blocked",
    "mailbox_locked": "locked",
    "limit_exceeded_error": "too_large",
    "invalid_cursor_error": "cursor",
    "drive_is_in_maintenance_error": "maintenance",
    "product_maintenance": "maintenance",
    "too_many_request": "rate_limited",
    "too_many_requests": "rate_limited",
}
# When the answer carries no code this module knows.
STATUS_KINDS = {
    401: "reauth",
    403: "forbidden",
    404: "not_found",
    429: "rate_limited",
    408: "timeout",
    504: "timeout",
}


def error_for(
    name: str,
    status: int,
    envelope: Any = None,
    headers: Any = None,
    *,
    need: ScopeNeed | None = None,
) -> HubError:
    """The hub's error for a failed Infomaniak answer.

    - ``object_not_found``, ``mail__message_not_found``, ``folder__not_exists``, 404:
      :class:`NotFound`;
    - ``all_scopes`` (or any 401/403 naming or describing a scope): :class:`Forbidden`, naming
      the scope and the token to create;
    - ``not_authorized``, 401: :class:`ReauthRequired`, naming the scope the call needs;
    - ``forbidden_error``, ``product_blocked``, ``mailbox_locked``, 403: :class:`Forbidden`;
    - ``limit_exceeded_error`` (too big, too many files): :class:`UpstreamFailed`, whatever the
      status, never with ``Retry-After``;
    - ``invalid_cursor_error``: :class:`ValidationError` on ``cursor``;
    - ``drive_is_in_maintenance_error`` and other maintenance: :class:`UpstreamFailed`, try later;
    - ``too_many_request``, 429: :class:`RateLimited`; 408, 504: :class:`UpstreamTimeout`.

    :param name: the provider's display name, for messages.
    :param status: the HTTP status of the answer.
    :param envelope: the decoded JSON answer, or ``None`` when there was none.
    :param headers: the answer's headers (for ``Retry-After``), or ``None``.
    :param need: the scope the call needs and the connection's scopes, to explain a refusal.
    :return: the exception to raise; never ``None``.
    """
    code, description, named = _error_of(envelope)
    detail = f" ({code}: {description})" if code and description else f" ({code})" if code else ""
    retry_after = _retry_after(headers)
    need = need or ScopeNeed()
    kind = CODE_KINDS.get(code or "") or STATUS_KINDS.get(status) or "failed"
    if status in (401, 403) and (named or "scope" in (description or "").lower()):
        kind = "scope"  # Infomaniak says which scope the token lacks: say it again, plainly
    elif kind == "failed" and "maintenance" in f"{code} {description}".lower():
        kind = "maintenance"

    if kind == "not_found":
        return NotFound(f"{name} has no such item{detail}")
    if kind == "scope":
        return Forbidden(f"{name} refused the token{detail}: {need.advice(named)}")
    if kind == "reauth":
        hint = f": the token has expired or been revoked, or {need.advice()}" if need.scope else ""
        return ReauthRequired(f"{name} no longer accepts this connection{detail}{hint}")
    if kind == "forbidden":
        return Forbidden(f"{name} refused access to this{detail}")
    if kind == "blocked":
        return Forbidden(
            f"{name} has blocked this product{detail}: it has expired or was not renewed; "
            "its administrator can renew it in the Infomaniak Manager"
        )
    if kind == "locked":
        return Forbidden(f"{name} has locked this mailbox{detail}: unlock it in Infomaniak Mail")
    if kind == "too_large":
        return UpstreamFailed(
            f"{name} refused: the file is too big or there are too many files{detail}. "
            "This is a size limit, not a rate limit: trying again will not help"
        )
    if kind == "cursor":
        return ValidationError(
            f"{name} no longer accepts this cursor{detail}: start again from the first page",
            fields={"cursor": "expired at Infomaniak"},
        )
    if kind == "rate_limited":
        return RateLimited(
            f"{name} is rate limiting requests{detail}; try again later", retry_after=retry_after
        )
    if kind == "maintenance":
        extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return UpstreamFailed(
            f"{name} is under maintenance{detail}; try again later", headers=extra
        )
    if kind == "timeout":
        return UpstreamTimeout(f"{name} did not answer in time{detail}")
    if status == 503:
        return UpstreamFailed(f"{name} is unavailable (503){detail}; try again later")
    return UpstreamFailed(f"{name} answered {status}{detail}")


def _error_of(envelope: Any) -> tuple[str | None, str | None, list[str]]:
    """``(code, description, scopes named in error.context.scopes)`` of an error answer."""
    if not isinstance(envelope, dict):
        return None, None, []
    error = envelope.get("error")
    named: list[str] = []
    if isinstance(error, dict):
        code, description = error.get("code"), error.get("description")
        context = error.get("context")
        scopes = context.get("scopes") if isinstance(context, dict) else None
        if isinstance(scopes, list):
            named = [str(s)[:50] for s in scopes[:10] if isinstance(s, str) and s]
    elif isinstance(error, str):  # the login host's OAuth errors: {"error": "invalid_grant"}
        code, description = error, envelope.get("error_description")
    else:
        return None, None, []
    return (
        str(code)[:100] if code is not None else None,
        str(description)[:300] if description is not None else None,
        named,
    )


def _retry_after(headers: Any) -> int | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value and value.strip().isdigit():
        return int(value.strip())
    return None
