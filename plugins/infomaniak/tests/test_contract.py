"""The hub's provider contract (:mod:`hub.contract`) run against the recorded Infomaniak answers:
kDrive (the ``Level 1/…/Level 8`` chain) and Mail (two mailboxes, short pages chained by
``resource_next``), walked through the hub's HTTP API with a personal token."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hub.contract import ErrorCase, ProviderContract
from hub_infomaniak.scopes import KNOWN_SCOPES

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.infomaniak.com"
MAIL = "https://mail.infomaniak.com"
DRIVE = 140946
DRIVES = re.compile(re.escape(f"{API}/2/drive/users/current/drives"))
MAILBOX = "3b1f4f0e-8a2c-4c57-9d1e-2f6a7b8c9d01"  # the recorded folders and messages are its
MESSAGES = re.compile(re.escape(f"{MAIL}/api/mail/{MAILBOX}") + r"/folder/([^/]+)/message(\?.*)?$")
MESSAGE_DOWNLOAD = re.compile(
    re.escape(f"{MAIL}/api/mail/{MAILBOX}") + r"/folder/[^/]+/message/(\d+)/"
)
ARCHIVE = "eJxzLCjKTM4sAQAJ2QJj"
INBOX = "eJzz9HPx8wcABkkCCQ"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def ranged(body: bytes, request: Any, context: Any) -> bytes:
    """``body``, or the part a ``Range: bytes=a-b`` asks for, answered 206."""
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range") or "")
    if match is None:
        context.headers["Content-Length"] = str(len(body))
        return body
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else len(body) - 1
    context.status_code = 206
    context.headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
    context.headers["Content-Length"] = str(end - start + 1)
    return body[start : end + 1]


def message_sizes() -> dict[str, int]:
    """The size each recorded message is listed with, by short uid."""
    sizes = {}
    for name in ("inbox_offset0.json", *(f"archive_offset{o}.json" for o in (0, 2, 4))):
        for thread in recorded(name)["data"]["threads"]:
            for message in thread["messages"]:
                sizes[message["uid"].partition("@")[0]] = message["size"]
    return sizes


class TestInfomaniakContract(ProviderContract):
    provider = "infomaniak"
    plugin = "infomaniak=hub_infomaniak"
    known_scopes = KNOWN_SCOPES

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        self._kdrive(requests_mock)
        self._mail(requests_mock)

    @pytest.fixture
    def contract_errors(self) -> list[ErrorCase]:
        def case(status: int, fixture: str, code: str, **more: Any) -> ErrorCase:
            return ErrorCase("GET", DRIVES, status, code, json=recorded(fixture), **more)

        mailboxes = f"{MAIL}/api/mailbox"
        return [
            case(404, "error_object_not_found.json", "not_found"),
            case(401, "error_not_authorized.json", "reauth_required"),
            case(403, "error_forbidden.json", "forbidden"),
            case(403, "error_all_scopes.json", "forbidden"),
            case(403, "error_product_blocked.json", "forbidden"),
            case(400, "error_limit_exceeded.json", "upstream_failed"),
            case(503, "error_drive_maintenance.json", "upstream_failed"),
            case(429, "error_too_many_request.json", "rate_limited"),
            ErrorCase(
                "GET",
                mailboxes,
                403,
                "forbidden",
                json=recorded("error_mailbox_locked.json"),
                service="mail",
            ),
            ErrorCase(
                "GET",
                mailboxes,
                429,
                "rate_limited",
                json=recorded("error_too_many_request.json"),
                service="mail",
            ),
        ]

    @staticmethod
    def _kdrive(requests_mock: Any) -> None:
        requests_mock.get(DRIVES, json=recorded("drives.json"))
        requests_mock.get(
            re.compile(re.escape(f"{API}/3/drive/") + r"\d+/files/1/files"),
            json={"result": "success", "data": [], "cursor": None, "has_more": False},
        )
        requests_mock.get(
            f"{API}/3/drive/{DRIVE}/files/1/files", json=recorded("deep_root_files.json")
        )
        for depth in range(1, 9):
            folder = f"{API}/3/drive/{DRIVE}/files/{100 + depth}"
            requests_mock.get(folder, json=recorded(f"deep_level{depth}.json"))
            requests_mock.get(f"{folder}/files", json=recorded(f"deep_level{depth}_files.json"))
            body = b"n" * 120  # each notes file is listed with 120 bytes
            requests_mock.get(
                f"{API}/2/drive/{DRIVE}/files/{200 + depth}/download",
                content=lambda request, context, body=body: ranged(body, request, context),
                headers={"Content-Disposition": f'attachment; filename="notes {depth}.txt"'},
            )

    @staticmethod
    def _mail(requests_mock: Any) -> None:
        requests_mock.get(f"{MAIL}/api/mailbox", json=recorded("mailboxes.json"))
        requests_mock.get(  # the other mailbox has no folder
            re.compile(re.escape(MAIL) + r"/api/mail/[^/]+/folder$"),
            json={"result": "success", "data": []},
        )
        requests_mock.get(f"{MAIL}/api/mail/{MAILBOX}/folder", json=recorded("folders.json"))

        def listing(request: Any, context: Any) -> Any:
            folder = MESSAGES.match(request.url).group(1)
            offset = request.qs.get("offset", ["0"])[0]
            if folder == ARCHIVE and offset in ("0", "2", "4"):
                return recorded(f"archive_offset{offset}.json")
            if folder == INBOX and offset == "0":
                return recorded("inbox_offset0.json")
            return recorded("empty_messages.json")

        requests_mock.get(MESSAGES, json=listing)
        sizes = message_sizes()

        def message(request: Any, context: Any) -> bytes:
            size = sizes[MESSAGE_DOWNLOAD.match(request.url).group(1)]
            head = b"Subject: recorded\r\n\r\n"
            context.headers["Content-Type"] = "message/rfc822"
            context.headers["Content-Length"] = str(size)
            return ranged(head + b"x" * (size - len(head)), request, context)

        requests_mock.get(MESSAGE_DOWNLOAD, content=message)
