"""PowerFolder offers no search, views or thumbnails to the hub (the README's "Search, views
and thumbnails" says why): the service declares none, the hub says so, and asking for them sends
nothing to the server."""

from __future__ import annotations

from typing import Any

import pytest

from hub.providers import Provider


def test_the_files_service_declares_no_search_views_or_thumbnails(provider: Provider) -> None:
    files = provider.service("files")

    assert files is not None
    assert (files.search, files.views, files.thumbnail) == (None, (), None)


def test_the_hub_lists_the_service_as_neither_searchable_nor_with_thumbnails(
    client: Any, basic_integration: dict[str, Any]
) -> None:
    answer = client.get(f"/api/integrations/{basic_integration['id']}/services")

    files = next(s for s in answer.get_json()["items"] if s["name"] == "files")
    assert (files["searchable"], files["thumbnails"], files["views"]) == (False, False, [])


@pytest.mark.parametrize(
    "path",
    [
        "search?q=report",
        "search?q=%3C%2Fd%3Aliteral%3E%5D%5D%3E%25_",
        "items/Team%20Docs%2Fa.png/thumbnail",
    ],
)
def test_asking_for_them_is_refused_without_calling_the_server(
    client: Any, basic_integration: dict[str, Any], requests_mock: Any, path: str
) -> None:
    answer = client.get(f"/api/integrations/{basic_integration['id']}/services/files/{path}")

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "not_supported"
    assert requests_mock.call_count == 0
