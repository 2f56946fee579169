"""The authenticated session to a provider that services' operations and the proxy use."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from hub.addresses import endpoints_of, origin, setting_values
from hub.db import isoformat
from hub.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    HubError,
    NotFound,
    RangeNotSatisfiable,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    UpstreamTimeout,
)
from hub.headers import refuse_header_name
from hub.integrations import expanded_headers
from hub.models import Connection, Integration, User
from hub.providers import Provider
from hub.tokens import access_token, ensure_fresh
from hub.transport import IDEMPOTENT, send, session

RETRY_STATUSES = frozenset({429, 503})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
MAX_RETRIES = 2
MAX_RETRY_AFTER = 10.0  # seconds: longer waits are the caller's to decide, not a held worker's


def unambiguous(url: str) -> bool:
    """A URL every parser reads with the same host: absolute http(s), without user information,
    backslashes, white space or control characters (``https://a.example@b.example`` goes to
    ``b.example``)."""
    if not isinstance(url, str) or "\\" in url:
        return False
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and ("@" not in parts.netloc)
    )


def https_under(url: str, domains: Iterable[str]) -> bool:
    """Whether ``url`` is https on the default port to one of ``domains`` or a subdomain of one
    (``files.1drv.com`` under ``1drv.com``): an allow-list for :meth:`ProviderContext.follow`."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() != "https" or port not in (None, 443):
        return False
    host = (parts.hostname or "").rstrip(".")  # lower case already
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    return origin(first) == origin(second)


def anywhere(url: str) -> bool:
    """For :meth:`ProviderContext.follow`: any origin (the hub's address rules still apply)."""
    return True


def pause(seconds: float) -> None:
    """How a context waits unless told otherwise (a test's fake clock replaces this)."""
    time.sleep(seconds)


def retry_after(response: requests.Response, attempt: int) -> float | None:
    """Seconds to wait before retrying, from ``Retry-After`` (seconds or an HTTP date), else a
    short exponential back-off; ``None`` when the wait would exceed the bound."""
    value = response.headers.get("Retry-After")
    if value is None:
        return min(0.25 * 2**attempt, MAX_RETRY_AFTER)
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    seconds = max(seconds, 0.0)
    return seconds if seconds <= MAX_RETRY_AFTER else None


def error_for(provider: str, response: requests.Response) -> HubError:
    """The hub's error for a provider's failed answer: the one place statuses are mapped."""
    status = response.status_code
    if status == 401:
        return ReauthRequired(f"{provider} no longer accepts this connection: connect again")
    if status == 403:
        return Forbidden(f"{provider} refused access to this")
    if status == 404:
        return NotFound(f"{provider} has no such item")
    if status == 429:
        wait = response.headers.get("Retry-After")
        seconds = int(wait) if wait and wait.isdigit() else None
        return RateLimited(
            f"{provider} is rate limiting requests; try again later", retry_after=seconds
        )
    if status == 416:
        headers = (
            {"Content-Range": response.headers["Content-Range"]}
            if "Content-Range" in response.headers
            else None
        )
        return RangeNotSatisfiable(
            f"the range asked for lies outside the file at {provider}", headers=headers
        )
    if status in (408, 504):
        return UpstreamTimeout(f"{provider} did not answer in time")
    return UpstreamFailed(f"{provider} answered {status}")


class ProviderContext:
    """An integration's authenticated session to its provider, for one user.

    Adds the credentials (refreshing an OAuth token ahead of expiry, and once more after a 401),
    the integration's expanded header templates, retries idempotent requests on 429/503 within a
    bound, and checks every URL before calling it.
    """

    def __init__(
        self,
        provider: Provider,
        integration: Integration,
        connection: Connection | None,
        user: User | None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.provider = provider
        self.integration = integration
        self.connection = connection
        self.user = user
        self.settings: dict[str, Any] = setting_values(provider, integration)
        self.endpoints: dict[str, str] = endpoints_of(provider, integration)
        self.http = session()
        # The caller's query parameters for the operation (e.g. a download's ``format``).
        self.options: dict[str, str] = {}
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self.provider.display_name

    def url(self, endpoint: str, path: str = "") -> str:
        """``path`` under the named endpoint's base URL (``settings.endpoints`` applied)."""
        base = self.endpoints.get(endpoint)
        if base is None:
            known = endpoint in self.provider.endpoints
            raise ConfigurationError(
                f"{self.integration.name} has no address for {self.name}'s {endpoint!r} endpoint"
                + (": fill in its settings" if known else "")
            )
        return base + path

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        retry: bool = True,
        retry_on: frozenset[int] = RETRY_STATUSES,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send an authenticated request; the response is returned whatever its status.

        - A ``401`` on an OAuth2 connection refreshes the token (or takes the one another
          worker just got) and sends the request once more, whatever the method: the provider
          refused it before acting on it.
        - An idempotent request answered with a status in ``retry_on`` (default ``429`` and
          ``503``) is sent again up to twice, after ``Retry-After`` (at most 10 seconds; a
          longer wait returns the response at once) or a short back-off. ``retry=False``
          turns this off.
        - Idempotent means ``GET``, ``HEAD``, ``OPTIONS``, ``PUT``, ``DELETE`` and
          ``PROPFIND`` unless ``idempotent`` says otherwise: pass ``idempotent=True`` for a
          POST that only reads (Dropbox's ``list_folder``, a Graph search), ``False`` for a
          GET that changes something. An idempotent request is also sent again once when a
          kept-alive connection was closed under it.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT
        refreshed = False
        attempt = 0
        while True:
            send_headers = expanded_headers(self.integration, self.user, self.connection)
            send_headers.update(headers or {})
            auth_kwargs = self._credentials(send_headers, kwargs.get("params"))
            response = send(
                method,
                url,
                provider=self.name,
                http=self.http,
                headers=send_headers,
                stream=stream,
                idempotent=idempotent,
                **{**kwargs, **auth_kwargs},
            )
            if response.status_code == 401 and self._can_refresh() and not refreshed:
                response.close()
                self._replace_refused_token()
                refreshed = True
                continue
            if retry and idempotent and response.status_code in retry_on and attempt < MAX_RETRIES:
                wait = retry_after(response, attempt)
                if wait is not None:
                    response.close()
                    self.sleep(wait)
                    attempt += 1
                    continue
            return response

    def follow(
        self,
        response: requests.Response,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        elsewhere: Callable[[str], bool] = lambda url: False,
        resend: Callable[[str], requests.Response] | None = None,
        limit: int = MAX_REDIRECTS,
    ) -> requests.Response:
        """Follow a provider's redirects from ``response`` (the answer to a GET of ``url``) the
        way the hub allows (SECURITY 17): on the same origin with the credentials (``resend``,
        by default :meth:`request`), to another origin only where ``elsewhere(url)`` says and
        **without** the credentials or the integration's headers — a pre-signed download URL
        carries its own authority — and at most ``limit`` times. ``headers`` (a ``Range``) go
        with every hop. A redirect elsewhere, an ambiguous URL or one hop too many raises
        :class:`UpstreamFailed` before anything is sent there.

        :return: the first answer that is not a redirect, whatever its status.
        """
        sent = dict(headers or {})
        again = resend or (lambda target: self.request("GET", target, headers=sent, stream=True))
        for _ in range(limit):
            if response.status_code not in REDIRECTS:
                return response
            target = urljoin(url, response.headers.get("Location") or "")
            response.close()
            if not unambiguous(target):
                raise UpstreamFailed(f"{self.name} redirected to an address the hub cannot read")
            if same_origin(target, url):
                response = again(target)
            elif elsewhere(target):
                response = send(
                    "GET", target, provider=self.name, http=session(), headers=sent, stream=True
                )
            else:
                host = urlsplit(target).hostname
                raise UpstreamFailed(
                    f"{self.name} redirected to {host}, where the hub does not follow it"
                )
            url = target
        if response.status_code not in REDIRECTS:
            return response
        response.close()
        raise UpstreamFailed(f"{self.name} redirected more than {limit} times")

    def sleep(self, seconds: float) -> None:
        """Wait between retries (tests replace the clock through the constructor or
        ``hub.context.time.sleep``); operations that back off themselves should use it."""
        (self._sleep or pause)(seconds)

    def get_json(self, endpoint: str, path: str, **kwargs: Any) -> Any:
        """GET ``path`` under ``endpoint`` and return its JSON; map failures to hub errors."""
        response = self.check(self.request("GET", self.url(endpoint, path), **kwargs))
        try:
            return response.json()
        except ValueError:
            raise UpstreamFailed(f"{self.name} did not answer JSON") from None

    def check(self, response: requests.Response) -> requests.Response:
        """Return a successful response; raise the mapped hub error otherwise."""
        if response.status_code >= 400:
            response.close()
            raise error_for(self.name, response)
        return response

    # -- credentials ---------------------------------------------------------------------

    def _can_refresh(self) -> bool:
        """Whether a 401 goes to :meth:`_replace_refused_token`: any stored OAuth2 connection
        (one without a refresh token then needs re-authorisation, with that reason)."""
        return self.integration.auth_type == "oauth2" and self.connection is not None

    def _replace_refused_token(self) -> None:
        """The provider refused the token ``self.connection`` holds: refresh it, unless another
        worker has replaced it meanwhile (then use theirs)."""
        assert self.connection is not None
        self.connection = ensure_fresh(
            self.provider, self.integration, self.connection, replace=True, refused=True
        )

    def _credentials(self, headers: dict[str, str], params: Any) -> dict[str, Any]:
        auth_type = self.integration.auth_type
        if auth_type == "oauth2":
            headers["Authorization"] = f"Bearer {self._access_token()}"
            return {}
        values = self._credential_values()
        if auth_type == "bearer":
            headers["Authorization"] = f"Bearer {values['token']}"
        elif auth_type == "basic":
            # UTF-8 (RFC 7617): requests would otherwise encode text as Latin-1, or fail.
            return {"auth": (values["username"].encode(), values["password"].encode())}
        elif auth_type == "apikey":
            query_name = self.settings.get("apiKeyQuery")
            if query_name:
                merged = dict(params or {})
                merged[query_name] = values["apiKey"]
                return {"params": merged}
            name = self.settings.get("apiKeyHeader") or "X-Api-Key"
            refuse_header_name(name)  # a value saved before the rule, or a changed rule
            headers[name] = values["apiKey"]
        return {}

    def exported_credentials(self) -> dict[str, Any]:
        """What a backend needs to call the provider itself with this connection: a fresh
        access token (refreshed first when due, through :func:`ensure_fresh`) with its type,
        expiry and scope, or the stored API key, basic or bearer credential and where it goes.
        Never the refresh token: the hub keeps refreshing. For :mod:`hub.credential_export`
        only, which decides who may have it."""
        auth_type = self.integration.auth_type
        if auth_type == "oauth2":
            token = self._access_token()
            assert self.connection is not None
            return {
                "type": "oauth2",
                "accessToken": token,
                "tokenType": self.connection.token_type or "Bearer",
                "expiresAt": isoformat(self.connection.expires_at),
                "scope": self.connection.scope,
            }
        values = self._credential_values()
        if auth_type == "apikey":
            query_name = self.settings.get("apiKeyQuery")
            place = (
                {"in": "query", "name": query_name}
                if query_name
                else {"in": "header", "name": self.settings.get("apiKeyHeader") or "X-Api-Key"}
            )
            return {"type": "apikey", "apiKey": values["apiKey"], **place}
        if auth_type == "basic":
            return {"type": "basic", "username": values["username"], "password": values["password"]}
        return {"type": "bearer", "token": values["token"]}

    def _connected(self) -> Connection:
        if self.connection is None or self.connection.status == "not_connected":
            raise Conflict(
                f"{self.integration.name} is not connected: connect it first",
                code="not_connected",
            )
        return self.connection

    def _access_token(self) -> str:
        self.connection = ensure_fresh(self.provider, self.integration, self._connected())
        return access_token(self.connection).reveal()

    def _credential_values(self) -> dict[str, str]:
        secret = self._connected().get_secret("credentials")
        if secret is None:
            raise Conflict(
                f"{self.integration.name} has no credentials: set them again",
                code="not_connected",
            )
        return json.loads(secret.reveal())


class TransientContext(ProviderContext):
    """A context for an integration that is not saved (a preview): credentials given in the
    request, used once, stored nowhere, never refreshed."""

    def __init__(
        self,
        provider: Provider,
        integration: Integration,
        user: User,
        values: dict[str, Any],
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(provider, integration, None, user, sleep=sleep)
        self._values = values

    def _can_refresh(self) -> bool:
        return False

    def _access_token(self) -> str:
        return str(self._values["accessToken"])

    def _credential_values(self) -> dict[str, str]:
        return self._values
