"""PowerFolder against the hub's provider contract (:mod:`hub.contract`).

The kit walks the ``files`` service through the hub's HTTP API over the recorded WebDAV tree in
``fixtures/``: the root (``propfind_root.xml``), its four folders and what lies below them. It
connects with OAuth2 (a bearer token), because that is the connection whose top level is the
WebDAV root (``PROPFIND /webdav/``); with a username and password the top level comes from the
folder API instead, which ``test_files_listing.py`` covers. Downloads are played from the sizes
the recorded listings announce, so the kit can compare the streamed length with the listed one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.contract import ErrorCase, ProviderContract
from hub_powerfolder import webdav

FIXTURES = Path(__file__).parent / "fixtures"
SERVER = "https://pf.example.org"
XML = {"Content-Type": 'application/xml; charset="utf-8"'}
JSON = {"Content-Type": "application/json"}

#: The recorded tree: each folder's ``PROPFIND`` (decoded path segments under ``/webdav/``) and
#: the multistatus document the server answers.
LISTINGS: dict[tuple[str, ...], str] = {
    (): "propfind_root.xml",
    ("Empty",): "propfind_empty.xml",
    ("Fotos Grüße",): "propfind_fotos.xml",
    ("Fotos Grüße", "東京 夜景"): "propfind_fotos_tokyo.xml",
    ("$mail_attachments",): "propfind_mail_attachments.xml",
    ("Team Docs",): "propfind_team_docs.xml",
    ("Team Docs", "Plans"): "propfind_team_docs_plans.xml",
    ("Team Docs", "Plans", "Q1 2024"): "propfind_team_docs_plans_q1.xml",
}
ROOT = f"{SERVER}/webdav/"
REPORT = f"{SERVER}/webdav/Team%20Docs/report%202024.pdf"


def webdav_url(segments: tuple[str, ...], *, collection: bool) -> str:
    """The URL the plugin asks for ``segments``: encoded segment by segment, and a collection
    with its trailing slash (as the plugin sends a ``PROPFIND``)."""
    path = webdav.encode_path(segments)
    return f"{ROOT}{path}/" if collection and segments else f"{ROOT}{path}"


def content_of(size: int, seed: str) -> bytes:
    """``size`` made-up bytes for a recorded file: PowerFolder's listings carry the length,
    not the content, and the contract compares the two."""
    pattern = seed.encode() or b"x"
    return (pattern * (size // len(pattern) + 1))[:size]


def ranged(body: bytes) -> Callable[[Any, Any], bytes]:
    """A ``requests-mock`` answer for a WebDAV ``GET``: the whole body, or the single range
    ``bytes=a-b`` as a ``206`` with its ``Content-Range``, as a WebDAV server answers."""

    def answer(request: Any, context: Any) -> bytes:
        asked = request.headers.get("Range", "")
        if asked.startswith("bytes=") and "," not in asked:
            first, _, last = asked.removeprefix("bytes=").partition("-")
            start = int(first)
            end = min(int(last), len(body) - 1) if last else len(body) - 1
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            part = body[start : end + 1]
        else:
            part = body
        context.headers["Content-Length"] = str(len(part))
        context.headers["Content-Type"] = "application/octet-stream"
        return part

    return answer


class TestPowerFolderContract(ProviderContract):
    """The contract over the recorded PowerFolder tree, connected with a bearer token."""

    provider = "powerfolder"
    plugin = "powerfolder=hub_powerfolder"
    # PowerFolder documents no OAuth2 scope, so the declaration must ask for none.
    known_scopes = frozenset()
    supports_range = True
    breadcrumbs = True
    # A PROPFIND with Depth: 1 answers a whole folder at once: PowerFolder never pages.
    paged = False

    @pytest.fixture
    def contract_auth_type(self) -> str:
        """OAuth2, not the kit's pick (basic comes first): a bearer token's top level is the
        WebDAV root, so the whole walk is ``PROPFIND``."""
        return "oauth2"

    @pytest.fixture
    def contract_integration(self) -> dict[str, Any]:
        """A self-hosted server: every URL hangs off ``serverUrl``. The integration brings its
        own OAuth client: the hub sends its hub-wide client only to servers an administrator
        approved, so an OAuth2 integration without one is refused (``client_not_allowed``)."""
        return {
            "clientId": "contract-client",
            "clientSecret": "contract-secret",
            "settings": {"serverUrl": SERVER},
        }

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        """Every recorded ``PROPFIND`` of the tree, a ``GET`` for every file they list, and the
        token endpoint refusing the connection's refresh token (``token_error.json``): the walk
        never refreshes, and the kit's refresh test installs its own answer over this one."""
        requests_mock.post(
            f"{SERVER}/oauth/token",
            status_code=400,
            content=(FIXTURES / "token_error.json").read_bytes(),
            headers=JSON,
        )
        for segments, fixture in LISTINGS.items():
            body = (FIXTURES / fixture).read_bytes()
            requests_mock.register_uri(
                "PROPFIND",
                webdav_url(segments, collection=True),
                content=body,
                status_code=207,
                headers=XML,
            )
            for entry in webdav.parse_multistatus(body):
                if entry.is_collection or entry.size is None:
                    continue
                inside = entry.segments[entry.segments.index("webdav") + 1 :]
                requests_mock.get(
                    webdav_url(inside, collection=False),
                    content=ranged(content_of(entry.size, entry.name)),
                )

    @pytest.fixture
    def contract_errors(self) -> list[ErrorCase]:
        """What a PowerFolder server answers when the item is gone, the account may not see it,
        the server is busy or broken or no WebDAV server, and a token it no longer accepts."""
        return [
            ErrorCase("PROPFIND", ROOT, 404, "not_found", text="Not Found"),
            ErrorCase("PROPFIND", ROOT, 403, "forbidden", text="Forbidden"),
            ErrorCase(
                "PROPFIND", ROOT, 429, "rate_limited", headers={"Retry-After": "60"}, text=""
            ),
            ErrorCase("PROPFIND", ROOT, 500, "upstream_failed", text="Internal Server Error"),
            # Not a WebDAV server at that address (or WebDAV switched off).
            ErrorCase("PROPFIND", ROOT, 405, "upstream_failed", text="Method Not Allowed"),
            ErrorCase("GET", REPORT, 404, "not_found", item="Team Docs/report 2024.pdf"),
            ErrorCase("GET", REPORT, 403, "forbidden", item="Team Docs/report 2024.pdf"),
            # A refused token whose refresh is refused too (contract_api): connect again.
            ErrorCase("PROPFIND", ROOT, 401, "reauth_required", text="Unauthorized"),
        ]
