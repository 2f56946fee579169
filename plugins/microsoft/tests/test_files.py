"""The operations unit-tested with the context they receive (``hub_context``), as the
provider declares them."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import NotFound, UpstreamFailed

API = "https://api.microsoft.example/v1"


def test_the_top_level_lists_folders_and_files(
    hub_context: Any, requests_mock: Any, recorded: Any, browse: Any
) -> None:
    requests_mock.get(f"{API}/list", json=recorded("root_page1"))

    with hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer") as ctx:
        page = browse(ctx, None, None, 50)

    assert [(i.name, i.kind) for i in page.items] == [("Reports", "folder"), ("notes.txt", "file")]
    assert page.next_cursor == "page-2" and page.path == []
    assert requests_mock.last_request.headers["Authorization"] == "Bearer t"
    assert requests_mock.last_request.qs["parent"] == ["root"]


def test_a_folder_has_its_breadcrumbs(
    hub_context: Any, requests_mock: Any, recorded: Any, browse: Any
) -> None:
    requests_mock.get(f"{API}/list", json=recorded("reports"))

    with hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer") as ctx:
        page = browse(ctx, "reports", None, 50)

    assert [(c.id, c.name) for c in page.path] == [("reports", "Reports")]


def test_a_missing_folder_is_not_found(
    hub_context: Any, requests_mock: Any, recorded: Any, browse: Any
) -> None:
    requests_mock.get(f"{API}/list", status_code=404, json=recorded("error_not_found"))

    context = hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer")
    with context as ctx, pytest.raises(NotFound):
        browse(ctx, "gone", None, 50)


def test_a_listing_without_entries_is_a_clear_upstream_failure(
    hub_context: Any, requests_mock: Any, browse: Any
) -> None:
    requests_mock.get(f"{API}/list", json={"unexpected": True})

    context = hub_context("microsoft", credentials={"token": "t"}, auth_type="bearer")
    with context as ctx, pytest.raises(UpstreamFailed, match="without entries"):
        browse(ctx, None, None, 50)
