"""Infomaniak's answer envelope and its errors, mapped to the hub's errors in one place.

Every JSON answer of the API and mail hosts is wrapped the same way::

    {"result": "success", "data": ...}
    {"result": "error", "error": {"code": "object_not_found", "description": "..."}}

:func:`error_for` is the single mapping from a failed answer (its status and, when there is one,
its envelope's error code) to a :mod:`hub.errors` exception; :func:`send` and :func:`get_envelope`
are how the services call Infomaniak, with Infomaniak's retry statuses.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from hub.context import ProviderContext
from hub.errors import (
    Forbidden,
    HubError,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    UpstreamTimeout,
)

# Infomaniak asks clients to retry these (idempotent requests only; the core bounds the waits).
RETRY_ON = frozenset({408, 429, 500, 502, 503, 504})
ERROR_BODY_LIMIT = 64 * 1024  # an error answer is small; never read a large body looking for one

# Envelope error codes and, when the code says nothing we know, statuses: what each means here.
CODE_KINDS = {
    "object_not_found": "not_found",
    "not_found": "not_found",
    "not_authorized": "reauth",
    "invalid_token": "reauth",
    "forbidden_error": "forbidden",
    "access_denied": "forbidden",
    "limit_exceeded_error": "rate_limited",
    "too_many_requests": "rate_limited",
}
STATUS_KINDS = {
    401: "reauth",
    403: "forbidden",
    404: "not_found",
    429: "rate_limited",
    408: "timeout",
    504: "timeout",
}


def error_for(name: str, status: int, envelope: Any = None, headers: Any = None) -> HubError:
    """The hub's error for a failed Infomaniak answer.

    The envelope's error code decides first (``object_not_found`` → :class:`NotFound`,
    ``not_authorized`` → :class:`ReauthRequired`, ``forbidden_error`` → :class:`Forbidden`,
    ``limit_exceeded_error`` → :class:`RateLimited`, a maintenance code →
    :class:`UpstreamFailed`); an unknown code or none leaves it to the status (401, 403, 404,
    429, 408/504 → :class:`UpstreamTimeout`, any other → :class:`UpstreamFailed`). Every message
    names the provider.

    :param name: the provider's display name, for messages.
    :param status: the HTTP status of the answer.
    :param envelope: the decoded JSON answer, or ``None`` when there was none.
    :param headers: the answer's headers (for ``Retry-After``), or ``None``.
    :return: the exception to raise; never ``None``.
    """
    code, description = _error_of(envelope)
    detail = f" ({code}: {description})" if code and description else f" ({code})" if code else ""
    retry_after = _retry_after(headers)
    if "maintenance" in f"{code} {description}".lower():
        kind = "maintenance"
    else:
        kind = CODE_KINDS.get(code or "") or STATUS_KINDS.get(status) or "failed"
    if kind == "not_found":
        return NotFound(f"{name} has no such item{detail}")
    if kind == "reauth":
        return ReauthRequired(f"{name} no longer accepts this connection{detail}: connect again")
    if kind == "forbidden":
        return Forbidden(f"{name} refused access to this{detail}")
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


def raise_for_status(ctx: ProviderContext, response: requests.Response) -> requests.Response:
    """Return ``response`` if it succeeded; otherwise close it and raise :func:`error_for`'s error.

    :param ctx: the session the request was sent with.
    :param response: an answer from Infomaniak, possibly streamed.
    :return: the same response, when its status is below 400.
    """
    if response.status_code < 400:
        return response
    envelope = read_envelope(response)
    response.close()
    raise error_for(ctx.name, response.status_code, envelope, response.headers)


def send(
    ctx: ProviderContext,
    url: str,
    *,
    params: Any = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
) -> requests.Response:
    """GET ``url`` with the connection's credentials, retrying Infomaniak's transient statuses.

    :param ctx: the authenticated session.
    :param url: an absolute URL under one of the integration's endpoints.
    :param params: query parameters (a mapping or a list of pairs, for ``roles[]``).
    :param headers: extra request headers (``Range``, ``Accept``).
    :param stream: stream the body instead of reading it.
    :return: the successful response.
    :raises hub.errors.HubError: the mapped error of a failed answer.
    """
    response = ctx.request(
        "GET", url, params=params, headers=headers, stream=stream, retry_on=RETRY_ON
    )
    return raise_for_status(ctx, response)


def get_envelope(ctx: ProviderContext, endpoint: str, path: str, params: Any = None) -> dict:
    """GET ``path`` under ``endpoint`` and return the whole successful envelope.

    v3 listings put ``cursor`` and ``has_more`` beside ``data``, so callers get the envelope,
    not just ``data``.

    :param ctx: the authenticated session.
    :param endpoint: ``api`` or ``mail``.
    :param path: the path under the endpoint's base URL.
    :param params: query parameters.
    :return: the decoded envelope, a dict whose ``result`` is not ``error``.
    :raises hub.errors.HubError: the mapped error of a failed answer, or
        :class:`~hub.errors.UpstreamFailed` when the answer is not an envelope.
    """
    response = send(ctx, ctx.url(endpoint, path), params=params, headers=JSON_ACCEPT)
    try:
        envelope = response.json()
    except ValueError:
        raise UpstreamFailed(f"{ctx.name} did not answer JSON") from None
    if not isinstance(envelope, dict):
        raise UpstreamFailed(f"{ctx.name} answered a JSON {type(envelope).__name__}")
    if envelope.get("result") == "error":
        raise error_for(ctx.name, response.status_code, envelope, response.headers)
    return envelope


def data_list(ctx: ProviderContext, envelope: dict, key: str | None = None) -> list[dict]:
    """The list in ``envelope["data"]`` (or ``envelope["data"][key]``), its entries dicts.

    :raises hub.errors.UpstreamFailed: when the answer does not have that shape.
    """
    data = envelope.get("data")
    if key is not None:
        data = data.get(key) if isinstance(data, dict) else None
    if data is None:
        return []
    if not isinstance(data, list):
        raise UpstreamFailed(f"{ctx.name} answered an unexpected listing")
    return [entry for entry in data if isinstance(entry, dict)]


JSON_ACCEPT = {"Accept": "application/json"}


def _error_of(envelope: Any) -> tuple[str | None, str | None]:
    if not isinstance(envelope, dict):
        return None, None
    error = envelope.get("error")
    if isinstance(error, dict):
        code, description = error.get("code"), error.get("description")
    elif isinstance(error, str):  # the login host's OAuth errors: {"error": "invalid_grant"}
        code, description = error, envelope.get("error_description")
    else:
        return None, None
    return (
        str(code)[:100] if code is not None else None,
        str(description)[:300] if description is not None else None,
    )


def read_envelope(response: requests.Response) -> Any:
    """The decoded JSON body of a (possibly streamed) answer of at most 64 KiB, else ``None``."""
    try:
        body = b""
        for chunk in response.iter_content(8192):
            body += chunk
            if len(body) > ERROR_BODY_LIMIT:
                return None
        return json.loads(body) if body else None
    except (ValueError, requests.RequestException):
        return None


def _retry_after(headers: Any) -> int | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value and value.strip().isdigit():
        return int(value.strip())
    return None
