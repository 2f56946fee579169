"""The hub's provider contract, run against this plugin's recorded answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from hub.contract import ErrorCase, ProviderContract

API = "https://api.microsoft.example/v1"


def listing(parent: str, cursor: str | None = None) -> re.Pattern[str]:
    """The listing of ``parent`` (one page), whatever the limit asked."""
    query = re.escape(f"{API}/list?") + f"(.*&)?parent={re.escape(parent)}(&|$)"
    if cursor is None:
        return re.compile(f"^(?!.*cursor=){query}")
    return re.compile(f"^{query}.*cursor={re.escape(cursor)}")


class TestMicrosoftContract(ProviderContract):
    provider = "microsoft"
    plugin = "microsoft=hub_microsoft"
    known_scopes = frozenset({"files.read", "files.write"})

    @pytest.fixture
    def contract_api(self, requests_mock: Any, recorded: Callable[[str], Any]) -> None:
        requests_mock.get(listing("root"), json=recorded("root_page1"))
        requests_mock.get(listing("root", "page-2"), json=recorded("root_page2"))
        requests_mock.get(listing("reports"), json=recorded("reports"))
        files = {"notes.txt": b"Meeting notes\n", "q3.csv": b"quarter,total\n3,42\n"}
        for name, body in files.items():
            requests_mock.get(f"{API}/content/{name}", content=_ranged(body))

    @pytest.fixture
    def contract_errors(self, recorded: Callable[[str], Any]) -> list[ErrorCase]:
        return [
            ErrorCase("GET", listing("root"), 404, "not_found", json=recorded("error_not_found")),
            ErrorCase("GET", listing("root"), 403, "forbidden", json=recorded("error_forbidden")),
            ErrorCase(
                "GET", listing("root"), 429, "rate_limited", json=recorded("error_rate_limited"),
                headers={"Retry-After": "120"},
            ),
        ]  # fmt: skip


def _ranged(body: bytes) -> Callable[[Any, Any], bytes]:
    """An answer that honours ``Range: bytes=0-0`` as the provider does."""

    def answer(request: Any, context: Any) -> bytes:
        chunk = body
        if request.headers.get("Range") == "bytes=0-0":
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes 0-0/{len(body)}"
            chunk = body[:1]
        context.headers["Content-Length"] = str(len(chunk))
        return chunk

    return answer
