"""``/api/integrations``: create, read, list, change, delete, with every field validated."""

from __future__ import annotations

import logging

import pytest

from hub import accounts
from hub.db import database

OAUTH = {
    "name": "My API",
    "authType": "oauth2",
    "authUri": "https://auth.example.org/authorize",
    "tokenUri": "https://auth.example.org/token",
    "clientId": "client-id",
    "clientSecret": "top-secret-client-secret",
    "scope": "read write",
    "apiBaseUri": "https://api.example.org/v1",
}


@pytest.fixture
def alice_client(login, alice):
    return login("alice")


def create(client, **fields):
    body = {**OAUTH, **fields}
    response = client.post(
        "/api/integrations", json={k: v for k, v in body.items() if v is not None}
    )
    return response


# -- create and read ---------------------------------------------------------------------------


def test_create_answers_201_with_the_integration_and_no_secret(alice_client):
    response = create(alice_client)
    assert response.status_code == 201, response.json
    data = response.json
    assert data["naturalId"] == "alice:my-api" and data["slug"] == "my-api"
    assert data["provider"] == "custom" and data["connectionMode"] == "per-user"
    assert data["ownerId"] == "alice" and data["ownerType"] == "user"
    assert data["hasClientSecret"] is True and "clientSecret" not in data
    assert data["status"] == "not_connected" and data["access"] == "manage"
    assert data["redirectUri"] == "http://127.0.0.1:5000/oauth2/callback"
    assert "top-secret-client-secret" not in response.get_data(as_text=True)


def test_an_integration_is_found_by_number_and_by_natural_id(alice_client):
    created = create(alice_client).json
    assert alice_client.get(f"/api/integrations/{created['id']}").json == created
    assert alice_client.get("/api/integrations/alice:my-api").json == created


@pytest.mark.parametrize(
    "ref",
    ["999999", "alice:nope", "nobody:my-api", "garbage", ":", "alice:", "6³", "\uff11", "9" * 40],
)
def test_an_unknown_reference_is_404(alice_client, ref):
    create(alice_client)
    response = alice_client.get(f"/api/integrations/{ref}")
    assert response.status_code == 404


def test_a_team_owned_integration_has_a_team_natural_id(app, alice_client):
    with app.app_context(), database.connection_context():
        accounts.create_team("ops", members=["alice"])
    data = create(alice_client, ownerId="ops", slug="drive").json
    assert data["naturalId"] == "ops:drive" and data["ownerType"] == "team"


def test_nobody_creates_for_a_team_they_are_not_in(app, alice_client):
    with app.app_context(), database.connection_context():
        accounts.create_team("ops")
    response = create(alice_client, ownerId="ops")
    assert response.status_code == 403
    assert "ownerId" in response.json["error"]["fields"]


def test_an_unknown_owner_is_400(alice_client):
    response = create(alice_client, ownerId="ghost")
    assert response.status_code == 400
    assert "ownerId" in response.json["error"]["fields"]


def test_a_duplicate_slug_for_the_same_owner_is_409(alice_client):
    create(alice_client, slug="same")
    response = create(alice_client, slug="same")
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"slug": "taken for this owner"}


def test_the_same_slug_under_two_owners_is_fine(alice_client, login, bob):
    create(alice_client, slug="same")
    assert create(login("bob"), slug="same").status_code == 201


@pytest.mark.parametrize(
    "auth_type, extra",
    [
        ("apikey", {"settings": {"apiKeyHeader": "X-Api-Key"}}),
        ("basic", {}),
        ("bearer", {}),
    ],
)
def test_every_auth_type_can_be_created(alice_client, auth_type, extra):
    body = {
        "name": f"{auth_type} api",
        "authType": auth_type,
        "apiBaseUri": "https://api.example.org",
        **extra,
    }
    response = alice_client.post("/api/integrations", json=body)
    assert response.status_code == 201, response.json
    assert response.json["authType"] == auth_type


def test_a_provider_integration_takes_defaults_from_the_provider(alice_client):
    response = alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    assert response.status_code == 201, response.json
    assert response.json["authType"] == "oauth2" and response.json["authUri"] is None


def test_a_provider_setting_is_checked_and_required(alice_client):
    missing = alice_client.post("/api/integrations", json={"name": "PF", "provider": "powerfolder"})
    assert missing.status_code == 400
    assert "settings.serverUrl" in missing.json["error"]["fields"]
    ok = alice_client.post(
        "/api/integrations",
        json={
            "name": "PF",
            "provider": "powerfolder",
            "clientId": "hub-on-pf",
            "settings": {"serverUrl": "https://pf.example.org/"},
        },
    )
    assert ok.status_code == 201, ok.json
    assert ok.json["settings"]["serverUrl"] == "https://pf.example.org"


# -- validation of every field ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"provider": "nope"}, "provider"),
        ({"provider": "google", "authType": "basic"}, "authType"),
        ({"authType": "kerberos"}, "authType"),
        ({"connectionMode": "everyone"}, "connectionMode"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "has:colon"}, "slug"),
        ({"slug": "ünï"}, "slug"),
        ({"slug": "x" * 64}, "slug"),
        ({"name": ""}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"authUri": "not a url"}, "authUri"),
        ({"authUri": "ftp://auth.example.org/x"}, "authUri"),
        ({"tokenUri": "http://auth.example.org/token"}, "tokenUri"),
        ({"tokenUri": "https://user:pw@auth.example.org/token"}, "tokenUri"),
        ({"apiBaseUri": "https://127.0.0.1/api"}, "apiBaseUri"),
        ({"apiBaseUri": "https://169.254.169.254/latest"}, "apiBaseUri"),
        ({"apiBaseUri": "https://localhost/api"}, "apiBaseUri"),
        ({"apiBaseUri": None}, "apiBaseUri"),
        ({"authUri": None}, "authUri"),
        ({"scope": "read\nwrite"}, "scope"),
        ({"scope": 'quote"d'}, "scope"),
        ({"clientId": "x" * 2001}, "clientId"),
        ({"clientSecret": 12}, "clientSecret"),
        ({"headers": {"Authorization": "Bearer ${user.id}"}}, "headers.Authorization"),
        ({"headers": {"X-User": "${user.mail}"}}, "headers.X-User"),
        ({"headers": {"X-User": 3}}, "headers.X-User"),
        ({"headers": ["X-User"]}, "headers"),
        ({"settings": {"nope": 1}}, "settings.nope"),
        ({"settings": {"pkce": "yes"}}, "settings.pkce"),
        ({"settings": {"tokenAuth": "header"}}, "settings.tokenAuth"),
        ({"settings": {"endpoints": {"api": "https://x.example.org"}}}, "settings.endpoints.api"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_a_bad_field_is_400_naming_it(alice_client, changes, field):
    response = create(alice_client, **changes) if None not in changes.values() else None
    if response is None:
        body = {**OAUTH, **changes}
        response = alice_client.post(
            "/api/integrations", json={k: v for k, v in body.items() if v is not None}
        )
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["fields"], response.json


def test_oauth_fields_are_refused_for_other_auth_types(alice_client):
    response = alice_client.post(
        "/api/integrations",
        json={
            "name": "Key",
            "authType": "apikey",
            "apiBaseUri": "https://api.example.org",
            "clientSecret": "s",
        },
    )
    assert response.status_code == 400
    assert "clientSecret" in response.json["error"]["fields"]


def test_private_addresses_are_accepted_when_allowed(make_app, make_user, login):
    make_app(ALLOW_PRIVATE_ADDRESSES=True)
    make_user("carol")
    # The login fixture builds its own app on the same database: set the flag there too.
    client = login("carol")
    client.application.config["ALLOW_PRIVATE_ADDRESSES"] = True
    response = create(
        client, apiBaseUri="http://127.0.0.1:8080/api", tokenUri="http://127.0.0.1:8080/token"
    )
    assert response.status_code == 201, response.json


def test_every_error_is_reported_at_once(alice_client):
    response = create(alice_client, slug="BAD", authUri="nope", scope="a\nb")
    assert set(response.json["error"]["fields"]) >= {"slug", "authUri", "scope"}


# -- update and delete --------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(alice_client):
    created = create(alice_client).json
    response = alice_client.patch(f"/api/integrations/{created['id']}", json={"name": "Renamed"})
    assert response.status_code == 200
    assert response.json["name"] == "Renamed"
    assert response.json["scope"] == created["scope"] and response.json["hasClientSecret"]


def test_patch_can_clear_the_client_secret(alice_client):
    created = create(alice_client).json
    response = alice_client.patch(f"/api/integrations/{created['id']}", json={"clientSecret": None})
    assert response.json["hasClientSecret"] is False


def test_patch_validates_like_create(alice_client):
    created = create(alice_client).json
    response = alice_client.patch(f"/api/integrations/{created['id']}", json={"authUri": "nope"})
    assert response.status_code == 400
    assert "authUri" in response.json["error"]["fields"]


def test_patch_cannot_change_the_provider(alice_client):
    created = create(alice_client).json
    response = alice_client.patch(f"/api/integrations/{created['id']}", json={"provider": "google"})
    assert response.status_code == 400
    assert "provider" in response.json["error"]["fields"]


def test_an_empty_patch_is_400(alice_client):
    created = create(alice_client).json
    assert alice_client.patch(f"/api/integrations/{created['id']}", json={}).status_code == 400


def test_changing_the_auth_type_drops_credentials_of_the_old_type(alice_client):
    created = alice_client.post(
        "/api/integrations",
        json={"name": "K", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    ).json
    ref = created["id"]
    alice_client.post(f"/api/integrations/{ref}/connection", json={"token": "abc"})
    changed = alice_client.patch(f"/api/integrations/{ref}", json={"authType": "apikey"})
    assert changed.status_code == 200, changed.json
    assert alice_client.get(f"/api/integrations/{ref}/connection").json["status"] == "not_connected"


def test_renaming_the_slug_changes_the_natural_id(alice_client):
    created = create(alice_client).json
    alice_client.patch(f"/api/integrations/{created['id']}", json={"slug": "renamed"})
    assert alice_client.get("/api/integrations/alice:renamed").status_code == 200
    assert alice_client.get("/api/integrations/alice:my-api").status_code == 404


def test_delete_removes_the_integration(alice_client):
    created = create(alice_client).json
    assert alice_client.delete(f"/api/integrations/{created['id']}").status_code == 204
    assert alice_client.get(f"/api/integrations/{created['id']}").status_code == 404


# -- lists ------------------------------------------------------------------------------------


def test_the_list_pages_and_filters(alice_client):
    for n in range(3):
        create(alice_client, slug=f"api-{n}")
    alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    first = alice_client.get("/api/integrations?limit=2").json
    second = alice_client.get(f"/api/integrations?limit=2&cursor={first['nextCursor']}").json
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and second["nextCursor"] is None
    google = alice_client.get("/api/integrations?provider=google").json["items"]
    assert [i["provider"] for i in google] == ["google"]
    assert len(alice_client.get("/api/integrations?owner=alice").json["items"]) == 4
    assert alice_client.get("/api/integrations?owner=bob").json["items"] == []


def test_the_list_filters_by_the_callers_status(alice_client):
    created = alice_client.post(
        "/api/integrations",
        json={"name": "K", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    ).json
    create(alice_client)
    alice_client.post(f"/api/integrations/{created['id']}/connection", json={"token": "abc"})
    connected = alice_client.get("/api/integrations?status=connected").json["items"]
    idle = alice_client.get("/api/integrations?status=not_connected").json["items"]
    assert [i["id"] for i in connected] == [created["id"]]
    assert created["id"] not in [i["id"] for i in idle] and len(idle) == 1


def test_a_bad_status_filter_is_400(alice_client):
    response = alice_client.get("/api/integrations?status=sleepy")
    assert response.status_code == 400 and "status" in response.json["error"]["fields"]


# -- connections set by hand ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth_type, credentials",
    [
        ("apikey", {"apiKey": "key-value-123"}),
        ("basic", {"username": "svc", "password": "pass-value-123"}),
        ("bearer", {"token": "token-value-123"}),
        (
            "oauth2",
            {
                "accessToken": "access-value-123",
                "refreshToken": "refresh-value-123",
                "expiresIn": 3600,
            },
        ),
    ],
)
def test_credentials_set_by_hand_connect_and_are_never_shown(
    alice_client, auth_type, credentials, caplog
):
    caplog.set_level(logging.DEBUG)
    body = (
        {**OAUTH}
        if auth_type == "oauth2"
        else {"name": "X", "apiBaseUri": "https://api.example.org"}
    )
    created = alice_client.post("/api/integrations", json={**body, "authType": auth_type}).json
    response = alice_client.post(f"/api/integrations/{created['id']}/connection", json=credentials)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "connected" and response.json["holder"] == "user"
    status = alice_client.get(f"/api/integrations/{created['id']}/connection")
    listed = alice_client.get("/api/integrations")
    for secret in [v for v in credentials.values() if isinstance(v, str) and "value" in v]:
        for text in (
            response.get_data(as_text=True),
            status.get_data(as_text=True),
            listed.get_data(as_text=True),
            caplog.text,
        ):
            assert secret not in text
    assert alice_client.get(f"/api/integrations/{created['id']}").json["status"] == "connected"


def test_credentials_of_the_wrong_type_are_400_naming_the_fields(alice_client):
    created = alice_client.post(
        "/api/integrations",
        json={"name": "K", "authType": "basic", "apiBaseUri": "https://api.example.org"},
    ).json
    response = alice_client.post(
        f"/api/integrations/{created['id']}/connection", json={"token": "t"}
    )
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "username": "required",
        "password": "required",
        "token": "not used with authType basic",
    }


def test_each_user_has_their_own_per_user_connection(alice_client, login, bob):
    created = alice_client.post(
        "/api/integrations",
        json={"name": "K", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    ).json
    ref = created["id"]
    alice_client.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"})
    alice_client.post(f"/api/integrations/{ref}/connection", json={"token": "alice-token"})
    bob_client = login("bob")
    assert bob_client.get(f"/api/integrations/{ref}/connection").json["status"] == "not_connected"
    bob_client.post(f"/api/integrations/{ref}/connection", json={"token": "bob-token"})
    assert bob_client.delete(f"/api/integrations/{ref}/connection").status_code == 204
    assert alice_client.get(f"/api/integrations/{ref}/connection").json["status"] == "connected"


def test_connection_changes_are_audited_and_call_lifecycle_hooks(app, alice_client, monkeypatch):
    calls = []
    registry = app.extensions["hub"].registry
    monkeypatch.setattr(
        registry, "notify", lambda hook, **kw: calls.append((hook, kw["event"].status))
    )
    created = alice_client.post(
        "/api/integrations",
        json={"name": "K", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    ).json
    alice_client.post(f"/api/integrations/{created['id']}/connection", json={"token": "t"})
    alice_client.delete(f"/api/integrations/{created['id']}/connection")
    assert [c[0] for c in calls] == ["hub_connection_connected", "hub_connection_disconnected"]


# -- shares and audit --------------------------------------------------------------------------


def test_sharing_with_an_unknown_principal_is_404(alice_client):
    created = create(alice_client).json
    response = alice_client.put(
        f"/api/integrations/{created['id']}/shares/ghost", json={"access": "use"}
    )
    assert response.status_code == 404


def test_a_bad_access_level_is_400(alice_client, bob):
    created = create(alice_client).json
    response = alice_client.put(
        f"/api/integrations/{created['id']}/shares/bob", json={"access": "own"}
    )
    assert response.status_code == 400 and "access" in response.json["error"]["fields"]


def test_sharing_with_the_owner_is_400(alice_client):
    created = create(alice_client).json
    response = alice_client.put(
        f"/api/integrations/{created['id']}/shares/alice", json={"access": "use"}
    )
    assert response.status_code == 400


def test_shares_are_listed_and_changed(alice_client, bob):
    created = create(alice_client).json
    ref = created["id"]
    alice_client.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"})
    alice_client.put(f"/api/integrations/{ref}/shares/bob", json={"access": "edit"})
    shares = alice_client.get(f"/api/integrations/{ref}/shares").json["items"]
    assert shares == [{"principal": "bob", "principalType": "user", "access": "edit"}]


def test_the_audit_log_records_each_change_for_administrators(alice_client, login, admin, bob):
    created = create(alice_client).json
    ref = created["id"]
    alice_client.patch(f"/api/integrations/{ref}", json={"name": "Renamed"})
    alice_client.put(f"/api/integrations/{ref}/shares/bob", json={"access": "use"})
    alice_client.delete(f"/api/integrations/{ref}/shares/bob")
    alice_client.delete(f"/api/integrations/{ref}")
    root = login("admin")
    events = root.get("/api/audit?action=integration").json["items"]
    assert [e["action"] for e in events] == [
        "integration.delete",
        "integration.update",
        "integration.create",
    ]
    assert events[1]["details"] == {"fields": ["name"]}
    shares = root.get("/api/audit?action=share").json["items"]
    assert [e["action"] for e in shares] == ["share.delete", "share.set"]
    assert root.get("/api/audit?actor=alice&limit=2").json["nextCursor"]
    assert alice_client.get("/api/audit").status_code == 403
    assert "top-secret-client-secret" not in str(root.get("/api/audit?limit=200").json)
