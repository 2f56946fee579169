"""Calls from the hub to providers: address checks at call time, bounded time, no redirects
followed, and failures turned into the hub's errors naming the provider."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from contextvars import ContextVar
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity, get_encoding_from_headers, requote_uri
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.util import Timeout, parse_url

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
# What the direct path (:func:`_direct`) sends itself: headers and a body of bytes.
DIRECT_ARGUMENTS = frozenset({"headers", "data"})
NO_BODY_METHODS = frozenset({"GET", "HEAD"})
HTTP_SCHEMES = ("http://", "https://")


def _plain(client: requests.Session, kwargs: dict[str, Any]) -> bool:
    """Whether ``client`` has nothing but default headers to merge into a request, as the
    sessions of :func:`session` have (no cookies kept, no environment read)."""
    return (
        not client.trust_env
        and not client.cookies
        and client.auth is None
        and not client.params
        and not client.proxies
        and not any(client.hooks.values())
        and kwargs.keys() <= REQUEST_ARGUMENTS
    )


def _headers(client: requests.Session, call: dict[str, str | None] | None) -> CaseInsensitiveDict:
    """The session's default headers, overridden or removed (``None``) by the call's."""
    headers = CaseInsensitiveDict(client.headers)
    for name, value in (call or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def _prepare(
    client: requests.Session, method: str, url: str, kwargs: dict[str, Any]
) -> requests.PreparedRequest:
    """The request ``client.request`` would send, without its merging of session settings
    (cookie jars, parameters, hooks, environment: about a tenth of a provider call's CPU) that
    a plain session (:func:`_plain`) does not need."""
    headers = _headers(client, kwargs.get("headers"))
    return requests.Request(method, url, **{**kwargs, "headers": headers}).prepare()


# The module of requests' own Session.send (a test's requests-mock replaces it).
_SESSIONS = requests.Session.send.__module__


def _pinned(client: requests.Session, url: str) -> PinnedAdapter | None:
    """The hub's pinned adapter that will carry a call to ``url`` (its connections check the
    address as they open), or ``None``: a ``send`` that is not requests' own (requests-mock),
    or another adapter mounted there, which then answers for itself."""
    if type(client).send.__module__ != _SESSIONS or not url.lower().startswith(HTTP_SCHEMES):
        return None
    adapter = client.get_adapter(url)
    return adapter if type(adapter) is PinnedAdapter else None


def _direct_call(url: str, kwargs: dict[str, Any]) -> bool:
    """Whether :func:`_direct` can send this call as requests would: headers and a body of
    bytes only, to an ASCII URL (requests encodes a non-ASCII host name)."""
    data = kwargs.get("data")
    return (
        kwargs.keys() <= DIRECT_ARGUMENTS
        and (data is None or isinstance(data, bytes))
        and url.isascii()
    )


def _direct(
    client: requests.Session,
    adapter: PinnedAdapter,
    method: str,
    url: str,
    timeout: tuple[float, float],
    stream: bool,
    kwargs: dict[str, Any],
) -> requests.Response:
    """Send with urllib3 through ``adapter``'s pools what requests would send, and answer as
    requests would: the same URL normalisation and quoting, header checks (no CR, LF or leading
    white space), ``Content-Length``, TLS settings (``client.verify``, ``client.cert``), pinned
    connections and retries, and urllib3's failures raised as requests' exceptions. What it
    leaves out is requests' per-call preparation and session merging, which on a kept-alive
    connection cost as much as the call itself."""
    request = requests.PreparedRequest()
    request.method = method
    parts = parse_url(url)
    request.url = requote_uri(parts._replace(path=parts.path or "/", fragment=None).url)
    request.headers = headers = _headers(client, kwargs.get("headers"))
    for header in headers.items():
        check_header_validity(header)
    request.body = body = kwargs.get("data") or None
    if body is not None:
        headers["Content-Length"] = str(len(body))
    elif method not in NO_BODY_METHODS and headers.get("Content-Length") is None:
        headers["Content-Length"] = "0"
    started = time.perf_counter()
    try:
        pool = adapter.get_connection_with_tls_context(request, client.verify, cert=client.cert)
        raw = pool.urlopen(
            method,
            request.path_url,
            body=body,
            headers=headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=adapter.max_retries,
            timeout=Timeout(connect=timeout[0], read=timeout[1]),
            chunked=False,
        )
    except (u3.HTTPError, OSError) as exc:
        raise _as_requests_error(exc, request) from exc
    response = requests.Response()
    response.status_code = raw.status
    response.headers = CaseInsensitiveDict(raw.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.reason = raw.reason
    response.raw = raw
    response.url = request.url
    response.request = request
    response.connection = adapter
    response.elapsed = dt.timedelta(seconds=time.perf_counter() - started)
    if "set-cookie" in raw.headers:  # the answer's own cookies, as requests reads them
        extract_cookies_to_jar(response.cookies, request, raw)
    if not stream:
        response.content  # noqa: B018 (read now, as requests does; errors raised here)
    return response


def _as_requests_error(
    exc: u3.HTTPError | OSError, request: requests.PreparedRequest
) -> requests.RequestException:
    """urllib3's exception as requests' adapter raises it, so both paths fail alike."""
    if isinstance(exc, ProtocolError | OSError | u3.ClosedPoolError):
        return requests.ConnectionError(exc, request=request)
    if isinstance(exc, u3.MaxRetryError):
        reason = exc.reason
        if isinstance(reason, u3.ConnectTimeoutError) and not isinstance(
            reason, NewConnectionError
        ):
            return requests.ConnectTimeout(exc, request=request)
        if isinstance(reason, u3.ResponseError):
            return requests.exceptions.RetryError(exc, request=request)
        if isinstance(reason, u3.SSLError):
            return requests.exceptions.SSLError(exc, request=request)
        return requests.ConnectionError(exc, request=request)
    if isinstance(exc, u3.SSLError):
        return requests.exceptions.SSLError(exc, request=request)
    if isinstance(exc, u3.ReadTimeoutError):
        return requests.ReadTimeout(exc, request=request)
    if isinstance(exc, u3.InvalidHeader):
        return requests.exceptions.InvalidHeader(exc, request=request)
    return requests.RequestException(exc, request=request)


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
    client = http or session()
    pinned = _pinned(client, url)
    # Over https through a pinned connection the addresses are checked when it opens; plain
    # http is allowed only to non-public hosts, which their addresses decide, so it resolves now.
    resolve = _resolved_at_connect if pinned and url[:8].lower() == "https://" else None
    try:
        check_url(url, "url", allow_private=allow_private, resolve=resolve)
    except ValidationError as exc:
        raise UpstreamFailed(f"the hub refuses to call {provider} there: {exc.message}") from None
    rule = _connect_rule.set(allow_private)
    try:
        try:
            return _send(client, pinned, method, url, timeout, stream, kwargs)
        except requests.ConnectionError as exc:
            # A kept-alive connection the provider closed as the request arrived (its idle
            # timeout): the request may not have been read, and the pool has dropped that
            # connection, so a method that may be sent twice goes once more on a new one.
            body = kwargs.get("data")
            resendable = body is None or isinstance(body, bytes | str | dict | list | tuple)
            if not idempotent or not resendable or not _dropped(exc):
                raise
            return _send(client, pinned, method, url, timeout, stream, kwargs)
    except requests.Timeout:
        raise UpstreamTimeout(f"{provider} did not answer in time") from None
    except requests.RequestException as exc:
        refused = _refusal(exc)
        if refused is not None:
            raise UpstreamFailed(f"the hub refuses to call {provider} there: {refused}") from None
        raise UpstreamFailed(f"could not reach {provider}: {type(exc).__name__}") from None
    finally:
        _connect_rule.reset(rule)


def _resolved_at_connect(host: str) -> list[str]:
    """No addresses at call time: a pinned connection resolves the name and checks every
    address when it opens (:func:`hub.netguard.connect_address`, the same rule), and a
    kept-alive one stays with the address checked then. Resolving again on every call only
    added a DNS lookup to each provider call."""
    return []


def _send(
    client: requests.Session,
    pinned: PinnedAdapter | None,
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
    if pinned is not None and _direct_call(url, kwargs):
        return _direct(client, pinned, method, url, timeout, stream, kwargs)
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
