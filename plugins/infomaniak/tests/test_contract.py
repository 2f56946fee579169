"""The hub's provider contract (:mod:`hub.contract`) run against the recorded Infomaniak answers:
kDrive (the ``Level 1/…/Level 8`` chain; search for "report" over two pages, the views, a
guest's drive reached through Shared with me, a picture's thumbnail) and Mail (two mailboxes,
short pages chained by ``resource_next``; search for "report" chained the same way), walked
through the hub's HTTP API with a personal token."""

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
OTHER_DRIVE = 287311
GUEST_DRIVE = 777001
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
    search_query = "report"
    thumbnail_item = f"{DRIVE}:301"

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        self._kdrive(requests_mock)
        self._kdrive_find(requests_mock)
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
    def _kdrive_find(requests_mock: Any) -> None:
        def by_cursor(first: str, second: str | None = None) -> Any:
            def answer(request: Any, context: Any) -> Any:
                return recorded(second if second and request.qs.get("cursor") else first)

            return answer

        search = f"{API}/3/drive/{DRIVE}/files/search"
        requests_mock.get(
            search, json=by_cursor("search_report_page1.json", "search_report_page2.json")
        )
        for drive in (OTHER_DRIVE,):
            for route in ("search", "last_modified", "favorites"):
                url = f"{API}/3/drive/{drive}/files/{route}"
                requests_mock.get(url, json=recorded("search_empty.json"))
        lists = {"last_modified": "last_modified.json", "favorites": "favorites.json"}
        for route, fixture in lists.items():
            requests_mock.get(f"{API}/3/drive/{DRIVE}/files/{route}", json=recorded(fixture))
        requests_mock.get(
            f"{API}/3/drive/files/shared_with_me",
            json=by_cursor("shared_with_me_page1.json", "shared_with_me_page2.json"),
        )
        guest = f"{API}/3/drive/{GUEST_DRIVE}/files/5001"
        requests_mock.get(guest, json=recorded("guest_board_papers.json"))
        requests_mock.get(f"{guest}/files", json=recorded("guest_board_papers_files.json"))
        requests_mock.get(f"{API}/3/drive/{DRIVE}/files/301", json=recorded("file_sunset.json"))
        requests_mock.get(
            f"{API}/2/drive/{DRIVE}/files/301/thumbnail",
            content=(FIXTURES / "thumbnail_sunset.png").read_bytes(),
            headers={"Content-Type": "image/png"},
        )

    @staticmethod
    def _mail_search(requests_mock: Any) -> None:
        def answer(request: Any, context: Any) -> Any:
            if request.qs.get("scontains") != ["report"]:
                return recorded("empty_messages.json")
            offset = request.qs.get("offset", ["0"])[0]
            return recorded(f"mail_search_offset{offset}.json")

        requests_mock.get(
            f"{MAIL}/api/mail/{MAILBOX}/folder/{INBOX}/message",
            json=lambda request, context: (
                answer(request, context)
                if "severywhere" in request.qs
                else TestInfomaniakContract._listing(request, context)
            ),
        )

    @staticmethod
    def _listing(request: Any, context: Any) -> Any:
        folder = MESSAGES.match(request.url).group(1)
        offset = request.qs.get("offset", ["0"])[0]
        if folder == ARCHIVE and offset in ("0", "2", "4"):
            return recorded(f"archive_offset{offset}.json")
        if folder == INBOX and offset == "0":
            return recorded("inbox_offset0.json")
        return recorded("empty_messages.json")

    @staticmethod
    def _mail(requests_mock: Any) -> None:
        requests_mock.get(f"{MAIL}/api/mailbox", json=recorded("mailboxes.json"))
        requests_mock.get(  # the other mailbox has no folder
            re.compile(re.escape(MAIL) + r"/api/mail/[^/]+/folder$"),
            json={"result": "success", "data": []},
        )
        requests_mock.get(f"{MAIL}/api/mail/{MAILBOX}/folder", json=recorded("folders.json"))

        requests_mock.get(MESSAGES, json=TestInfomaniakContract._listing)
        TestInfomaniakContract._mail_search(requests_mock)
        sizes = message_sizes()

        def message(request: Any, context: Any) -> bytes:
            size = sizes[MESSAGE_DOWNLOAD.match(request.url).group(1)]
            head = b"Subject: recorded\r\n\r\n"
            context.headers["Content-Type"] = "message/rfc822"
            context.headers["Content-Length"] = str(size)
            return ranged(head + b"x" * (size - len(head)), request, context)

        requests_mock.get(MESSAGE_DOWNLOAD, content=message)
