"""Calls from the hub to providers: address checks at call time, bounded time, no redirects
followed, and failures turned into the hub's errors naming the provider."""

from __future__ import annotations

import socket
import threading
from contextvars import ContextVar
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError, ProtocolError

from hub.errors import UpstreamFailed, UpstreamTimeout, ValidationError
from hub.netguard import AllowPrivate, check_url, connect_address

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


_local = threading.local()

# -- connections opened to the address that was checked ------------------------------------------

# The rule for the connections the current provider call opens (HUB_ALLOW_PRIVATE_ADDRESSES),
# set by send(); None outside it (then connections are opened as requests opens them).
_connect_rule: ContextVar[AllowPrivate | None] = ContextVar("hub_connect_rule", default=None)


class AddressRefused(NewConnectionError):
    """A connection the hub would not open: the host resolved to an address it does not allow."""

    def __init__(self, conn: HTTPConnection, reason: str) -> None:
        super().__init__(conn, f"refused: {reason}")
        self.refusal = reason


class _Pinned:
    """A connection that resolves its host once, checks the addresses, and connects to the one
    it checked (TLS still verifies the certificate for the host name, and ``Host`` names it)."""

    host: str
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        rule = _connect_rule.get()
        if rule is None or rule is True:
            return super()._new_conn()  # type: ignore[misc]
        try:
            address = connect_address(self._dns_host, rule)
        except ValidationError as exc:
            raise AddressRefused(self, exc.message) from None  # type: ignore[arg-type]
        name, self._dns_host = self._dns_host, address
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = name


class _PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """requests' adapter, with connections that go only to addresses the hub allows."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPPool,
            "https": _PinnedHTTPSPool,
        }


def session() -> requests.Session:
    """This thread's session to providers: connections are kept alive between requests (no
    new TCP and TLS handshake per call), cookies are never kept (one user's provider cookies
    must not reach another's requests), and the environment's proxy and netrc settings are
    ignored (credentials go exactly where the integration says)."""
    http = getattr(_local, "session", None)
    if http is None:
        http = requests.Session()
        http.trust_env = False
        http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        http.mount("http://", PinnedAdapter())
        http.mount("https://", PinnedAdapter())
        _local.session = http
    return http


#: Methods that may be sent twice: retried once when a kept-alive connection was dropped.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PROPFIND"})

# What requests.Request takes; anything else goes the usual way through Session.request.
REQUEST_ARGUMENTS = frozenset({"headers", "params", "data", "json", "files", "auth", "cookies"})


def _plain(client: requests.Session, kwargs: dict[str, Any]) -> bool:
    """Whether ``client`` has nothing but default headers to merge into a request, as the
    sessions of :func:`session` have (no cookies kept, no environment read)."""
    return (
        not client.trust_env
        and not client.cookies
        and client.auth is None
        and not client.params
        and not any(client.hooks.values())
        and kwargs.keys() <= REQUEST_ARGUMENTS
    )


def _prepare(
    client: requests.Session, method: str, url: str, kwargs: dict[str, Any]
) -> requests.PreparedRequest:
    """The request ``client.request`` would send, without its merging of session settings
    (cookie jars, parameters, hooks, environment: about a tenth of a provider call's CPU) that
    a plain session (:func:`_plain`) does not need: its default headers, overridden or removed
    (``None``) by the call's."""
    headers = CaseInsensitiveDict(client.headers)
    for name, value in (kwargs.get("headers") or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return requests.Request(method, url, **{**kwargs, "headers": headers}).prepare()


def send(
    method: str,
    url: str,
    *,
    provider: str,
    http: requests.Session | None = None,
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    stream: bool = False,
    idempotent: bool | None = None,
    **kwargs: object,
) -> requests.Response:
    """Send one request to a provider; raise :class:`UpstreamFailed` / :class:`UpstreamTimeout`.

    The URL is checked again here (the host may resolve elsewhere than when it was saved), and
    redirects are returned, never followed: credentials must not travel to another origin.
    ``idempotent`` says whether the request may be sent twice (``None``: as its method says,
    :data:`IDEMPOTENT`); only such a request is resent on a dropped kept-alive connection.
    """
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT
    allow_private = current_app.config["ALLOW_PRIVATE_ADDRESSES"]
    try:
        check_url(url, "url", allow_private=allow_private)
    except ValidationError as exc:
        raise UpstreamFailed(f"the hub refuses to call {provider} there: {exc.message}") from None
    client = http or session()
    rule = _connect_rule.set(allow_private)
    try:
        try:
            return _send(client, method, url, timeout, stream, kwargs)
        except requests.ConnectionError as exc:
            # A kept-alive connection the provider closed as the request arrived (its idle
            # timeout): the request may not have been read, and the pool has dropped that
            # connection, so a method that may be sent twice goes once more on a new one.
            body = kwargs.get("data")
            resendable = body is None or isinstance(body, bytes | str | dict | list | tuple)
            if not idempotent or not resendable or not _dropped(exc):
                raise
            return _send(client, method, url, timeout, stream, kwargs)
    except requests.Timeout:
        raise UpstreamTimeout(f"{provider} did not answer in time") from None
    except requests.RequestException as exc:
        refused = _refusal(exc)
        if refused is not None:
            raise UpstreamFailed(f"the hub refuses to call {provider} there: {refused}") from None
        raise UpstreamFailed(f"could not reach {provider}: {type(exc).__name__}") from None
    finally:
        _connect_rule.reset(rule)


def _send(
    client: requests.Session,
    method: str,
    url: str,
    timeout: tuple[float, float],
    stream: bool,
    kwargs: dict[str, Any],
) -> requests.Response:
    if not _plain(client, kwargs):
        return client.request(
            method, url, timeout=timeout, allow_redirects=False, stream=stream, **kwargs
        )
    return client.send(
        _prepare(client, method, url, kwargs), timeout=timeout, allow_redirects=False, stream=stream
    )


def _dropped(exc: requests.ConnectionError) -> bool:
    """Whether the connection broke after it was open (not a refused or failed connect)."""
    return bool(exc.args) and isinstance(exc.args[0], ProtocolError)


def _refusal(exc: requests.RequestException) -> str | None:
    """Why a connection was refused by the address check at connect time, if it was."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return reason.refusal if isinstance(reason, AddressRefused) else None
