"""Calls from the hub to providers: address checks at call time, bounded time, no redirects
followed, and failures turned into the hub's errors naming the provider."""

from __future__ import annotations

import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from flask import current_app
from requests.structures import CaseInsensitiveDict

from hub.errors import UpstreamFailed, UpstreamTimeout, ValidationError
from hub.netguard import check_url

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


_local = threading.local()


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
        _local.session = http
    return http


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
    **kwargs: object,
) -> requests.Response:
    """Send one request to a provider; raise :class:`UpstreamFailed` / :class:`UpstreamTimeout`.

    The URL is checked again here (the host may resolve elsewhere than when it was saved), and
    redirects are returned, never followed: credentials must not travel to another origin.
    """
    try:
        check_url(url, "url", allow_private=current_app.config["ALLOW_PRIVATE_ADDRESSES"])
    except ValidationError as exc:
        raise UpstreamFailed(f"the hub refuses to call {provider} there: {exc.message}") from None
    client = http or session()
    try:
        if not _plain(client, kwargs):
            return client.request(
                method, url, timeout=timeout, allow_redirects=False, stream=stream, **kwargs
            )
        return client.send(
            _prepare(client, method, url, kwargs),
            timeout=timeout,
            allow_redirects=False,
            stream=stream,
        )
    except requests.Timeout:
        raise UpstreamTimeout(f"{provider} did not answer in time") from None
    except requests.RequestException as exc:
        raise UpstreamFailed(f"could not reach {provider}: {type(exc).__name__}") from None
