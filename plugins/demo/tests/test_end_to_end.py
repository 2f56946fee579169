"""Through the hub's HTTP API: create a demo integration, connect through the Demo consent page,
browse two levels and download a file byte for byte; then lose the grant and see it explained."""

from __future__ import annotations

import hashlib

from hub_demo import server


def names(response):
    assert response.status_code == 200, response.get_json()
    return {item["name"]: item for item in response.get_json()["items"]}


def test_connect_browse_and_download(client, connected):
    ref = connected()
    status = client.get(f"/api/integrations/{ref}/connection").get_json()
    assert (status["status"], status["email"]) == ("connected", "demo@example.invalid")

    items = f"/api/integrations/{ref}/services/files/items"
    top = names(client.get(items))
    assert set(top) == {"Photos", "Reports", "Welcome.txt"}
    assert top["Reports"]["kind"] == "folder"
    reports = names(client.get(items, query_string={"parent": top["Reports"]["id"]}))
    year = names(client.get(items, query_string={"parent": reports["2026"]["id"]}))
    report = year["report.csv"]
    expected = server.FILES["Reports/2026/report.csv"][1]
    assert report["size"] == len(expected)

    downloaded = client.get(f"{items}/{report['id']}/download")
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.data).digest() == hashlib.sha256(expected).digest()
    assert "report.csv" in downloaded.headers["Content-Disposition"]

    ranged = client.get(f"{items}/{report['id']}/download", headers={"Range": "bytes=0-4"})
    assert ranged.status_code == 206 and ranged.data == expected[:5]


def test_client_credentials_from_the_configuration(tmp_path, monkeypatch, forward, demo):
    from hub.testing import make_hub_app, signed_in_client

    monkeypatch.setenv("HUB_DEMO", "1")
    app = make_hub_app(
        tmp_path,
        ALLOW_PRIVATE_ADDRESSES=True,
        DEMO_CLIENT_ID="hub-demo",
        DEMO_CLIENT_SECRET="demo-secret",
    )
    client = signed_in_client(app, "bob")
    created = client.post("/api/integrations", json={"name": "Demo", "provider": "demo"})
    assert created.status_code == 201, created.get_json()
    started = client.get(f"/api/integrations/{created.get_json()['id']}/connect")
    assert started.status_code == 302
    assert "client_id=hub-demo" in started.headers["Location"]


def test_revoked_grant_needs_reauthorisation(client, connected, demo):
    ref = connected()
    assert demo.post("/demo/revoke-all", json={}).status_code == 200
    answered = client.get(f"/api/integrations/{ref}/services/files/items")
    assert answered.status_code in (401, 409), answered.get_json()
    status = client.get(f"/api/integrations/{ref}/connection").get_json()
    assert status["status"] == "needs_reauth"
