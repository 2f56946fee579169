"""``/api/providers`` and the provider client credentials administrators store."""

from __future__ import annotations

import pytest

from hub import accounts
from hub.db import database


@pytest.fixture
def as_admin(login, admin):
    return login("admin")


def test_providers_lists_every_installed_provider(login, alice):
    body = login("alice").get("/api/providers").json
    names = {p["name"] for p in body["items"]}
    assert {"custom", "infomaniak", "powerfolder", "google"} <= names
    assert body["nextCursor"] is None


def test_a_provider_shows_auth_types_services_scopes_and_redirect_uri(login, alice):
    items = login("alice").get("/api/providers").json["items"]
    google = next(p for p in items if p["name"] == "google")
    assert google["authTypes"] == ["oauth2"]
    assert [s["name"] for s in google["services"]] == ["drive"]
    assert "openid" in google["defaultScopes"]
    assert google["oauth2"]["redirectUri"] == "http://127.0.0.1:5000/oauth2/callback"
    assert google["oauth2"]["clientCredentials"] == "none"
    assert google["plugin"] == "google"


def test_providers_need_a_signed_in_caller(client):
    assert client.get("/api/providers").status_code == 401


def test_an_unknown_provider_is_404(login, alice):
    response = login("alice").get("/api/providers/nope")
    assert response.status_code == 404


def test_a_provider_icon_is_served_safely(client):
    response = client.get("/api/providers/custom/icon")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_an_admin_stores_client_credentials_encrypted(as_admin, app):
    from hub.db import database
    from hub.models import ProviderCredential

    response = as_admin.put(
        "/api/providers/google/credentials",
        json={"clientId": "cid.apps.example", "clientSecret": "very-secret-value"},
    )
    assert response.status_code == 200
    assert response.json == {
        "provider": "google",
        "source": "stored",
        "clientId": "cid.apps.example",
        "hasClientSecret": True,
        "approvedOrigins": [],
    }
    assert "very-secret-value" not in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        row = ProviderCredential.get(provider="google")
        assert "very-secret-value" not in row.client_secret
        assert row.get_secret("client_secret").reveal() == "very-secret-value"


def test_environment_credentials_take_precedence(make_app, monkeypatch):
    from tests.conftest import PASSWORD

    monkeypatch.setenv("HUB_GOOGLE_CLIENT_ID", "from-env")
    app = make_app()
    with app.app_context(), database.connection_context():
        accounts.create_user("root", PASSWORD, is_superuser=True)
    client = app.test_client()
    client.post("/api/login", json={"username": "root", "password": PASSWORD})
    item = client.get("/api/providers/google").json
    assert item["oauth2"]["clientCredentials"] == "env"


def test_only_admins_store_credentials(login, alice):
    response = login("alice").put("/api/providers/google/credentials", json={"clientId": "x"})
    assert response.status_code == 403


def test_credentials_need_a_client_id(as_admin):
    response = as_admin.put("/api/providers/google/credentials", json={"clientSecret": "s"})
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"clientId": "required"}


def test_stored_credentials_can_be_removed(as_admin):
    as_admin.put("/api/providers/google/credentials", json={"clientId": "x"})
    assert as_admin.delete("/api/providers/google/credentials").status_code == 204
    assert as_admin.get("/api/providers/google/credentials").json["source"] == "none"
    assert as_admin.delete("/api/providers/google/credentials").status_code == 404


def test_a_provider_says_how_to_get_each_kind_of_credential(login, alice):
    infomaniak = login("alice").get("/api/providers/infomaniak").json
    assert infomaniak["authTypes"][0] == "bearer"
    assert "workspace:mail" in infomaniak["authHelp"]["bearer"]
    google = login("alice").get("/api/providers/google").json
    assert google["authHelp"] == {}
