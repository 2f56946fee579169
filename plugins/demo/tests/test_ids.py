"""Item ids that would leave ``/api/content/`` on the Demo server in some server's reading are
refused with ``400`` before anything is sent (SECURITY 33): the attack goes through the hub's
download route, as a caller would make it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

ATTACK_IDS = [
    "Reports/../Welcome.txt",
    "Reports/..;/Welcome.txt",  # a Java server's ".."
    "..;jsessionid=1/x",
    "Reports/.;/x",
    "%2e%2e/x",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "%c0%ae%c0%ae/x",  # overlong UTF-8
    "%e0%80%ae%e0%80%ae/x",
    "\uff0e\uff0e/x",  # full-width full stops
    "\u2025/x",  # two dot leader
    "Reports%2f..%2fx",
    "Reports\\..\\x",
    "x%00y",
]


@pytest.mark.parametrize("item_id", ATTACK_IDS)
def test_an_id_that_could_leave_its_folder_is_refused_and_nothing_sent(
    client, connected, forward, item_id
):
    ref = connected()
    sent_before = forward.call_count

    url = f"/api/integrations/{ref}/services/files/items/{quote(item_id, safe='/')}/download"
    response = client.get(url)

    assert response.status_code == 400, response.get_json()
    assert "itemId" in response.get_json()["error"]["fields"]
    assert forward.call_count == sent_before


def test_an_ordinary_id_with_dots_still_downloads(client, connected, forward):
    ref = connected()

    response = client.get(f"/api/integrations/{ref}/services/files/items/Welcome.txt/download")

    assert response.status_code == 200
    assert forward.last_request.url.endswith("/api/content/Welcome.txt")
