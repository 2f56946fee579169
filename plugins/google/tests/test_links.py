"""Which export links may carry the account's token: Google's hosts over https, or the origin of
the integration's own Drive endpoint; nothing a second URL parser could read differently."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hub_google.links import may_carry_token


def context(drive: str = "https://www.googleapis.com") -> SimpleNamespace:
    """What :func:`may_carry_token` reads of a provider context: the Drive endpoint."""
    return SimpleNamespace(url=lambda endpoint, path="": {"drive": drive}[endpoint] + path)


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.google.com/feeds/download/documents/export/Export?id=1a&exportFormat=pdf",
        "https://docs.google.com/spreadsheets/export?id=1a&exportFormat=xlsx",
        "https://script.google.com/feeds/download/export?id=1a&format=json",
        "https://DOCS.Google.com/feeds/download/drawings/Export?id=1a&exportFormat=svg",
        "https://docs.google.com:443/export",
        "https://www.googleapis.com/drive/v3/files/1a/export?mimeType=application/pdf",
    ],
)
def test_googles_hosts_may_carry_the_token(url):
    assert may_carry_token(context(), url)


@pytest.mark.parametrize(
    "url",
    [
        "http://docs.google.com/export",  # not https
        "https://docs.google.com:8443/export",  # another port, another server
        "https://docs.google.com.attacker.example/export",  # a look-alike
        "https://attacker-google.com/export",
        "https://googleusercontent.com.example/export",
        "https://docs.google.com@attacker.example/export",  # user information
        "https://attacker.example\\@docs.google.com/export",  # a backslash
        "https://docs.google.com /export",  # white space
        "https://docs.google.com\t.attacker.example/export",  # a control character
        "https://doc-0s-docs.googleusercontent.com/x",  # signed URLs need no token
        "//docs.google.com/export",  # not absolute
        "javascript:alert(1)",
    ],
)
def test_other_hosts_may_not(url):
    assert not may_carry_token(context(), url)


def test_the_drive_endpoints_own_origin_may_carry_the_token():
    ctx = context("http://127.0.0.1:8765")

    assert may_carry_token(ctx, "http://127.0.0.1:8765/feeds/download/Export?id=1a")
    assert not may_carry_token(ctx, "http://127.0.0.1:8766/feeds/download/Export?id=1a")
    assert not may_carry_token(ctx, "https://127.0.0.1:8765/feeds/download/Export?id=1a")
