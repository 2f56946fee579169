"""Export links: a native file converted through the URLs its metadata lists (``exportLinks``).

``files.export`` refuses anything over 10 MB (``403 exportSizeLimitExceeded``, and large PDFs
sometimes fail with 500s instead). The links in a file's ``exportLinks`` (MIME type → URL, on
``docs.google.com`` for Docs Editors files) serve the same conversions without that limit, and
they come with the metadata a download reads anyway: exporting through them costs no more calls
than ``files.export`` does, and big files work. rclone downloads every Google document this way.

Those URLs come from an answer, not from the hub's configuration, so the account's token goes to
one only when it is Google's (https, a host under ``google.com`` or ``googleapis.com``), or when
it shares the origin of the integration's Drive endpoint (a proxy or test server that an
administrator configured, and that receives the token anyway). Any other link is refused before
a request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from hub.addresses import origin
from hub.context import ProviderContext
from hub.errors import UpstreamFailed
from hub.transport import send
from hub_google import api
from hub_google.exports import Format

GOOGLE_DOMAINS = ("google.com", "googleapis.com")
# Where an export may be redirected: Google's hosts, and the user-content host that serves
# downloads from signed URLs (the token is not sent there: the URL itself grants access).
REDIRECT_DOMAINS = (*GOOGLE_DOMAINS, "googleusercontent.com")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3


def export_link(ctx: ProviderContext, meta: Mapping[str, Any], chosen: Format) -> str | None:
    """The file's export link for ``chosen``, or ``None`` when its metadata lists none.

    :raises UpstreamFailed: when the link points somewhere the token must not go; nothing has
        been sent there.
    """
    links = meta.get("exportLinks")
    url = links.get(chosen.mime_type) if isinstance(links, dict) else None
    if not isinstance(url, str) or not url:
        return None
    if not may_carry_token(ctx, url):
        raise UpstreamFailed(
            f"{ctx.name} gave an export link to {_host(url)}, which is neither a Google host nor "
            "the integration's Drive endpoint: the hub does not send the account's token there"
        )
    return url


def may_carry_token(ctx: ProviderContext, url: str) -> bool:
    """Whether the account's token may be sent to ``url``: a Google host over https, or the
    origin of the integration's own Drive endpoint."""
    if not _unambiguous(url):
        return False
    return is_google_host(url, GOOGLE_DOMAINS) or origin(url) == origin(ctx.url("drive"))


def is_google_host(url: str, domains: tuple[str, ...]) -> bool:
    """Whether ``url`` is https on the default port to one of ``domains`` or a subdomain."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() != "https" or port not in (None, 443):
        return False
    host = (parts.hostname or "").rstrip(".")  # already lower case
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def fetch(ctx: ProviderContext, url: str, headers: Mapping[str, str]) -> requests.Response:
    """``GET`` an export link with the account's token (retried as Drive calls are), following
    Google's redirects: on the link's own origin with the token, to another Google host
    without it.

    :return: the final response, whatever its status: pass it to :func:`hub_google.api.check`.
    :raises UpstreamFailed: for a redirect elsewhere, or too many of them.
    """
    response = api.call_url(ctx, url, headers=headers, stream=True)
    for _ in range(MAX_REDIRECTS):
        if response.status_code not in REDIRECT_STATUSES:
            return response
        target = urljoin(url, response.headers.get("Location", ""))
        response.close()
        if _unambiguous(target) and origin(target) == origin(url):
            response = api.call_url(ctx, target, headers=headers, stream=True)
        elif _unambiguous(target) and is_google_host(target, REDIRECT_DOMAINS):
            response = send(
                "GET", target, provider=ctx.name, http=ctx.http, headers=dict(headers), stream=True
            )
        else:
            raise UpstreamFailed(
                f"{ctx.name} redirected an export to {_host(target)}, which is not a Google "
                "host: the hub does not follow it"
            )
        url = target
    if response.status_code in REDIRECT_STATUSES:
        response.close()
        raise UpstreamFailed(f"{ctx.name} redirected an export more than {MAX_REDIRECTS} times")
    return response


def _unambiguous(url: str) -> bool:
    """A URL that every parser reads with the same host: absolute http(s), without user
    information, backslashes, white space or control characters (``https://docs.google.com@x``
    goes to ``x``)."""
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


def _host(url: str) -> str:
    """The host of ``url`` for a message (never the query, which may carry ids)."""
    try:
        return repr(urlsplit(url).hostname or url[:60])
    except ValueError:
        return repr(url[:60])
