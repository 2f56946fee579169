"""Calls from the hub to providers: address checks at call time, bounded time, no redirects
followed, and failures turned into the hub's errors naming the provider."""

from __future__ import annotations

import threading
from http.cookiejar import DefaultCookiePolicy

import requests
from flask import current_app

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
        return client.request(
            method, url, timeout=timeout, allow_redirects=False, stream=stream, **kwargs
        )
    except requests.Timeout:
        raise UpstreamTimeout(f"{provider} did not answer in time") from None
    except requests.RequestException as exc:
        raise UpstreamFailed(f"could not reach {provider}: {type(exc).__name__}") from None
