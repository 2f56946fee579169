"""Infomaniak's answer envelope and its errors, mapped to the hub's errors in one place.

Every JSON answer of the API and mail hosts is wrapped the same way::

    {"result": "success", "data": ...}
    {"result": "error", "error": {"code": "object_not_found", "description": "..."}}

:func:`send` and :func:`get_envelope` are how the services call Infomaniak, with Infomaniak's retry
statuses; a failed answer becomes the hub's error through :func:`hub_infomaniak.answers.error_for`
(re-exported here), told which scope the call needs so that a refusal can name it.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from hub.context import ProviderContext
from hub.errors import UpstreamFailed
from hub_infomaniak.answers import error_for
from hub_infomaniak.scopes import ScopeNeed

__all__ = [
    "data_list",
    "error_for",
    "get_envelope",
    "need_of",
    "raise_for_status",
    "read_envelope",
    "send",
]

# Infomaniak asks clients to retry these (idempotent requests only; the core bounds the waits).
RETRY_ON = frozenset({408, 429, 500, 502, 503, 504})
ERROR_BODY_LIMIT = 64 * 1024  # an error answer is small; never read a large body looking for one


def need_of(ctx: ProviderContext, scope: str | None) -> ScopeNeed:
    """What explains a refusal of a call needing ``scope`` on this connection: the scope, what
    an OAuth connection was granted, and what the integration asks for."""
    connection = ctx.connection
    granted = None
    if ctx.integration.auth_type == "oauth2" and connection is not None:
        granted = getattr(connection, "scope", None) or None
    return ScopeNeed(scope=scope, granted=granted, requested=ctx.integration.scope or None)


def raise_for_status(
    ctx: ProviderContext, response: requests.Response, scope: str | None = None
) -> requests.Response:
    """Return ``response`` if it succeeded; otherwise close it and raise :func:`error_for`'s error.

    :param ctx: the session the request was sent with.
    :param response: an answer from Infomaniak, possibly streamed.
    :param scope: the scope the call needs, named when Infomaniak refuses the token.
    :return: the same response, when its status is below 400.
    """
    if response.status_code < 400:
        return response
    envelope = read_envelope(response)
    response.close()
    raise error_for(
        ctx.name, response.status_code, envelope, response.headers, need=need_of(ctx, scope)
    )


def send(
    ctx: ProviderContext,
    url: str,
    *,
    params: Any = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
    scope: str | None = None,
) -> requests.Response:
    """GET ``url`` with the connection's credentials, retrying Infomaniak's transient statuses.

    :param ctx: the authenticated session.
    :param url: an absolute URL under one of the integration's endpoints.
    :param params: query parameters (a mapping or a list of pairs, for ``roles[]``).
    :param headers: extra request headers (``Range``, ``Accept``).
    :param stream: stream the body instead of reading it.
    :param scope: the scope the call needs (``drive``, ``workspace:mail``), for refusals.
    :return: the successful response.
    :raises hub.errors.HubError: the mapped error of a failed answer.
    """
    response = ctx.request(
        "GET", url, params=params, headers=headers, stream=stream, retry_on=RETRY_ON
    )
    return raise_for_status(ctx, response, scope)


def get_envelope(
    ctx: ProviderContext,
    endpoint: str,
    path: str,
    params: Any = None,
    *,
    scope: str | None = None,
) -> dict:
    """GET ``path`` under ``endpoint`` and return the whole successful envelope.

    v3 listings put ``cursor`` and ``has_more`` beside ``data``, so callers get the envelope,
    not just ``data``.

    :param ctx: the authenticated session.
    :param endpoint: ``api`` or ``mail``.
    :param path: the path under the endpoint's base URL (it may carry a query string).
    :param params: query parameters.
    :param scope: the scope the call needs, for refusals.
    :return: the decoded envelope, a dict whose ``result`` is not ``error``.
    :raises hub.errors.HubError: the mapped error of a failed answer, or
        :class:`~hub.errors.UpstreamFailed` when the answer is not an envelope.
    """
    url = ctx.url(endpoint, path)
    response = send(ctx, url, params=params, headers=JSON_ACCEPT, scope=scope)
    try:
        envelope = response.json()
    except ValueError:
        raise UpstreamFailed(f"{ctx.name} did not answer JSON") from None
    if not isinstance(envelope, dict):
        raise UpstreamFailed(f"{ctx.name} answered a JSON {type(envelope).__name__}")
    if envelope.get("result") == "error":
        need = need_of(ctx, scope)
        raise error_for(ctx.name, response.status_code, envelope, response.headers, need=need)
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
