"""A user's whole story through the hub's HTTP API, with Google played by requests-mock: create a
Google integration, connect the account, browse My Drive and a shared drive to the bottom,
download a file byte for byte and export a Google Doc as PDF (through its export link)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from hub.testing import fake_dns, make_hub_app, signed_in_client

BUDGET_CSV = b"month,amount\r\n" + bytes(range(256)) * 1024  # 256 KiB and every byte value
API_YAML = "openapi: 3.1.0\ninfo:\n  title: Ünïcode API\n".encode()


def names(response):
    assert response.status_code == 200, response.get_json()
    return {item["name"]: item for item in response.get_json()["items"]}


def test_connect_browse_download_and_export(tmp_path, monkeypatch, google):
    monkeypatch.setattr("hub.netguard.resolve_host", fake_dns())
    monkeypatch.setattr("hub.accounts._hasher", PasswordHasher.from_parameters(CHEAPEST))
    app = make_hub_app(
        tmp_path,
        GOOGLE_CLIENT_ID="123456789012-hub.apps.googleusercontent.com",
        GOOGLE_CLIENT_SECRET="GOCSPX-test-client-secret",
    )
    client = signed_in_client(app, "ada")

    # Create the integration: everything else comes from the provider's declaration.
    created = client.post("/api/integrations", json={"name": "Ada's Drive", "provider": "google"})
    assert created.status_code == 201, created.get_json()
    ref = created.get_json()["id"]
    items = f"/api/integrations/{ref}/services/drive/items"

    # Connect: the hub sends the browser to Google, Google sends it back with a code.
    started = client.get(f"/api/integrations/{ref}/connect")
    assert started.headers["Location"].startswith("https://accounts.google.com/o/oauth2/v2/auth")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    callback = client.get(
        "/oauth2/callback",
        query_string={
            "state": state,
            "code": "4/0AeaYSHBcode",
            "iss": "https://accounts.google.com",
        },
    )
    assert callback.status_code == 303
    status = client.get(f"/api/integrations/{ref}/connection").get_json()
    assert (status["status"], status["email"]) == ("connected", "ada@example.com")

    # The top level: My Drive and the shared drives, over two pages.
    google.drives("drives_page1")
    google.drives("drives_page2", page_token="~!!~AI9FV7RdrivesPage2")
    first = client.get(items)
    second = client.get(items, query_string={"cursor": first.get_json()["nextCursor"]})
    assert list(names(first)) == ["My Drive", "Engineering", "Finance"]
    assert list(names(second)) == ["Marketing"]

    # My Drive down to the bottom: Projects / 2024 / budget.csv.
    google.folder("root", "files_root_page1")
    google.folder("1PrOjEcTsFoLdEr7xQ", "files_projects")
    google.folder("1YeAr2024FoLdErqqq", "files_projects_2024")
    my_drive = names(client.get(items, query_string={"parent": names(first)["My Drive"]["id"]}))
    projects = names(client.get(items, query_string={"parent": my_drive["Projects"]["id"]}))
    year = names(client.get(items, query_string={"parent": projects["2024"]["id"]}))
    budget = year["budget.csv"]
    assert (budget["kind"], budget["size"]) == ("file", 2048)

    # ... and its bytes, identical.
    google.file(budget["id"], {"id": budget["id"], "name": "budget.csv", "mimeType": "text/csv"})
    google.media(budget["id"], [{"content": BUDGET_CSV, "headers": {"Content-Type": "text/csv"}}])
    downloaded = client.get(f"{items}/{budget['id']}/download")
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.data).digest() == hashlib.sha256(BUDGET_CSV).digest()
    assert "filename*=UTF-8''budget.csv" in downloaded.headers["Content-Disposition"]

    # A shared drive down to a file: Engineering / Specs / api.yaml.
    google.folder("0AEnGiNeErInGdRiVe", "files_engineering")
    google.folder("1SpEcSfOlDeRgGgggg", "files_specs")
    engineering = names(
        client.get(items, query_string={"parent": names(first)["Engineering"]["id"]})
    )
    specs = names(client.get(items, query_string={"parent": engineering["Specs"]["id"]}))
    spec = specs["api.yaml"]
    google.file(
        spec["id"], {"id": spec["id"], "name": "api.yaml", "mimeType": "application/x-yaml"}
    )
    google.media(spec["id"], [{"content": API_YAML}])
    assert client.get(f"{items}/{spec['id']}/download").data == API_YAML

    # A Google Doc exported as PDF.
    notes = my_drive["Meeting notes"]
    assert notes["exportFormats"] == ["docx", "pdf"]
    google.file(notes["id"], "meta_meeting_notes")
    google.export_link("meta_meeting_notes", "application/pdf", [{"content": b"%PDF-1.7 notes"}])
    exported = client.get(f"{items}/{notes['id']}/download", query_string={"format": "pdf"})
    assert (exported.status_code, exported.data) == (200, b"%PDF-1.7 notes")
    assert exported.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''Meeting%20notes.pdf" in exported.headers["Content-Disposition"]
