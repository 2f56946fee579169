"""Calls to the Drive API v3: retries on rate limits and outages, and Google's errors mapped to the
hub's.

Google signals a rate limit with ``429`` or with a ``403`` whose reason is
``userRateLimitExceeded`` / ``rateLimitExceeded``, and asks clients to retry those (and ``5xx``)
with truncated exponential backoff and jitter. :class:`Backoff` bounds that: a few retries, each
wait capped, so a request never holds a worker for long; after that the caller gets
``RateLimited`` (or ``UpstreamFailed``). Every other ``403`` is a permission error. A ``401`` is
not handled here: :meth:`hub.context.ProviderContext.request` refreshes the token once and
retries by itself.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from hub.context import ProviderContext, error_for
from hub.errors import Forbidden, HubError, NotFound, RateLimited, UpstreamFailed, ValidationError
from hub.paths import check_path

log = logging.getLogger(__name__)

DRIVE = "/drive/v3"
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})
# Quota for the day is gone: retrying within this request cannot help.
QUOTA_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
EXPORT_TOO_LARGE = "exportSizeLimitExceeded"
NOT_DOWNLOADABLE = "fileNotDownloadable"


@dataclass(frozen=True)
class Backoff:
    """Truncated exponential backoff with jitter, as Google recommends, within a bound.

    Before retry ``n`` (0-based) it waits ``min(base * 2**n + base * random(), cap)`` seconds, at
    most ``retries`` times; a ``Retry-After`` longer than ``cap`` means giving up at once. With
    the defaults the waits add up to under 10 seconds.
    """

    retries: int = 4
    base: float = 0.5
    cap: float = 8.0
    # None: the request context's own wait (ProviderContext.sleep), which the hub's fake clock
    # (the hub_clock test fixture) absorbs; a plain time.sleep here would wait for real.
    sleep: Callable[[float], None] | None = None
    random: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retrying after failed attempt ``attempt`` (0-based), or
        ``None`` when the bound is reached and the caller should give up.

        :param attempt: how many retries were already made.
        :param retry_after: the seconds the server asked for, if it said.
        """
        if attempt >= self.retries:
            return None
        if retry_after is not None and retry_after > self.cap:
            return None
        wait = min(self.base * 2**attempt + self.base * self.random(), self.cap)
        return max(wait, retry_after or 0.0)


# Read at call time, so tests (and deployments) can swap in another bound or a fake clock.
BACKOFF = Backoff()


@dataclass(frozen=True)
class GoogleError:
    """What a Google error body says: ``{"error": {"code", "message", "errors": [{"reason",
    "location"}], "details": [{"reason"}]}}``."""

    reasons: frozenset[str]
    message: str
    locations: frozenset[str]


def google_error(response: requests.Response) -> GoogleError:
    """Parse an error answer; an unreadable body gives an empty error rather than failing."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GoogleError(frozenset(), "", frozenset())
    entries = [e for e in (error.get("errors") or []) if isinstance(e, dict)]
    entries += [d for d in (error.get("details") or []) if isinstance(d, dict)]
    reasons = {str(e["reason"]) for e in entries if e.get("reason")}
    # The newer error format spells reasons in upper case (RATE_LIMIT_EXCEEDED).
    if "RATE_LIMIT_EXCEEDED" in reasons:
        reasons.add("rateLimitExceeded")
    locations = {str(e["location"]) for e in entries if e.get("location")}
    message = str(error.get("message") or "")[:300]
    return GoogleError(frozenset(reasons), message, frozenset(locations))


def is_rate_limited(response: requests.Response) -> bool:
    """A ``429``, or a ``403`` whose reason is a (per-user or per-project) rate limit."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and bool(google_error(response).reasons & RATE_LIMIT_REASONS)


def file_path(file_id: str, suffix: str = "") -> str:
    """The API path of one file, its id quoted so that it stays one path segment; an id that
    could leave ``/files/`` in any reading (``..``, SECURITY 33) is refused with a 400."""
    return f"/files/{quote(check_path(file_id, 'itemId'), safe='')}{suffix}"


def drive_path(drive_id: str) -> str:
    """The API path of one shared drive, checked and quoted as :func:`file_path` does."""
    return f"/drives/{quote(check_path(drive_id, 'driveId'), safe='')}"


def call(
    ctx: ProviderContext,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
    backoff: Backoff | None = None,
) -> requests.Response:
    """``GET`` ``path`` under the Drive API, retrying rate limits and outages within the bound.

    :param ctx: the authenticated session to Google.
    :param path: the path below ``/drive/v3`` (e.g. ``/files``).
    :param params: the query parameters.
    :param headers: extra request headers (e.g. ``Range``).
    :param stream: leave the body unread, for downloads.
    :param backoff: the retry policy; by default :data:`BACKOFF`.
    :return: the last response, whatever its status: pass it to :func:`check`.
    """
    url = ctx.url("drive", DRIVE + path)
    return call_url(ctx, url, params=params, headers=headers, stream=stream, backoff=backoff)


def call_url(
    ctx: ProviderContext,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
    backoff: Backoff | None = None,
) -> requests.Response:
    """``GET`` an absolute ``url`` with the account's token, retried as :func:`call` does.

    Only for URLs the caller has checked may carry the token: Drive's own, or an export link
    that :func:`hub_google.links.checked_link` accepted.

    :return: the last response, whatever its status: pass it to :func:`check`.
    """
    policy = backoff or BACKOFF
    path = urlsplit(url).path  # for the log: the query may hold ids the log need not keep
    attempt = 0
    while True:
        response = ctx.request(
            "GET",
            url,
            params=dict(params or {}),
            headers=dict(headers or {}),
            stream=stream,
            retry=False,  # the retries are ours: Google wants backoff with jitter, and 403s too
        )
        if response.status_code not in RETRY_STATUSES and not is_rate_limited(response):
            return response
        wait = policy.delay(attempt, _retry_after(response))
        if wait is None:
            return response
        log.info(
            "Google Drive answered %s on %s; retry %d in %.2fs",
            response.status_code,
            path,
            attempt + 1,
            wait,
        )
        response.close()
        (policy.sleep or ctx.sleep)(wait)
        attempt += 1


def check(ctx: ProviderContext, response: requests.Response) -> requests.Response:
    """Return a successful response; raise the hub error for a failed one (closing it)."""
    if response.status_code < 400:
        return response
    error = failure(ctx, response)
    response.close()
    raise error


def get_json(ctx: ProviderContext, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET`` ``path`` and return its JSON object; a clear error for anything else."""
    response = check(ctx, call(ctx, path, params=params))
    try:
        data = response.json()
    except ValueError:
        raise UpstreamFailed(f"{ctx.name} did not answer JSON") from None
    if not isinstance(data, dict):
        raise UpstreamFailed(f"{ctx.name} answered a JSON {type(data).__name__}, not an object")
    return data


def failure(ctx: ProviderContext, response: requests.Response) -> HubError:
    """The hub's error for a failed Drive answer, with Google's reason where it helps."""
    status = response.status_code
    error = google_error(response)
    said = f": {error.message}" if error.message else ""
    if is_rate_limited(response) or (status == 403 and error.reasons & QUOTA_REASONS):
        reason = ", ".join(sorted(error.reasons)) or "too many requests"
        retry_after = _retry_after(response)
        return RateLimited(
            f"{ctx.name} is rate limiting requests ({reason}); try again in a minute",
            retry_after=None if retry_after is None else round(retry_after),
        )
    if status == 403 and EXPORT_TOO_LARGE in error.reasons:
        return Forbidden(
            f"{ctx.name} exports files of at most 10 MB through files.export and this one is "
            "larger, and the file offers no export link for this format: download it in another "
            "format, or from Google Drive itself",
            code="export_too_large",
        )
    if status == 403:
        return Forbidden(f"{ctx.name} refused access{said}")
    if status == 404:
        return NotFound(f"{ctx.name} has no such file or folder, or this account cannot see it")
    if status == 416:
        return ValidationError(
            f"{ctx.name} cannot serve that range of the file",
            fields={"range": "not satisfiable"},
            code="range_not_satisfiable",
        )
    if status == 400 and "pageToken" in error.locations:
        return ValidationError(
            "the cursor is not valid (any more): start again from the first page",
            fields={"cursor": "invalid"},
        )
    if status == 400:
        return UpstreamFailed(f"{ctx.name} refused the request{said}")
    return error_for(ctx.name, response)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
