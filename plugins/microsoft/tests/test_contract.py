"""The hub's provider contract, run against Graph's recorded answers (``recorded_graph``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from recorded_graph import DRIVE, GRAPH, PHOTO, at, install, q

from hub.contract import ErrorCase, ProviderContract

ROOT = at("/me/drive/root/children")
NOTES = f"{DRIVE}:01BYE5RZ2JDIXXVHMHRFBKQVIQF6KMUDZS"
NOTES_PATH = f"/drives/{q(DRIVE)}/items/01BYE5RZ2JDIXXVHMHRFBKQVIQF6KMUDZS"

# Graph's delegated permissions (learn.microsoft.com/graph/permissions-reference) this plugin
# may ask for, and the OpenID scopes of the identity platform.
KNOWN_SCOPES = frozenset(
    {
        "offline_access",
        "openid",
        "profile",
        "email",
        "User.Read",
        "Files.Read",
        "Files.Read.All",
        "Files.ReadWrite",
        "Files.ReadWrite.All",
        "Sites.Read.All",
        "Sites.ReadWrite.All",
    }
)


class TestMicrosoftContract(ProviderContract):
    provider = "microsoft"
    plugin = "microsoft=hub_microsoft"
    known_scopes = KNOWN_SCOPES
    search_query = "report"
    thumbnail_item = f"{DRIVE}:{PHOTO}"

    @pytest.fixture
    def contract_auth_type(self) -> str:
        """OAuth2, the way most users connect (and the one whose refresh the kit checks)."""
        return "oauth2"

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        install(requests_mock)

    @pytest.fixture
    def contract_errors(self, recorded: Callable[[str], Any]) -> list[ErrorCase]:
        return [
            ErrorCase("GET", ROOT, 404, "not_found", json=recorded("error_not_found")),
            ErrorCase("GET", ROOT, 403, "forbidden", json=recorded("error_forbidden")),
            ErrorCase(
                "GET", ROOT, 429, "rate_limited", json=recorded("error_throttled"),
                headers={"Retry-After": "120"},
            ),
            ErrorCase(
                "GET", ROOT, 503, "rate_limited", json=recorded("error_throttled"),
                headers={"Retry-After": "300"},
            ),
            ErrorCase("GET", ROOT, 500, "upstream_failed", text="<html>oops</html>"),
            ErrorCase(
                "GET", at(NOTES_PATH), 404, "not_found", json=recorded("error_not_found"),
                item=NOTES,
            ),
            # A download redirected anywhere but a Microsoft download host is refused.
            ErrorCase(
                "GET", at(NOTES_PATH + "/content"), 302, "upstream_failed",
                headers={"Location": "https://attacker.example/steal"}, item=NOTES,
            ),
            ErrorCase(
                "GET", re.compile(re.escape(GRAPH) + r"/sites\?"), 403, "forbidden",
                json=recorded("error_forbidden"), service="sharepoint",
            ),
        ]  # fmt: skip
