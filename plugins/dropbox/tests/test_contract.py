"""The hub's provider contract, run against Dropbox's recorded answers (see recorded/README.md).

Dropbox's calls are all ``POST``: the recorded answers are matched by the JSON body of an RPC
call or the ``Dropbox-API-Arg`` header of a download (:class:`conftest.FakeDropbox`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dropbox_fakes import API, CONTENT, PICTURE, REPORTS, SEARCH_QUERY, FakeDropbox

from hub.contract import ErrorCase, ProviderContract

LIST = f"{API}/2/files/list_folder"
DOWNLOAD = f"{CONTENT}/2/files/download"
PRIMES = "id:a4ayc_80_OEAAAAAAAAAXw"
Y2024 = "id:a4ayc_80_OEAAAAAAAAAYf"


class TestDropboxContract(ProviderContract):
    provider = "dropbox"
    plugin = "dropbox=hub_dropbox"
    # The user scopes named by the routes of Dropbox's API spec (the ``scope`` attribute in
    # dropbox-api-spec's *.stone files); team scopes left out.
    known_scopes = frozenset(
        {
            "account_info.read",
            "account_info.write",
            "files.metadata.read",
            "files.metadata.write",
            "files.content.read",
            "files.content.write",
            "files.permanent_delete",
            "sharing.read",
            "sharing.write",
            "file_requests.read",
            "file_requests.write",
            "contacts.write",
            "openid",
        }
    )
    page_size = 2  # the recorded root is two pages
    search_query = SEARCH_QUERY  # two pages of matches: files/search_v2, then continue_v2
    thumbnail_item = PICTURE

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        FakeDropbox(requests_mock)

    @pytest.fixture
    def contract_errors(self, recorded: Callable[[str], Any]) -> list[ErrorCase]:
        def case(status: int, code: str, name: str, **extra: Any) -> ErrorCase:
            return ErrorCase("POST", LIST, status, code, json=recorded(name), **extra)

        return [
            case(409, "not_found", "error_not_found"),
            case(409, "not_found", "error_not_found", parent=REPORTS),
            case(409, "forbidden", "error_restricted_content"),
            case(409, "invalid", "error_malformed_path", parent=REPORTS),
            case(409, "invalid", "error_not_folder", parent=REPORTS),
            case(403, "forbidden", "error_no_permission"),
            case(429, "rate_limited", "error_too_many_requests", headers={"Retry-After": "300"}),
            case(401, "reauth_required", "error_invalid_access_token"),
            case(401, "forbidden", "error_missing_scope"),
            ErrorCase(
                "POST", DOWNLOAD, 409, "not_found", json=recorded("error_not_found"), item=PRIMES
            ),
            ErrorCase(
                "POST",
                DOWNLOAD,
                409,
                "invalid",
                json=recorded("error_unsupported_file"),
                item=PRIMES,
            ),
            ErrorCase(
                "POST",
                DOWNLOAD,
                416,
                "range_not_satisfiable",
                text="",
                headers={"Content-Range": "bytes */20"},
                item=PRIMES,
                request_headers={"Range": "bytes=100-200"},
            ),
        ]


class TestDropboxContractTwoLevelsDown(TestDropboxContract):
    """The same contract over a tree with a folder two levels down (``/Reports/2024``)."""

    @pytest.fixture
    def contract_api(self, requests_mock: Any, recorded: Callable[[str], Any]) -> None:
        dropbox = FakeDropbox(requests_mock)
        dropbox.rpc("files/list_folder", {"path": REPORTS}, recorded("reports_deeper"))
        dropbox.rpc("files/list_folder", {"path": Y2024}, recorded("y2024"))
        dropbox.rpc("files/get_metadata", {"path": Y2024}, recorded("y2024_metadata"))
