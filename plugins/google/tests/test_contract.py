"""The hub's provider contract (:mod:`hub.contract`) run against Google Drive.

The kit walks a small Drive through the hub's HTTP API: the top level (My Drive and three shared
drives over two pages), My Drive over two pages with a shortcut to a folder shared from another
account, Projects / 2024, and the Engineering shared drive down to Specs. Google is played by
requests-mock from the bodies recorded in ``tests/recorded/`` (through :class:`FakeGoogle`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.contract import ErrorCase, ProviderContract
from hub_google import finding

# The conftest's values (test modules import no conftest under --import-mode=importlib).
RECORDED = Path(__file__).parent / "recorded"
DRIVE_API = "https://www.googleapis.com/drive/v3"
TOKEN_URL = "https://oauth2.googleapis.com/token"
DRIVES_URL = f"{DRIVE_API}/drives"
MY_DRIVE_ID = "0AHk2mYdRiVeRoOtUk9PVA"  # the real id behind Drive's alias "root"
REPORT_ID = "1RePoRtPdF9a8b7c6d"
REPORT_BYTES = bytes(range(256)) * 188 + bytes(range(85))  # the 48213 bytes meta_report lists
LOGO_BYTES = b"\x89PNG\r\n\x1a\n\x00"  # the 9 bytes meta_logo lists
LOGO_ID = "1LoGoPnGtArGeT0ccc"
# A real 1x1 PNG (grey), as Drive's thumbnail host serves one.
THUMBNAIL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200815cd0a1e60000000049454e44ae426082"
)

# Real Google scope names: OpenID Connect's with their userinfo.* long forms, and the Drive API's
# (https://developers.google.com/identity/protocols/oauth2/scopes#drive; the scope constants of
# Google's own Drive client libraries, e.g. Google.Apis.Drive.v2 DriveService.Scope).
GOOGLE_SCOPES = frozenset(
    {
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/drive.readonly",
        "https://www.googleapis.com/auth/drive.file",
        "https://www.googleapis.com/auth/drive.appdata",
        "https://www.googleapis.com/auth/drive.metadata",
        "https://www.googleapis.com/auth/drive.metadata.readonly",
        "https://www.googleapis.com/auth/drive.photos.readonly",
        "https://www.googleapis.com/auth/drive.apps.readonly",
        "https://www.googleapis.com/auth/drive.meet.readonly",
        "https://www.googleapis.com/auth/drive.scripts",
    }
)


def recorded(name: str) -> Any:
    """A response body recorded from Google, by file name without ``.json``."""
    return json.loads((RECORDED / f"{name}.json").read_text())


@dataclass(frozen=True)
class RefusedGrant(ErrorCase):
    """A ``401`` from Drive when the token cannot be refreshed: Google also refuses the refresh
    token (``invalid_grant``, recorded), as it does once the user removed the hub's access."""

    def install(self, requests_mock: Any) -> Callable[[], None]:
        refusals = [
            super().install(requests_mock),
            ErrorCase("POST", TOKEN_URL, 400, "", json=recorded("invalid_grant")).install(
                requests_mock
            ),
        ]
        return lambda: [remove() for remove in refusals] and None


def drive_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``drives.get`` of a shared drive as ``drives.list`` showed it (the same resource)."""
    return {"kind": "drive#drive", "id": entry["id"], "name": entry["name"]}


def drive_root_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``files.get`` of a shared drive's root folder, shaped like ``meta_engineering_root``:
    no parents, named "Drive", its ``driveId`` its own id."""
    return {**recorded("meta_engineering_root"), "id": entry["id"], "driveId": entry["id"]}


def media(body: bytes, mime_type: str) -> Callable[[Any, Any], bytes]:
    """``alt=media`` answering ``body``, with ``206`` and ``Content-Range`` for a ``Range`` of
    one span (``bytes=a-b`` or ``bytes=a-``), as Drive does."""

    def answer(request: Any, context: Any) -> bytes:
        context.headers["Content-Type"] = mime_type
        asked = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range") or "")
        part = body
        if asked:
            start = int(asked[1])
            end = min(int(asked[2]) if asked[2] else len(body) - 1, len(body) - 1)
            part = body[start : end + 1]
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
        context.headers["Content-Length"] = str(len(part))
        return part

    return answer


class TestGoogleContract(ProviderContract):
    """Google Drive keeps the hub's provider contract."""

    provider = "google"
    plugin = "google=hub_google"
    known_scopes = GOOGLE_SCOPES
    search_query = "report"
    thumbnail_item = LOGO_ID

    @pytest.fixture(autouse=True)
    def _no_real_waits(self, hub_clock: Any, waits: list[float]) -> None:
        """Rate limits are retried with backoff: the conftest's ``waits`` records the plugin's
        waits and the hub's clock absorbs the core's, so nothing here sleeps for real."""

    @pytest.fixture
    def contract_api(self, google: Any) -> None:
        """The recorded tree (see the module's docstring) and the downloads of its files, on
        the conftest's ``FakeGoogle`` (token, userinfo, and 404 for any file not recorded)."""
        page1, page2 = recorded("drives_page1"), recorded("drives_page2")
        google.drives(page1)
        google.drives(page2, page_token=page1["nextPageToken"])
        root1 = recorded("files_root_page1")
        google.folder("root", root1)
        google.folder("root", "files_root_page2", page_token=root1["nextPageToken"])
        google.folder("1PrOjEcTsFoLdEr7xQ", "files_projects")
        google.folder("1YeAr2024FoLdErqqq", "files_projects_2024")
        google.folder("1DeSiGnFoLdErTaRgT", "files_design")
        google.folder("0AEnGiNeErInGdRiVe", "files_engineering")
        google.folder("1SpEcSfOlDeRgGgggg", "files_specs")
        for entry in page1["drives"] + page2["drives"]:
            if entry["id"] == "0AEnGiNeErInGdRiVe":
                google.drive(entry["id"], "drive_engineering")
                google.file(entry["id"], "meta_engineering_root")
                continue
            # Finance and Marketing have no recorded contents: empty, like a new shared drive.
            google.folder(entry["id"], {"files": []})
            google.drive(entry["id"], drive_of(entry))
            google.file(entry["id"], drive_root_of(entry))

        # What the breadcrumbs walk up through; "root" is Drive's alias of My Drive's root.
        google.file("root", "meta_my_drive")
        google.file(MY_DRIVE_ID, "meta_my_drive")
        google.file("1PrOjEcTsFoLdEr7xQ", "meta_projects")
        google.file("1YeAr2024FoLdErqqq", "meta_projects_2024")
        google.file("1SpEcSfOlDeRgGgggg", "meta_specs")
        google.file("1DeSiGnFoLdErTaRgT", "meta_design_shared")

        # The files the kit downloads first: two with bytes, three Docs Editors files exported
        # through their export links (the default format of each).
        google.file(REPORT_ID, "meta_report")
        google.media(REPORT_ID, [{"content": media(REPORT_BYTES, "application/pdf")}])
        google.file("1LoGoPnGtArGeT0ccc", "meta_logo")
        google.media("1LoGoPnGtArGeT0ccc", [{"content": media(LOGO_BYTES, "image/png")}])
        self._find_and_see(google)
        for meta in ("meta_meeting_notes", "meta_budget_sheet", "meta_quarterly_slides"):
            google.file(recorded(meta)["id"], meta)
            for mime_type in recorded(meta)["exportLinks"]:
                exported = f"{meta} as {mime_type}".encode()
                google.export_link(meta, mime_type, [{"content": exported}])

    @staticmethod
    def _find_and_see(google: Any) -> None:
        """Search for "report" over two pages, the three views (recent over two pages), the
        folders their results live in, and the logo's thumbnail on Drive's thumbnail host."""

        def files(q: str, name: str, page_token: str | None = None) -> None:
            google.mocker.get(
                f"{DRIVE_API}/files",
                json=recorded(name),
                additional_matcher=lambda r: (
                    parse_qs(urlsplit(r.url).query).get("q") == [q]
                    and parse_qs(urlsplit(r.url).query).get("pageToken")
                    == ([page_token] if page_token else None)
                ),
            )

        found = finding.search_query("report")
        files(found, "search_report_page1")
        files(found, "search_report_page2", recorded("search_report_page1")["nextPageToken"])
        files("sharedWithMe = true and trashed = false", "files_shared_with_me")
        files("starred = true and trashed = false", "files_starred")
        recent = "mimeType != 'application/vnd.google-apps.folder' and trashed = false"
        files(recent, "files_recent_page1")
        files(recent, "files_recent_page2", recorded("files_recent_page1")["nextPageToken"])
        google.file("1RePoRtSfOlDeRkkkk", "meta_reports_folder")
        google.mocker.get(
            f"{DRIVE_API}/files/{LOGO_ID}",
            json=recorded("meta_logo_thumbnail"),
            additional_matcher=lambda r: "thumbnailLink" in urlsplit(r.url).query,
        )
        link = recorded("meta_logo_thumbnail")["thumbnailLink"].rsplit("=s", 1)[0]
        google.mocker.get(
            re.compile(re.escape(link) + r"=s[0-9]+$"),
            content=THUMBNAIL_PNG,
            headers={"Content-Type": "image/png"},
        )

    @pytest.fixture
    def contract_errors(self) -> list[ErrorCase]:
        """Google's recorded error answers and the hub errors they become (README, "Errors")."""
        # Strings: requests-mock then matches them whatever the query (fields, pageSize ...).
        drives = DRIVES_URL
        report = f"{DRIVE_API}/files/{REPORT_ID}"
        return [
            ErrorCase(
                "GET", report, 404, "not_found", json=recorded("error_not_found"), item=REPORT_ID
            ),
            ErrorCase(
                "GET",
                report,
                403,
                "forbidden",
                json=recorded("error_insufficient_permissions"),
                item=REPORT_ID,
            ),
            ErrorCase("GET", drives, 429, "rate_limited", json=recorded("error_too_many_requests")),
            ErrorCase("GET", drives, 403, "rate_limited", json=recorded("error_rate_limit")),
            ErrorCase("GET", drives, 403, "rate_limited", json=recorded("error_user_rate_limit")),
            ErrorCase("GET", drives, 503, "upstream_failed", json=recorded("error_backend")),
            # A token Google still refuses once refreshed (the refresh itself succeeds).
            ErrorCase("GET", drives, 401, "reauth_required", json=recorded("error_auth")),
            # Last: a refused grant leaves the connection needing re-authorization.
            RefusedGrant("GET", drives, 401, "reauth_required", json=recorded("error_auth")),
        ]
