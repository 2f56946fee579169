"""The request proxy: ``ANY /api/integrations/{id}/proxy/{path}`` (DESIGN §8, SECURITY 16-20).

The target is built only from the integration's API base URL and a *relative* path taken from
the raw request URI (before any percent-decoding, so ``%2e%2e`` and ``%2f`` are seen for what
they are). Anything that could leave the base — absolute URLs, ``//``, backslashes, ``@``,
control characters, dot segments, encoded slashes — is refused, and the final URL's scheme, host,
port and path prefix are asserted equal to the base's. Only an allow-list of request headers is
forwarded (never the caller's cookies or authorization); hop-by-hop headers and ``Set-Cookie``
are stripped from the answer. Answers stream back in chunks (bounded in size); request bodies,
bounded by the hub's body limit, are kept so a request can be replayed once after a token
refresh.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import requests
from flask import Request, Response

from hub.context import ProviderContext
from hub.errors import UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE

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
STRIPPED_RESPONSE_HEADERS = HOP_BY_HOP | {"set-cookie", "set-cookie2", "server", "x-powered-by"}
CHUNK = CHUNK_SIZE
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse(reason: str) -> ValidationError:
    return ValidationError(f"the proxy path is refused: {reason}", fields={"path": reason})


def relative_path(raw: str) -> str:
    """Check the raw (still percent-encoded) path after ``/proxy/``; return it unchanged."""
    if raw.startswith("/"):
        raise refuse("it must be relative (no leading '/')")
    if _SCHEME.match(raw) or "://" in raw:
        raise refuse("absolute URLs are not accepted")
    decoded = raw
    for _ in range(3):  # catch double and triple encodings too
        if "\\" in decoded or "@" in decoded:
            raise refuse("backslashes and '@' are not accepted")
        if _CONTROL.search(decoded):
            raise refuse("control characters are not accepted")
        segments = decoded.split("/")
        if any(segment in (".", "..") for segment in segments):
            raise refuse("dot segments are not accepted")
        if decoded.startswith("/"):
            raise refuse("it must stay under the API base URL")
        once = unquote(decoded)
        if once == decoded:
            break
        if "/" in once and once.count("/") != decoded.count("/"):
            raise refuse("encoded slashes are not accepted")
        decoded = once
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
    """The path after ``/proxy/`` exactly as the client sent it (percent-encoding intact)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw is None:
        raw = quote(request.path, safe="/%:@!$&'()*+,;=-._~")
    raw = raw.split("?", 1)[0]
    if "://" in raw.split("/api/", 1)[0]:
        raw = urlsplit(raw).path  # an absolute-form request line
    marker = "/proxy/"
    index = raw.find(marker)
    return "" if index < 0 else raw[index + len(marker) :]


def forward(context: ProviderContext, base: str, request: Request, max_bytes: int) -> Response:
    """Send the caller's request to the provider and stream the answer back."""
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
        if name.lower() not in STRIPPED_RESPONSE_HEADERS:
            response.headers[name] = value
    response.headers["X-Content-Type-Options"] = "nosniff"
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
