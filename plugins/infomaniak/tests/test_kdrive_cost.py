"""What opening a kDrive folder costs: a bounded number of calls to Infomaniak at any depth
(about 60 calls a minute are allowed per token), with breadcrumbs from the drive down.

The drive ``140946`` holds a chain ``Level 1/Level 2/…/Level 8`` (folder ids 101…108), each
level holding the next one and a file ``notes <d>.txt``."""

from __future__ import annotations

import pytest

API = "https://api.infomaniak.com"
DRIVE = 140946
MAX_CALLS = 4


@pytest.fixture
def deep_drive(requests_mock, recorded):
    """The recorded drive list, the root listing, and each level's record and listing."""
    requests_mock.get(f"{API}/2/drive/users/current/drives", json=recorded("drives.json"))
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/1/files", json=recorded("deep_root_files.json"))
    for depth in range(1, 9):
        folder = f"{API}/3/drive/{DRIVE}/files/{100 + depth}"
        requests_mock.get(folder, json=recorded(f"deep_level{depth}.json"))
        requests_mock.get(f"{folder}/files", json=recorded(f"deep_level{depth}_files.json"))


def open_folder(client, ref, folder_id):
    response = client.get(
        f"/api/integrations/{ref}/services/kdrive/items", query_string={"parent": folder_id}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def crumbs(page):
    return [(c["id"], c["name"]) for c in page["path"]]


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_opening_a_folder_cold_costs_at_most_four_calls_at_any_depth(
    client, bearer, deep_drive, requests_mock, depth
):
    open_folder(client, bearer, f"{DRIVE}:{100 + depth}")

    assert requests_mock.call_count <= MAX_CALLS


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_each_folder_opened_on_the_way_down_costs_at_most_four_calls(
    client, bearer, deep_drive, requests_mock, depth
):
    open_folder(client, bearer, f"{DRIVE}:1")
    for level in range(1, depth + 1):
        before = requests_mock.call_count
        open_folder(client, bearer, f"{DRIVE}:{100 + level}")

        assert requests_mock.call_count - before <= MAX_CALLS


def test_the_drive_list_is_not_read_again_for_every_folder(
    client, bearer, deep_drive, requests_mock
):
    for level in range(1, 9):
        open_folder(client, bearer, f"{DRIVE}:{100 + level}")

    drive_lists = [r for r in requests_mock.request_history if r.path.endswith("/drives")]
    assert len(drive_lists) == 1


def test_the_folders_record_is_read_with_its_path(client, bearer, deep_drive, requests_mock):
    open_folder(client, bearer, f"{DRIVE}:103")

    (record,) = [r for r in requests_mock.request_history if r.path.endswith("/files/103")]
    assert record.qs == {"with": ["path"]}


def test_a_folder_reached_from_the_top_has_every_ancestor_in_its_breadcrumbs(
    client, bearer, deep_drive
):
    for level in range(0, 8):
        open_folder(client, bearer, f"{DRIVE}:{100 + level}" if level else f"{DRIVE}:1")

    page = open_folder(client, bearer, f"{DRIVE}:108")

    assert crumbs(page) == [
        (f"{DRIVE}:1", "Lovelace Labs"),
        *((f"{DRIVE}:{100 + d}", f"Level {d}") for d in range(1, 9)),
    ]


def test_a_deep_folder_opened_first_has_the_drive_its_parent_and_itself(client, bearer, deep_drive):
    page = open_folder(client, bearer, f"{DRIVE}:108")

    assert crumbs(page) == [
        (f"{DRIVE}:1", "Lovelace Labs"),
        (f"{DRIVE}:107", "Level 7"),
        (f"{DRIVE}:108", "Level 8"),
    ]


def test_a_folder_renamed_since_it_was_listed_is_not_linked(
    client, bearer, deep_drive, requests_mock, recorded
):
    for level in range(0, 3):
        open_folder(client, bearer, f"{DRIVE}:{100 + level}" if level else f"{DRIVE}:1")
    renamed = recorded("deep_level3.json")
    renamed["data"]["path"] = "/Level 1/Renamed 2/Level 3"
    requests_mock.get(f"{API}/3/drive/{DRIVE}/files/103", json=renamed)

    page = open_folder(client, bearer, f"{DRIVE}:103")

    assert crumbs(page) == [
        (f"{DRIVE}:1", "Lovelace Labs"),
        (f"{DRIVE}:102", "Renamed 2"),
        (f"{DRIVE}:103", "Level 3"),
    ]


def test_a_second_page_reads_nothing_but_the_listing(client, bearer, deep_drive, requests_mock):
    client.get(
        f"/api/integrations/{bearer}/services/kdrive/items",
        query_string={"parent": f"{DRIVE}:103", "cursor": "abc"},
    )

    assert [r.path for r in requests_mock.request_history] == [f"/3/drive/{DRIVE}/files/103/files"]
