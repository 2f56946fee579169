"""Provider URL safety: keep the hub from being pointed at its own network (SECURITY 18).

Users give the hub URLs it will later call with credentials attached (``authUri``, ``tokenUri``,
``apiBaseUri``, endpoint overrides, ``serverUrl``). Unless ``HUB_ALLOW_PRIVATE_ADDRESSES`` allows
it, none may name or resolve to a loopback, private, link-local, cloud-metadata or otherwise
non-public address (server-side request forgery), and all must use https.

The check at save time is not the last word: DNS can change after saving (rebinding), so whoever
connects checks the resolved address again; that is also why a name that does not resolve yet is
accepted here.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

from hub.errors import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# ``HUB_ALLOW_PRIVATE_ADDRESSES``: every non-public address (True), none (False), or these networks.
AllowPrivate = bool | Collection[ipaddress.IPv4Network | ipaddress.IPv6Network]

MAX_URL_LENGTH = 2048

# IANA special-purpose ranges that are not globally reachable, plus multicast. Spelled out so the
# answer does not change with the Python version's idea of ``is_global``, which is consulted too.
_FORBIDDEN_V4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", including the unspecified address
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # shared address space (carrier-grade NAT; Alibaba metadata)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, including 169.254.169.254 (cloud metadata)
        "172.16.0.0/12",  # private (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private (RFC 1918)
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including the broadcast address
    )
)
_FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/8",  # unspecified, loopback, IPv4-compatible (deprecated) and other reserved forms
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments: Teredo, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing (SRv6) identifiers
        "fc00::/7",  # unique local, including fd00:ec2::254 (AWS metadata)
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped, 6to4 or well-known NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_forbidden_address(ip: IPAddress) -> bool:
    """Whether the hub must not call ``ip`` unless private addresses are allowed.

    True for loopback, private (RFC 1918, unique local), link-local (with cloud metadata),
    unspecified, multicast, reserved, shared (100.64.0.0/10), benchmarking and documentation
    addresses. An IPv6 address that wraps an IPv4 one (``::ffff:a.b.c.d``, 6to4 ``2002::/16``,
    NAT64 ``64:ff9b::/96``) is judged by the IPv4 address it wraps.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_forbidden_address(embedded)
        networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = _FORBIDDEN_V6
    else:
        networks = _FORBIDDEN_V4
    if any(ip in network for network in networks):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def resolve_host(host: str) -> list[str]:
    """The addresses ``host`` resolves to, as strings, each once (the default resolver).

    :raises socket.gaierror: the name does not resolve.
    """
    addresses: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


# -- URLs -------------------------------------------------------------------------------------


class _Refused(Exception):
    """A reason to refuse a URL; turned into a ValidationError for the caller's field."""


def _has_space_or_control(text: str) -> bool:
    # Cc: control characters; Cf: invisible formatting (zero-width space, bidi overrides);
    # Z*: every kind of space and line or paragraph separator.
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp") for char in text)


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address as inet_aton and browsers read it: 0x hex, 0 octal, decimal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:] or "0", 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    try:
        return int(digits, base) if digits.isalnum() and digits.isascii() else None
    except ValueError:
        return None


def _loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a host written in any IPv4 notation stands for, or None for a name.

    A host whose last label is a number is an IPv4 address, whatever the notation (the WHATWG
    URL rule, and what the C resolver does): ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and
    ``127.1`` are all 127.0.0.1. One that does not parse as such is not a valid host.
    """
    parts = host.split(".")
    last = parts[-1]
    if not (last.isascii() and last.isdigit()) and _ipv4_number(last) is None:
        return None
    numbers = [_ipv4_number(part) if part else None for part in parts]
    if len(numbers) > 4 or any(number is None for number in numbers):
        raise _Refused("is not a valid host name or IPv4 address")
    *head, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in head) or last >= 256 ** (4 - len(head)):
        raise _Refused("is not a valid IPv4 address")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _check_hostname(host: str) -> None:
    if not host.isascii():
        raise _Refused("write an internationalised host name in its xn-- (punycode) form")
    if len(host) > 253:
        raise _Refused("has a host name longer than 253 characters")
    for label in host.split("."):
        if not 1 <= len(label) <= 63:
            raise _Refused("has an empty or over-long label in its host name")
        if not all(char.isalnum() or char in "-_" for char in label) or (
            label.startswith("-") or label.endswith("-")
        ):
            raise _Refused("has an invalid host name")


def _kind(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local (or cloud metadata)"
    if ip.is_private:
        return "a private"
    return "a non-public"


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _without_trailing_dot(host: str) -> str:
    # "example.org." is the fully qualified spelling of "example.org"; only one dot may end it.
    return host[:-1] if host.endswith(".") else host


def _allows(allow_private: AllowPrivate, ip: IPAddress | None) -> bool:
    """Whether the setting allows the non-public address ``ip`` (a wrapped IPv4 address counts
    as itself; ``None``, an address the hub cannot read, only when every address is allowed)."""
    if isinstance(allow_private, bool) or ip is None:
        return allow_private is True
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        candidates.append(embedded)
    return any(address in network for network in allow_private for address in candidates)


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def check_url(
    url: object,
    field: str,
    *,
    allow_private: AllowPrivate,
    resolve: Callable[[str], list[str]] | None = None,
) -> str:
    """Check a URL a user gives the hub to call, and return it normalised.

    Normalised: scheme and host lower-case, a trailing dot of the host and trailing slashes of
    the path removed, an IPv6 host in its compressed form.

    :param field: the name reported in the error (``authUri``, ``settings.endpoints.api``).
    :param allow_private: ``HUB_ALLOW_PRIVATE_ADDRESSES``: accept non-public addresses, and plain
        http to them: all (True), or only those in the given networks (then a ``localhost`` name
        is refused, and a host name is resolved to check every address it stands for).
    :param resolve: host name to address strings; :func:`resolve_host` by default. A name that
        does not resolve (``socket.gaierror``) is accepted, and then only over https.
    :raises ValidationError: with ``fields={field: reason}``.
    """
    try:
        return _check(url, allow_private, resolve)
    except _Refused as exc:
        reason = str(exc)
        raise ValidationError(f"{field} {reason}", fields={field: reason}) from None


def _check(
    url: object, allow_private: AllowPrivate, resolve: Callable[[str], list[str]] | None
) -> str:
    if not isinstance(url, str):
        raise _Refused("must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise _Refused(f"must be at most {MAX_URL_LENGTH} characters")
    if _has_space_or_control(url):
        raise _Refused("must not contain white space or control characters")
    if "\\" in url:
        raise _Refused("must not contain a backslash")
    if "#" in url:
        raise _Refused("must not have a fragment (#...)")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _Refused("is not a valid URL") from None
    try:
        port = parts.port
    except ValueError:
        raise _Refused("has an invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url[len(parts.scheme) :].startswith("://"):
        raise _Refused("must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise _Refused("must not contain user information (user:password@)")
    host = None if parts.netloc.startswith("[") else _without_trailing_dot(parts.hostname or "")
    if port == 0:
        raise _Refused("has an invalid port")

    address: IPAddress | None
    if host is None:  # a bracketed IPv6 literal
        literal, _, after = parts.netloc[1:].partition("]")
        if after and not (after.startswith(":") and after[1:].isdigit()):
            raise _Refused("has something else than a port after its IPv6 address")
        if "%" in literal:
            raise _Refused("must not give an IPv6 zone id")
        address = _parse_address(literal)
        if not isinstance(address, ipaddress.IPv6Address):
            raise _Refused("is not a valid IPv6 address")
        url_host = f"[{address.compressed}]"
    else:
        if not host:
            raise _Refused("has no host")
        address = _loose_ipv4(host)
        if address is None:
            _check_hostname(host)
        url_host = host

    private = _classify(host, address, allow_private, scheme, resolve)
    if address is not None and host is not None and str(address) != host:
        raise _Refused(f"write the IPv4 address as four decimal numbers ({address})")
    if scheme == "http" and not (allow_private and private):
        raise _Refused("must use https")

    netloc = url_host if port is None else f"{url_host}:{port}"
    normalised = f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    return f"{normalised}?{parts.query}" if parts.query else normalised


def _classify(
    host: str | None,
    address: IPAddress | None,
    allow_private: AllowPrivate,
    scheme: str,
    resolve: Callable[[str], list[str]] | None,
) -> bool:
    """Whether the host is non-public; refuses it if so and private addresses are not allowed."""
    if address is not None:
        forbidden = is_forbidden_address(address)
        if forbidden and not _allows(allow_private, address):
            raise _Refused(f"points to {_kind(address)} address ({address.compressed})")
        return forbidden
    assert host is not None
    if _is_localhost(host):
        if allow_private is not True:
            raise _Refused("points to a loopback address (localhost)")
        return True
    if allow_private is True and scheme == "https":
        return False  # nothing left to decide: no need to ask DNS
    # Looked up at call time so tests can replace the module's resolver.
    lookup = resolve or resolve_host
    try:
        resolved = lookup(host)
    except socket.gaierror:
        return False
    forbidden = _check_resolved(host, resolved, allow_private)
    return bool(forbidden) and all(forbidden)


def _check_resolved(host: str, resolved: list[str], allow_private: AllowPrivate) -> list[bool]:
    """Which of ``host``'s addresses are non-public; refuses the host if any of those is not
    allowed. The one rule for resolved names, at check time and at connect time."""
    addresses = [_parse_address(text.partition("%")[0]) for text in resolved]
    # An address the hub cannot read is treated as forbidden: it cannot be shown to be public.
    forbidden = [a is None or is_forbidden_address(a) for a in addresses]
    if any(
        bad and not _allows(allow_private, a) for a, bad in zip(addresses, forbidden, strict=True)
    ):
        # Not naming the address: the error must not map the hub's internal DNS for a caller.
        raise _Refused(f"host {host} resolves to a loopback, private or other non-public address")
    return forbidden


def connect_address(host: str, allow_private: AllowPrivate) -> str:
    """The address to open a connection to ``host`` on, checked as it will be used.

    A name is resolved once, here, every address it resolves to is checked, and the caller
    connects to the returned address itself: a name that resolves to a public address when a URL
    is checked and to an internal one a moment later (DNS rebinding) cannot slip through.

    :param host: a name or an address literal (IPv6 without brackets), as a connection has it.
    :raises ValidationError: the host (or an address it resolves to) is not allowed, or the name
        does not resolve.
    """
    try:
        literal = _parse_address(host.partition("%")[0])
        if literal is not None:
            _check_resolved(host, [host], allow_private)
            return host
        if _is_localhost(host) and allow_private is not True:
            raise _Refused("points to a loopback address (localhost)")
        try:
            resolved = resolve_host(host)
        except socket.gaierror:
            raise _Refused(f"host {host} does not resolve") from None
        if not resolved:
            raise _Refused(f"host {host} does not resolve")
        _check_resolved(host, resolved, allow_private)
        return resolved[0]
    except _Refused as exc:
        raise ValidationError(str(exc), fields={"host": str(exc)}) from None
