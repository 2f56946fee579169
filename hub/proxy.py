"""The request proxy: ``ANY /api/integrations/{id}/proxy/{path}``.

DESIGN §8; SECURITY 16-20, 28 and 33.

**Where requests go.** The target is built only from the integration's API base URL and a
*relative* path taken from the raw request URI (before any percent-decoding, so ``%2e%2e`` and
``%2f`` are seen for what they are). Absolute URLs, ``//`` and a leading ``/`` are refused here;
everything else that could leave the base in any server's reading — dot segments in every
spelling (``..;``, any depth of percent-encoding, overlong UTF-8, full-width dots), backslashes,
``@``, control characters, encoded slashes — is refused by :func:`hub.paths.check_path`, which
decodes to a fixed point. The final URL's scheme, host, port and path prefix are then asserted
equal to the base's. Only an allow-list of request headers is forwarded (never the caller's
cookies or authorization). Request bodies, bounded by the hub's body limit, are kept so a request
can be replayed once after a token refresh; answers stream back in chunks, bounded in size.

**What comes back never runs in the hub's origin** (SECURITY 28). The answer is the provider's,
but the browser sees it at the hub's address, where a script could use the caller's session. So:

- every answer on the proxy route — the provider's successes and errors, and the hub's own
  errors there — carries :data:`hub.browse.SANDBOX_HEADERS` (``Content-Security-Policy:
  default-src 'none'; sandbox``, ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Cross-Origin-Resource-Policy: same-origin``), set by :func:`sandbox_route` after the answer
  is made so that no error path can miss them;
- the provider's response headers pass through a **deny-list**, not an allow-list: providers
  send data in headers of their own naming (``Dropbox-API-Result``, ``X-RateLimit-Remaining``,
  ``OData-Version``, ``Docker-Content-Digest``…) that no allow-list could know, and API clients
  need them. The deny-list (:func:`relayed`) is built to fail closed by family rather than by
  name: hop-by-hop headers; cookies; everything browser security or behaviour reads — any
  ``*-Policy``/``*-Policy-Report-Only`` (CSP, Permissions-, Referrer-, Cross-Origin-*-,
  Document-Policy…), ``Access-Control-*``, ``Cross-Origin-*``, ``Sec-*``, ``X-Frame-Options``,
  HSTS and key pinning, ``Clear-Site-Data``, ``Refresh``, ``Location``, ``Content-Location``,
  ``Link``, ``Service-Worker-Allowed``, authentication challenges, reporting (``NEL``,
  ``Report-To``, ``Reporting-Endpoints``), source maps, ``Alt-Svc``, ``Origin-Agent-Cluster``,
  client hints, speculation and storage-access headers; and instructions to a web server in
  front of the hub (``X-Accel-*``, ``X-Sendfile``, ``X-LiteSpeed-*``), which would otherwise let
  a provider make that server answer with a local file. ``Content-Type`` and
  ``Content-Disposition`` are always the hub's own (below);
- only passive types are sent inline (:data:`INLINE_TYPES`: JSON and ``+json``, ``text/plain``,
  ``text/csv``, common raster images, audio, video, ``application/octet-stream``); every other
  type — HTML, XHTML, SVG, XML and ``+xml``, JavaScript, XSL, PDF, multipart, anything unknown
  or malformed — goes out with ``Content-Disposition: attachment``. A missing type becomes
  ``application/octet-stream``, so nothing is left for a browser to sniff. API clients are not
  affected: ``Content-Disposition`` only changes what a browser does when it *navigates*;
- a provider's redirect (300, 301, 302, 303, 307, 308) is never relayed as the hub's own
  (the call itself never follows one, :mod:`hub.transport`): the caller gets ``502`` with code
  ``upstream_redirect``, a message naming the provider and the status, and ``fields.location``:
  the hub's proxy path for a ``Location`` under the API base URL (so a client can follow it
  through the hub), else only the other origin (``scheme://host[:port]``: its path and query
  may carry tokens). ``304 Not Modified`` and other 3xx statuses pass through, without
  ``Location``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urljoin, urlsplit

import flask
import requests
from flask import Request, Response

from hub.browse import sandbox
from hub.context import ProviderContext
from hub.errors import UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE
from hub.paths import check_path

FORWARDED_REQUEST_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "accept-encoding",
        "content-type",
        "content-language",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "if-range",
        "range",
        "prefer",
        "x-request-id",
    }
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: Provider response headers never relayed, by exact (lower-case) name; see also the families in
#: :data:`DROPPED_PREFIXES` and :data:`DROPPED_SUFFIXES`.
STRIPPED_RESPONSE_HEADERS = HOP_BY_HOP | {
    # the hub decides these itself
    "content-type",
    "content-disposition",
    # cookies, and what identifies the provider's software
    "set-cookie",
    "set-cookie2",
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    # browser security headers (the hub sets its own sandbox)
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "x-webkit-csp",
    "x-download-options",
    "x-permitted-cross-domain-policies",
    "x-dns-prefetch-control",
    "x-ua-compatible",
    "strict-transport-security",
    "expect-ct",
    "expect-staple",
    "origin-agent-cluster",
    "origin-isolation",
    "origin-trial",
    "timing-allow-origin",
    # navigation, loading and state the browser acts on
    "location",
    "content-location",
    "content-base",
    "refresh",
    "link",
    "clear-site-data",
    "service-worker",
    "service-worker-allowed",
    "speculation-rules",
    "supports-loading-mode",
    "no-vary-search",
    "use-as-dictionary",
    "large-allocation",
    "set-login",
    "activate-storage-access",
    "observe-browsing-topics",
    "accept-ch",
    "accept-ch-lifetime",
    "critical-ch",
    "alt-svc",
    "sourcemap",
    "x-sourcemap",
    "p3p",
    # authentication challenges (a browser would prompt for a password at the hub's address)
    "www-authenticate",
    "authentication-info",
    "proxy-authentication-info",
    # reporting
    "nel",
    "report-to",
    "reporting-endpoints",
    # instructions to a web server in front of the hub
    "x-sendfile",
    "x-lighttpd-send-file",
    "status",
}
DROPPED_PREFIXES = (
    "access-control-",
    "cross-origin-",
    "content-security-policy",
    "x-content-security-policy",
    "permissions-policy",
    "feature-policy",
    "public-key-pins",
    "sec-",
    "attribution-reporting-",
    "shared-storage-",
    "ad-auction-",
    "private-state-token",
    "x-accel-",
    "x-litespeed-",
)
DROPPED_SUFFIXES = ("-policy", "-policy-report-only")
#: Media types sent inline; anything else goes out as an attachment.
INLINE_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/octet-stream",
        "text/plain",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
    }
)
INLINE_FAMILIES = ("audio/", "video/")
REDIRECT_STATUSES = frozenset({300, 301, 302, 303, 307, 308})
DEFAULT_TYPE = "application/octet-stream"
CHUNK = CHUNK_SIZE
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_JSON_SUFFIX = re.compile(r"application/[a-z0-9!#$&^_.+-]+\+json")
_PROXY_PATH = re.compile(r"^/api/integrations/.+/proxy(/|$)")


def refuse(reason: str) -> ValidationError:
    return ValidationError(f"the proxy path is refused: {reason}", fields={"path": reason})


def relative_path(raw: str) -> str:
    """Check the raw (still percent-encoded) path after ``/proxy/``; return it unchanged."""
    if raw.startswith("/"):
        raise refuse("it must be relative (no leading '/')")
    if _SCHEME.match(raw) or "://" in raw:
        raise refuse("absolute URLs are not accepted")
    try:
        check_path(raw, "path")
    except ValidationError as exc:
        raise refuse(exc.fields["path"]) from None
    return raw


def target_url(base: str, raw_path: str, query: str) -> str:
    """``base`` + the checked relative path + the query; asserted to stay under ``base``."""
    path = relative_path(raw_path)
    base_parts = urlsplit(base)
    prefix = base_parts.path.rstrip("/") + "/"
    url = f"{base_parts.scheme}://{base_parts.netloc}{prefix}{path}"
    if query:
        if _CONTROL.search(query) or "#" in query:
            raise refuse("the query holds control characters")
        url += "?" + query
    parts = urlsplit(url)
    same_origin = (parts.scheme, parts.hostname, parts.port) == (
        base_parts.scheme,
        base_parts.hostname,
        base_parts.port,
    )
    if not same_origin or not parts.path.startswith(prefix) or parts.username or parts.password:
        raise refuse("it must stay under the API base URL")
    return url


def raw_suffix(request: Request) -> str:
    """The path after ``/proxy/`` exactly as the client sent it (percent-encoding intact; bytes
    outside ASCII, which a client should have encoded, percent-encoded as sent)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw is None:
        raw = quote(request.path, safe="/%:@!$&'()*+,;=-._~")
    raw = raw.split("?", 1)[0]
    if "://" in raw.split("/api/", 1)[0]:
        raw = urlsplit(raw).path  # an absolute-form request line
    marker = "/proxy/"
    index = raw.find(marker)
    suffix = "" if index < 0 else raw[index + len(marker) :]
    return suffix if suffix.isascii() else _encode_non_ascii(suffix)


def _encode_non_ascii(text: str) -> str:
    # WSGI hands the request line over as Latin-1: each character is one byte as sent.
    return "".join(
        c if c.isascii() else quote(c.encode("latin-1", errors="ignore") or c.encode(), safe="")
        for c in text
    )


def forward(context: ProviderContext, base: str, request: Request, max_bytes: int) -> Response:
    """Send the caller's request to the provider and stream the answer back, sandboxed."""
    url = target_url(base, raw_suffix(request), request.query_string.decode("latin-1"))
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() in FORWARDED_REQUEST_HEADERS
    }
    body = request.get_data(cache=False) if request.content_length or request.is_json else None
    upstream = context.request(
        request.method,
        url,
        headers=headers,
        data=body,
        stream=True,
    )
    if upstream.status_code in REDIRECT_STATUSES:
        upstream.close()
        raise redirect_refused(context, base, url, upstream)
    length = upstream.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        upstream.close()
        raise UpstreamFailed(f"{context.name}'s answer is larger than {max_bytes} bytes")
    response = Response(
        _stream(upstream, max_bytes),
        status=upstream.status_code,
        direct_passthrough=True,
    )
    for name, value in upstream.headers.items():
        if relayed(name):
            response.headers[name] = value
    content_type, inline = media_type(upstream.headers.get("Content-Type"))
    response.headers["Content-Type"] = content_type
    if not inline:
        response.headers["Content-Disposition"] = "attachment"
    return sandbox(response)


def relayed(name: str) -> bool:
    """Whether a provider's response header reaches the caller (the deny-list above)."""
    lower = name.lower()
    return not (
        lower in STRIPPED_RESPONSE_HEADERS
        or lower.startswith(DROPPED_PREFIXES)
        or lower.endswith(DROPPED_SUFFIXES)
    )


def media_type(value: str | None) -> tuple[str, bool]:
    """The ``Content-Type`` to send for a provider's, and whether it may be shown inline.

    Missing: ``application/octet-stream`` (never left for a browser to sniff). Malformed or
    ambiguous (several types): the same, as an attachment. Otherwise the provider's own value,
    inline only for a passive type.
    """
    if value is None or not value.strip():
        return DEFAULT_TYPE, True
    essence = value.split(";", 1)[0].strip().lower()
    if "," in value or not _MEDIA_TYPE.fullmatch(essence):
        return DEFAULT_TYPE, False
    inline = (
        essence in INLINE_TYPES
        or essence.startswith(INLINE_FAMILIES)
        or _JSON_SUFFIX.fullmatch(essence) is not None
    )
    return value, inline


def redirect_refused(
    context: ProviderContext, base: str, url: str, upstream: requests.Response
) -> UpstreamFailed:
    """The hub's answer to a provider's redirect: ``502 upstream_redirect``, with where it
    pointed (see the module docstring) in ``fields.location``."""
    status = upstream.status_code
    fields = {}
    location = upstream.headers.get("Location")
    if location:
        shown = _shown_location(context, base, url, location)
        if shown:
            fields["location"] = shown
    return UpstreamFailed(
        f"{context.name} answered {status} (a redirect); the hub does not relay a provider's "
        "redirects",
        code="upstream_redirect",
        fields=fields,
    )


def _shown_location(context: ProviderContext, base: str, url: str, location: str) -> str | None:
    """The hub's proxy path for ``location`` under ``base``, else its origin only."""
    try:
        target = urlsplit(urljoin(url, location.strip()))
        port = target.port
    except ValueError:
        return None
    if target.scheme not in ("http", "https") or not target.hostname:
        return None
    base_parts = urlsplit(base)
    prefix = base_parts.path.rstrip("/") + "/"
    defaults = {"http": 80, "https": 443}
    same_origin = (
        target.scheme == base_parts.scheme
        and target.hostname == base_parts.hostname
        and (port or defaults[target.scheme])
        == (base_parts.port or defaults.get(base_parts.scheme))
    )
    if same_origin and not target.username and (target.path + "/").startswith(prefix):
        rest = target.path[len(prefix) :]
        query = f"?{target.query}" if target.query else ""
        return f"/api/integrations/{context.integration.id}/proxy/{rest}{query}"
    host = f"[{target.hostname}]" if ":" in target.hostname else target.hostname
    return f"{target.scheme}://{host}" + (f":{port}" if port is not None else "")


def sandbox_route(response: Response) -> Response:
    """After every request on the proxy route (the provider's answers and the hub's own errors
    alike): the sandbox headers, whatever made the answer."""
    if _PROXY_PATH.match(flask.request.path):
        sandbox(response)
    return response


def _stream(upstream: requests.Response, max_bytes: int) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in upstream.raw.stream(CHUNK, decode_content=False):
            sent += len(chunk)
            if sent > max_bytes:
                break  # the bound: the client sees a cut answer rather than unbounded bytes
            yield chunk
    finally:
        upstream.close()
