"""Item ids become WebDAV paths on a Java server, which reads ``..;`` as ``..`` and may decode
once more than the hub encoded: an id that could leave its folder in any such reading is refused
with ``400`` before anything is sent (SECURITY 33). The attacks go through the hub's HTTP API,
as a caller would make them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

SERVER = "https://pf.example.org"

ATTACK_IDS = [
    "Team Docs/..;/other user",
    "Team Docs/..;jsessionid=1/x",
    "Team Docs/.;/x",
    "Team Docs/%2e%2e/x",
    "Team Docs/%252e%252e/x",
    "Team Docs/%25252e%25252e/x",
    "Team Docs/%c0%ae%c0%ae/x",  # overlong UTF-8
    "Team Docs/%e0%80%ae%e0%80%ae/x",
    "Team Docs/\uff0e\uff0e/x",  # full-width full stops
    "Team Docs/\u2025/x",  # two dot leader
    "Team Docs/...",  # Windows trims it to "."
    "Team Docs/.. /x",
    "Team Docs/a%2f..%2f..%2fx",
    "Team Docs\\..\\x",
]


def download_url(integration, item_id):
    path = quote(item_id, safe="/")
    return f"/api/integrations/{integration['id']}/services/files/items/{path}/download"


@pytest.mark.parametrize("item_id", ATTACK_IDS)
def test_a_download_id_that_could_leave_its_folder_is_refused(
    client, basic_integration, requests_mock, item_id
):
    response = client.get(download_url(basic_integration, item_id))

    assert response.status_code == 400, response.json
    assert "itemId" in response.json["error"]["fields"]
    assert not requests_mock.called


@pytest.mark.parametrize("parent", ATTACK_IDS)
def test_a_parent_that_could_leave_its_folder_is_refused(
    client, basic_integration, requests_mock, parent
):
    url = f"/api/integrations/{basic_integration['id']}/services/files/items"
    response = client.get(url, query_string={"parent": parent})

    assert response.status_code == 400, response.json
    assert "parent" in response.json["error"]["fields"]
    assert not requests_mock.called


@pytest.mark.parametrize(
    "item_id, sent",
    [
        ("Team Docs/logo@2x.png", "Team%20Docs/logo%402x.png"),
        ("Team Docs/.hidden", "Team%20Docs/.hidden"),
        ("Team Docs/report.v1.final.pdf", "Team%20Docs/report.v1.final.pdf"),
        ("Team Docs/50% off.txt", "Team%20Docs/50%25%20off.txt"),
    ],
)
def test_ordinary_names_with_dots_and_at_signs_still_download(
    client, basic_integration, requests_mock, item_id, sent
):
    file = requests_mock.get(f"{SERVER}/webdav/{sent}", content=b"bytes")

    response = client.get(download_url(basic_integration, item_id))

    assert (response.status_code, response.data) == (200, b"bytes")
    assert file.call_count == 1
