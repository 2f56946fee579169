"""Provider URL safety: no loopback, private, link-local or metadata targets, https only
(SECURITY 18). Every test passes its own resolver: no DNS here."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from hub import netguard
from hub.errors import ValidationError
from hub.netguard import check_url, is_forbidden_address, resolve_host


def resolves_to(*addresses: str):
    def resolve(host: str) -> list[str]:
        return list(addresses)

    return resolve


def unresolvable(host: str) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def never_resolve(host: str) -> list[str]:
    raise AssertionError(f"{host} must not be resolved")


PUBLIC = resolves_to("93.184.216.34")
PRIVATE = resolves_to("10.0.0.5")


def refused(url, *, allow_private: bool = False, resolve=never_resolve, field="apiBaseUri"):
    with pytest.raises(ValidationError) as caught:
        check_url(url, field, allow_private=allow_private, resolve=resolve)
    assert list(caught.value.fields) == [field]
    return caught.value.fields[field]


def accepted(url, *, allow_private: bool = False, resolve=PUBLIC) -> str:
    return check_url(url, "apiBaseUri", allow_private=allow_private, resolve=resolve)


# -- is_forbidden_address ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "100.100.100.200",
        "198.18.0.1",
        "192.0.0.192",
        "192.0.2.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "2001::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
    ],
)
def test_a_non_public_address_is_forbidden(address):
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_a_public_address_is_allowed(address):
    assert not is_forbidden_address(ipaddress.ip_address(address))


# -- IP literals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://127.1/",
        "https://127.0.1/",
        "https://[::1]/",
        "https://[0:0:0:0:0:0:0:1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
    ],
)
def test_loopback_is_refused_in_every_notation(url):
    assert "loopback" in refused(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://2852039166/",
        "https://0xa9.0xfe.0xa9.0xfe/",
        "https://[::ffff:169.254.169.254]/",
        "https://[fd00:ec2::254]/",
    ],
)
def test_a_cloud_metadata_address_is_refused(url):
    assert "address" in refused(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.0.10:8443/",
        "https://100.64.1.1/",
        "https://0.0.0.0/",
        "https://[fc00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:192.168.0.1]/",
        "https://[2002:c0a8:1::]/",
        "https://[64:ff9b::c0a8:1]/",
        "https://224.0.0.1/",
    ],
)
def test_a_private_or_reserved_address_is_refused(url):
    assert "address" in refused(url)


def test_a_refused_literal_names_the_address_it_stands_for():
    assert refused("https://0x7f.1/") == "points to a loopback address (127.0.0.1)"


def test_a_public_ipv4_literal_is_accepted():
    assert accepted("https://93.184.216.34/api", resolve=never_resolve) == (
        "https://93.184.216.34/api"
    )


def test_a_public_ipv6_literal_is_accepted_in_compressed_form():
    url = "https://[2606:4700:4700:0:0:0:0:1111]:8443/"
    assert accepted(url, resolve=never_resolve) == "https://[2606:4700:4700::1111]:8443"


@pytest.mark.parametrize("url", ["https://134744072/", "https://8.8.2056/", "https://010.8.8.8/"])
def test_a_public_ipv4_in_another_notation_is_refused(url):
    assert "four decimal numbers" in refused(url)


@pytest.mark.parametrize(
    "url", ["https://1.2.3.08/", "https://1.2.3.4.5/", "https://256.1.1.1/", "https://1.2.65536/"]
)
def test_a_host_ending_in_a_number_must_be_a_valid_ipv4_address(url):
    assert "valid" in refused(url)


def test_a_private_literal_is_accepted_when_private_addresses_are_allowed():
    assert accepted("https://10.0.0.1:8443/", allow_private=True) == "https://10.0.0.1:8443"


def test_an_ipv6_zone_id_is_refused():
    assert "zone id" in refused("https://[fe80::1%25eth0]/", allow_private=True)


def test_text_after_an_ipv6_literal_is_refused():
    assert "port" in refused("https://[2606:4700::1]junk/")


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/",
        "https://LOCALHOST:8080/",
        "https://api.localhost/",
        "https://localhost./",
    ],
)
def test_localhost_is_loopback_without_resolving(url):
    assert "loopback" in refused(url, resolve=never_resolve)


def test_a_public_name_resolving_to_a_public_address_is_accepted():
    assert accepted("https://api.example.org/v1") == "https://api.example.org/v1"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fd00:ec2::254", "::ffff:10.0.0.1"],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address):
    reason = refused("https://rebind.example.org/", resolve=resolves_to(address))
    assert "rebind.example.org resolves to" in reason


def test_a_name_with_one_private_address_among_public_ones_is_refused():
    resolve = resolves_to("93.184.216.34", "10.0.0.5")
    assert "resolves to" in refused("https://mixed.example.org/", resolve=resolve)


def test_a_refused_resolution_does_not_tell_the_internal_address():
    reason = refused("https://intranet.example.org/", resolve=resolves_to("10.20.30.40"))
    assert "10.20.30.40" not in reason


def test_a_resolver_answer_that_is_not_an_address_is_refused():
    assert "resolves to" in refused("https://odd.example.org/", resolve=resolves_to("nonsense"))


def test_an_unresolvable_name_is_accepted_at_save_time():
    assert accepted("https://not-yet.example.org/", resolve=unresolvable) == (
        "https://not-yet.example.org"
    )


def test_a_name_resolving_to_a_private_address_is_accepted_when_allowed():
    url = "https://nas.example.org/"
    assert accepted(url, allow_private=True, resolve=PRIVATE) == "https://nas.example.org"


def test_https_to_a_name_is_not_resolved_when_private_addresses_are_allowed():
    url = "https://api.example.org/"
    assert accepted(url, allow_private=True, resolve=never_resolve) == "https://api.example.org"


@pytest.mark.parametrize(
    "url",
    [
        "https://-bad.example.org/",
        "https://bad-.example.org/",
        "https://a..example.org/",
        "https://exa%6dple.org/",
        "https://%31%32%37.0.0.1/",
        "https://" + "a" * 64 + ".example.org/",
        "https://" + "a." * 127 + "org/",
    ],
)
def test_an_invalid_host_name_is_refused(url):
    assert "host" in refused(url)


@pytest.mark.parametrize("url", ["https://müller.example.org/", "https://127。0。0。1/"])
def test_a_non_ascii_host_is_refused(url):
    assert "punycode" in refused(url)


def test_a_punycode_host_is_accepted():
    assert accepted("https://xn--mller-kva.example.org/") == "https://xn--mller-kva.example.org"


def test_the_module_resolver_is_used_by_default(monkeypatch):
    monkeypatch.setattr(netguard, "resolve_host", resolves_to("10.0.0.5"))
    with pytest.raises(ValidationError):
        check_url("https://api.example.org/", "tokenUri", allow_private=False)


def test_resolve_host_answers_address_strings_without_dns(monkeypatch):
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800::1", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    assert resolve_host("example.org") == ["93.184.216.34", "2606:2800::1"]


# -- scheme -----------------------------------------------------------------------------------


def test_http_to_a_public_host_is_refused():
    assert refused("http://api.example.org/", resolve=PUBLIC) == "must use https"


def test_http_to_a_public_host_is_refused_even_when_private_addresses_are_allowed():
    assert refused("http://api.example.org/", allow_private=True, resolve=PUBLIC) == (
        "must use https"
    )


def test_http_to_an_unresolvable_host_is_refused():
    assert refused("http://nowhere.example.org/", allow_private=True, resolve=unresolvable) == (
        "must use https"
    )


def test_http_to_a_private_literal_is_accepted_when_allowed():
    assert accepted("http://192.168.1.20:8080/api/", allow_private=True) == (
        "http://192.168.1.20:8080/api"
    )


def test_http_to_localhost_is_accepted_when_allowed():
    url = "http://localhost:5000/"
    assert accepted(url, allow_private=True, resolve=never_resolve) == "http://localhost:5000"


def test_http_to_a_name_resolving_privately_is_accepted_when_allowed():
    assert accepted("http://nas.lan/", allow_private=True, resolve=PRIVATE) == "http://nas.lan"


def test_http_to_a_private_address_is_refused_when_not_allowed():
    assert "private" in refused("http://10.0.0.1/")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)", "//example.org/", "/api"],
)
def test_a_url_that_is_not_absolute_http_is_refused(url):
    assert refused(url) == "must be an absolute http(s) URL"


def test_a_scheme_without_slashes_is_refused():
    assert refused("https:example.org") == "must be an absolute http(s) URL"


def test_a_url_without_a_host_is_refused():
    assert refused("https:///path") == "has no host"


# -- shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 42, b"https://example.org", ["https://example.org"]])
def test_something_else_than_a_string_is_refused(value):
    assert refused(value) == "must be a string"


def test_a_url_longer_than_2048_characters_is_refused():
    assert "2048" in refused("https://example.org/" + "a" * 2030)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@example.org/",
        "https://user@example.org/",
        "https://example.org@127.0.0.1/",
        "https://@example.org/",
    ],
)
def test_user_information_is_refused(url):
    assert "user information" in refused(url)


@pytest.mark.parametrize(
    "url", ["https://example.org\\@127.0.0.1/", "https://example.org/a\\b", "https:\\\\example.org"]
)
def test_a_backslash_is_refused(url):
    assert refused(url) == "must not contain a backslash"


@pytest.mark.parametrize("url", ["https://example.org/#top", "https://example.org#"])
def test_a_fragment_is_refused(url):
    assert "fragment" in refused(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/\r\nHost: evil",
        "https://example.org/\x00",
        "https://exam\tple.org/",
        " https://example.org/",
        "https://example.org/a b",
        "https://example.org/\u2028",
        "https://example.org/\u200b",
        "https://example.org/\x7f",
    ],
)
def test_white_space_and_control_characters_are_refused(url):
    assert "white space or control characters" in refused(url)


@pytest.mark.parametrize(
    "url", ["https://example.org:0/", "https://example.org:99999/", "https://example.org:x/"]
)
def test_an_invalid_port_is_refused(url):
    assert refused(url) == "has an invalid port"


def test_the_error_names_the_field():
    with pytest.raises(ValidationError) as caught:
        check_url(
            "http://example.org", "settings.endpoints.api", allow_private=False, resolve=PUBLIC
        )
    assert caught.value.fields == {"settings.endpoints.api": "must use https"}
    assert caught.value.message == "settings.endpoints.api must use https"


# -- normalisation ----------------------------------------------------------------------------


def test_scheme_and_host_are_lower_cased():
    assert accepted("HTTPS://API.Example.ORG/V1") == "https://api.example.org/V1"


def test_trailing_slashes_of_the_path_are_stripped():
    assert accepted("https://api.example.org/v1//") == "https://api.example.org/v1"


def test_a_root_path_is_stripped():
    assert accepted("https://api.example.org/") == "https://api.example.org"


def test_the_query_and_port_are_kept():
    url = "https://api.example.org:8443/oauth/token/?tenant=a"
    assert accepted(url) == "https://api.example.org:8443/oauth/token?tenant=a"


def test_the_trailing_dot_of_a_host_is_removed():
    assert accepted("https://api.example.org./v1") == "https://api.example.org/v1"


def test_an_empty_port_and_query_are_dropped():
    assert accepted("https://api.example.org:/v1?") == "https://api.example.org/v1"


def test_a_normalised_url_checks_the_same():
    url = accepted("HTTPS://API.Example.ORG:8443/v1/")
    assert accepted(url) == url


# -- an allow-list of private addresses (HUB_ALLOW_PRIVATE_ADDRESSES=127.0.0.1,192.168.1.0/24) ----

LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)
LAN = (ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("fd00:1::/64"))


def test_an_allowed_address_is_accepted_over_http():
    url = "http://127.0.0.1:5001/authorize"
    assert accepted(url, allow_private=LOOPBACK_ONLY) == url


def test_an_address_outside_the_allow_list_is_refused():
    assert refused("http://127.0.0.2:5001/", allow_private=LOOPBACK_ONLY) == (
        "points to a loopback address (127.0.0.2)"
    )
    assert "private address (10.0.0.5)" in refused("https://10.0.0.5/", allow_private=LOOPBACK_ONLY)
    assert "169.254.169.254" in refused("http://169.254.169.254/", allow_private=LAN)


def test_an_allowed_network_accepts_each_of_its_addresses():
    assert accepted("http://192.168.1.20:8080/", allow_private=LAN) == "http://192.168.1.20:8080"
    assert accepted("http://[fd00:1::5]/", allow_private=LAN) == "http://[fd00:1::5]"
    assert "192.168.2.1" in refused("http://192.168.2.1/", allow_private=LAN)


def test_a_wrapped_ipv4_address_is_judged_by_the_allow_list_as_itself():
    assert accepted("http://[::ffff:127.0.0.1]:5001/", allow_private=LOOPBACK_ONLY) == (
        "http://[::ffff:7f00:1]:5001"
    )
    assert refused("http://[::ffff:10.0.0.1]/", allow_private=LOOPBACK_ONLY)


def test_an_allow_list_still_wants_https_for_public_hosts():
    assert refused("http://93.184.216.34/", allow_private=LOOPBACK_ONLY) == "must use https"
    assert accepted("https://api.example.org/", allow_private=LOOPBACK_ONLY) == (
        "https://api.example.org"
    )


def test_with_an_allow_list_a_name_is_checked_by_every_address_it_resolves_to():
    lan_name = resolves_to("192.168.1.7")
    assert accepted("http://nas.lan/", allow_private=LAN, resolve=lan_name) == "http://nas.lan"
    # https does not skip the look-up as "allow every private address" does.
    assert "resolves to" in refused("https://nas.lan/", allow_private=LAN, resolve=PRIVATE)
    mixed = resolves_to("192.168.1.7", "10.0.0.5")
    assert "resolves to" in refused("http://nas.lan/", allow_private=LAN, resolve=mixed)
    unreadable = resolves_to("192.168.1.7", "not-an-address")
    assert "resolves to" in refused("https://nas.lan/", allow_private=LAN, resolve=unreadable)


def test_with_an_allow_list_localhost_is_refused_write_the_address():
    assert refused("http://localhost:5001/", allow_private=LOOPBACK_ONLY) == (
        "points to a loopback address (localhost)"
    )


def test_an_empty_allow_list_allows_nothing():
    assert "loopback" in refused("http://127.0.0.1/", allow_private=())
