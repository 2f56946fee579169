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
from urllib.parse import urlsplit

import requests

from hub.addresses import origin
from hub.context import ProviderContext, https_under, unambiguous
from hub.errors import UpstreamFailed
from hub_google import api
from hub_google.exports import Format

GOOGLE_DOMAINS = ("google.com", "googleapis.com")
# Where an export may be redirected: Google's hosts, and the user-content host that serves
# downloads from signed URLs (the token is not sent there: the URL itself grants access).
REDIRECT_DOMAINS = (*GOOGLE_DOMAINS, "googleusercontent.com")
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
    if not unambiguous(url):
        return False
    return is_google_host(url, GOOGLE_DOMAINS) or origin(url) == origin(ctx.url("drive"))


def is_google_host(url: str, domains: tuple[str, ...]) -> bool:
    """Whether ``url`` is https on the default port to one of ``domains`` or a subdomain."""
    return https_under(url, domains)


def fetch(ctx: ProviderContext, url: str, headers: Mapping[str, str]) -> requests.Response:
    """``GET`` an export link with the account's token (retried as Drive calls are), following
    Google's redirects (:meth:`hub.context.ProviderContext.follow`): on the link's own origin
    with the token, to another Google host without it, elsewhere never.

    :return: the final response, whatever its status: pass it to :func:`hub_google.api.check`.
    :raises UpstreamFailed: for a redirect elsewhere, or too many of them.
    """
    response = api.call_url(ctx, url, headers=headers, stream=True)
    return ctx.follow(
        response,
        url,
        headers=headers,
        elsewhere=lambda target: is_google_host(target, REDIRECT_DOMAINS),
        resend=lambda target: api.call_url(ctx, target, headers=headers, stream=True),
        limit=MAX_REDIRECTS,
    )


def _host(url: str) -> str:
    """The host of ``url`` for a message (never the query, which may carry ids)."""
    try:
        return repr(urlsplit(url).hostname or url[:60])
    except ValueError:
        return repr(url[:60])
