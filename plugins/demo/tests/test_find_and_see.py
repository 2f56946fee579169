"""Through the hub's HTTP API on the Demo server: search, the Recent view, thumbnails."""

from __future__ import annotations

import pytest

from hub_demo import server


def items(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_search_finds_by_name_with_the_folder_each_lives_in(client, connected):
    ref = connected()
    found = items(client.get(f"/api/integrations/{ref}/services/files/search?q=SEA"))
    assert [(i["name"], i["parent"]) for i in found["items"]] == [
        ("sea.png", {"id": "Photos", "name": "Photos"})
    ]
    # the result's folder opens with the ordinary browse
    folder = items(
        client.get(
            f"/api/integrations/{ref}/services/files/items",
            query_string={"parent": found["items"][0]["parent"]["id"]},
        )
    )
    assert "sea.png" in {i["name"] for i in folder["items"]}


def test_search_pages_to_the_end(client, connected):
    ref = connected()
    url = f"/api/integrations/{ref}/services/files/search"
    seen, cursor = [], None
    while True:
        page = items(client.get(url, query_string={"q": "s", "limit": 2, "cursor": cursor or ""}))
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    expected = [k for k in server.FILES if "s" in server.FILES[k][0].casefold()]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


@pytest.mark.parametrize("query", ['"', "\\", "*", "name contains 'x'", "%", "' or '1'='1"])
def test_a_query_is_text_to_find_never_syntax(client, connected, query):
    ref = connected()
    found = items(
        client.get(f"/api/integrations/{ref}/services/files/search", query_string={"q": query})
    )
    assert found["items"] == []


def test_an_empty_query_is_refused_naming_q(client, connected):
    ref = connected()
    for value in ("", "   "):
        response = client.get(
            f"/api/integrations/{ref}/services/files/search", query_string={"q": value}
        )
        assert response.status_code == 400
        assert "q" in response.get_json()["error"]["fields"]


def test_the_recent_view_is_listed_and_browsed(client, connected):
    ref = connected()
    views = items(client.get(f"/api/integrations/{ref}/services/files/views"))
    assert [v["name"] for v in views["items"]] == ["recent"]
    recent = items(client.get(f"/api/integrations/{ref}/services/files/views/recent"))
    assert {i["name"] for i in recent["items"]} >= {"Welcome.txt", "report.csv"}
    unknown = client.get(f"/api/integrations/{ref}/services/files/views/starred")
    assert unknown.status_code == 404
    assert "recent" in unknown.get_json()["error"]["message"]


def test_a_pictures_thumbnail_is_served_as_an_icon_is(client, connected):
    ref = connected()
    response = client.get(
        f"/api/integrations/{ref}/services/files/items/Photos/sea.png/thumbnail?size=64"
    )
    assert response.status_code == 200
    assert response.data == server.FILES["Photos/sea.png"][1]
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_text_file_has_no_thumbnail(client, connected):
    ref = connected()
    response = client.get(f"/api/integrations/{ref}/services/files/items/Welcome.txt/thumbnail")
    assert response.status_code == 404
    assert "Welcome" not in response.get_data(as_text=True)


@pytest.mark.parametrize("size", [0, 15, 1025, "big"])
def test_a_thumbnail_size_out_of_range_is_refused(client, connected, size):
    ref = connected()
    response = client.get(
        f"/api/integrations/{ref}/services/files/items/Photos/sea.png/thumbnail",
        query_string={"size": size},
    )
    assert response.status_code == 400
    assert "size" in response.get_json()["error"]["fields"]


def test_someone_who_cannot_see_the_integration_finds_nothing(hub, client, connected):
    from hub.testing import signed_in_client

    ref = connected()
    stranger = signed_in_client(hub, "eve")
    for path in ("search?q=sea", "views", "views/recent", "items/Photos/sea.png/thumbnail"):
        response = stranger.get(f"/api/integrations/{ref}/services/files/{path}")
        assert response.status_code == 404, path


def test_the_sources_pages_search_list_views_and_show_thumbnails(client, connected):
    ref = connected()
    top = client.get(f"/integrations/{ref}/browse/files")
    text = top.get_data(as_text=True)
    assert top.status_code == 200
    assert 'role="search"' in text and ">Recent</a>" in text

    results = client.get(f"/integrations/{ref}/browse/files/search", query_string={"q": "sea"})
    text = results.get_data(as_text=True)
    assert results.status_code == 200
    assert "Results for “sea”" in text and "sea.png" in text
    assert f'href="/integrations/{ref}/browse/files?parent=Photos">Photos</a>' in text

    recent = client.get(f"/integrations/{ref}/browse/files/views/recent")
    assert recent.status_code == 200 and "report.csv" in recent.get_data(as_text=True)

    photos = client.get(f"/integrations/{ref}/browse/files", query_string={"parent": "Photos"})
    text = photos.get_data(as_text=True)
    thumbnail = f"/api/integrations/{ref}/services/files/items/Photos/sea.png/thumbnail?size=256"
    assert 'loading="lazy"' in text and thumbnail in text
    assert client.get(thumbnail).status_code == 200

    nothing = client.get(f"/integrations/{ref}/browse/files/search", query_string={"q": "zzz"})
    assert "Nothing found." in nothing.get_data(as_text=True)
