"""Administration over the API, with the admin pages' rules: deactivate, reactivate and delete
users, delete teams, list a team's members. Administrators only; every action audited."""

from __future__ import annotations

import pytest

from hub import accounts
from hub.db import database
from tests.conftest import PASSWORD

# (method, path, success status) of every route this module covers.
ADMIN_ROUTES = [
    ("POST", "/api/users/bob/deactivate", 200),
    ("POST", "/api/users/bob/reactivate", 200),
    ("DELETE", "/api/users/bob", 204),
    ("DELETE", "/api/teams/ops", 204),
    ("GET", "/api/teams/ops/members", 200),
]


@pytest.fixture
def world(app, make_user):
    """Admin ``root``; alice is an admin of team ops (with bob as member), bob a plain user."""
    make_user("root", superuser=True)
    for name in ("alice", "bob", "carol"):
        make_user(name)
    with app.app_context(), database.connection_context():
        team = accounts.create_team("ops", members=["alice", "bob"])
        accounts.set_membership(team, accounts.get_user("alice"), "admin")


def sign_in(app, name, password=PASSWORD):
    client = app.test_client()
    response = client.post("/api/login", json={"username": name, "password": password})
    return client, response.status_code


def audit_actions(app, action):
    root, _ = sign_in(app, "root")
    items = root.get("/api/audit", query_string={"action": action}).json["items"]
    return [(e["actor"], e["targetId"]) for e in items if e["action"] == action]


def integration_of(client, name, **fields):
    body = {"name": name, "authType": "bearer", "apiBaseUri": "https://api.example.org"}
    response = client.post("/api/integrations", json={**body, **fields})
    assert response.status_code == 201, response.json
    return response.json["id"]


# -- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, ok", ADMIN_ROUTES)
@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_non_superusers_get_403_and_nothing_changes(app, world, who, method, path, ok):
    """Alice is the team's admin, bob the target himself: neither is an administrator."""
    client, _ = sign_in(app, who)
    response = client.open(path, method=method)
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "forbidden"
    root, _ = sign_in(app, "root")
    assert root.get("/api/users/bob").json["isActive"] is True
    assert root.get("/api/teams/ops").status_code == 200


@pytest.mark.parametrize("method, path, ok", ADMIN_ROUTES)
def test_anonymous_callers_get_401(app, world, method, path, ok):
    assert app.test_client().open(path, method=method).status_code == 401


@pytest.mark.parametrize("method, path, ok", ADMIN_ROUTES)
def test_a_superuser_may(app, world, method, path, ok):
    root, _ = sign_in(app, "root")
    assert root.open(path, method=method).status_code == ok


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/users/nobody/deactivate"),
        ("POST", "/api/users/nobody/reactivate"),
        ("DELETE", "/api/users/nobody"),
        ("DELETE", "/api/users/ops"),  # a team is not a user
        ("DELETE", "/api/teams/nobody"),
        ("DELETE", "/api/teams/bob"),  # a user is not a team
        ("GET", "/api/teams/nobody/members"),
    ],
)
def test_unknown_names_are_404(app, world, method, path):
    root, _ = sign_in(app, "root")
    assert root.open(path, method=method).status_code == 404


def test_a_deactivated_superusers_token_administers_nothing(app, world, make_user, token_for):
    make_user("root2", superuser=True)
    headers = token_for("root2")
    root, _ = sign_in(app, "root")
    assert root.post("/api/users/root2/deactivate").status_code == 200
    client = app.test_client()
    for method, path, _ in ADMIN_ROUTES:
        assert client.open(path, method=method, headers=headers).status_code == 401
    assert root.get("/api/users/bob").json["isActive"] is True


# -- deactivate and reactivate -----------------------------------------------------------------


def test_deactivation_ends_sessions_refuses_tokens_and_sign_in(app, world, token_for):
    headers = token_for("bob")
    bob, _ = sign_in(app, "bob")
    assert bob.get("/api/me").status_code == 200
    root, _ = sign_in(app, "root")
    response = root.post("/api/users/bob/deactivate")
    assert response.status_code == 200 and response.json["isActive"] is False
    assert bob.get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers=headers).status_code == 401
    assert sign_in(app, "bob")[1] != 200
    assert audit_actions(app, "user.deactivate") == [("root", "bob")]

    response = root.post("/api/users/bob/reactivate")
    assert response.status_code == 200 and response.json["isActive"] is True
    assert bob.get("/api/me").status_code == 401  # the ended session stays ended
    assert app.test_client().get("/api/me", headers=headers).status_code == 200
    assert sign_in(app, "bob")[1] == 200
    assert audit_actions(app, "user.activate") == [("root", "bob")]


def test_deactivating_twice_changes_nothing_and_audits_once(app, world):
    root, _ = sign_in(app, "root")
    assert root.post("/api/users/bob/deactivate").status_code == 200
    assert root.post("/api/users/bob/deactivate").status_code == 200
    assert len(audit_actions(app, "user.deactivate")) == 1


def test_nobody_deactivates_themselves(app, world):
    root, _ = sign_in(app, "root")
    response = root.post("/api/users/root/deactivate")
    assert response.status_code == 409
    assert root.get("/api/me").status_code == 200


def test_the_response_never_shows_the_password_hash(app, world):
    root, _ = sign_in(app, "root")
    text = root.post("/api/users/bob/deactivate").get_data(as_text=True)
    assert "argon2" not in text and "password" not in text.lower()


def test_a_cross_site_form_cannot_deactivate_with_the_admins_cookie(app, world):
    """What an HTML form on another site would send with the administrator's cookie."""
    root, _ = sign_in(app, "root")
    response = root.post(
        "/api/users/bob/deactivate",
        data="x=1",
        content_type="text/plain",
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "csrf_failed"
    assert root.get("/api/users/bob").json["isActive"] is True


# -- delete a user -----------------------------------------------------------------------------


def test_a_user_who_owns_integrations_is_not_deleted(app, world):
    bob, _ = sign_in(app, "bob")
    integration_of(bob, "Bob Drive")
    integration_of(bob, "Bob Mail")
    root, _ = sign_in(app, "root")
    response = root.delete("/api/users/bob")
    assert response.status_code == 409
    error = response.json["error"]
    assert error["fields"]["integrations"] == "bob:bob-drive, bob:bob-mail"
    assert "bob:bob-drive" in error["message"]
    assert root.get("/api/users/bob").status_code == 200
    assert bob.get("/api/me").status_code == 200
    assert audit_actions(app, "user.delete") == []


def test_deleting_a_user_removes_their_access_everywhere(app, world, token_for):
    headers = token_for("bob")
    alice, _ = sign_in(app, "alice")
    ref = integration_of(alice, "Alice API")
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "manage"})
    bob, _ = sign_in(app, "bob")
    secret = "bobs-provider-token-0123456789"
    assert (
        bob.post(f"/api/integrations/{ref}/connection", json={"token": secret}).status_code == 200
    )

    root, _ = sign_in(app, "root")
    assert root.delete("/api/users/bob").status_code == 204
    assert root.get("/api/users/bob").status_code == 404
    assert bob.get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers=headers).status_code == 401
    assert sign_in(app, "bob")[1] != 200
    assert alice.get(f"/api/integrations/{ref}/shares").json["items"] == []
    assert alice.get(f"/api/integrations/{ref}/connections").json["items"] == []
    members = root.get("/api/teams/ops/members").json["items"]
    assert [m["user"] for m in members] == ["alice"]
    assert audit_actions(app, "user.delete") == [("root", "bob")]


def test_a_new_user_with_a_deleted_name_inherits_nothing(app, world):
    alice, _ = sign_in(app, "alice")
    ref = integration_of(alice, "Alice API")
    alice.put(f"/api/integrations/{ref}/shares/bob", json={"access": "manage"})
    root, _ = sign_in(app, "root")
    assert root.delete("/api/users/bob").status_code == 204
    assert root.post("/api/users", json={"name": "bob", "password": PASSWORD}).status_code == 201
    newbob, _ = sign_in(app, "bob")
    assert newbob.get(f"/api/integrations/{ref}").status_code == 404
    assert newbob.get("/api/integrations").json["items"] == []
    assert root.get("/api/teams/ops/members").json["items"][-1]["user"] == "alice"


def test_nobody_deletes_themselves(app, world):
    root, _ = sign_in(app, "root")
    response = root.delete("/api/users/root")
    assert response.status_code == 409
    assert root.get("/api/me").status_code == 200


def test_an_administrator_deletes_another_but_never_the_last(app, world, make_user):
    make_user("root2", superuser=True)
    root, _ = sign_in(app, "root")
    assert root.delete("/api/users/root2").status_code == 204
    # Only root is left: and root cannot delete nor deactivate root.
    assert root.delete("/api/users/root").status_code == 409
    assert root.post("/api/users/root/deactivate").status_code == 409


def test_the_last_active_administrator_is_not_deleted_by_the_domain_function(app, world):
    """The API cannot reach this case (the caller is an active administrator), the command line
    or a script can: the rule is in hub.accounts."""
    from hub.errors import Conflict

    with app.app_context(), database.connection_context():
        with pytest.raises(Conflict, match="last active administrator"):
            accounts.delete_user(accounts.get_user("root"))
        assert accounts.get_user("root").is_active


# -- teams -------------------------------------------------------------------------------------


def test_a_team_that_owns_integrations_is_not_deleted(app, world):
    alice, _ = sign_in(app, "alice")
    integration_of(alice, "Ops Drive", ownerId="ops")
    root, _ = sign_in(app, "root")
    response = root.delete("/api/teams/ops")
    assert response.status_code == 409
    assert response.json["error"]["fields"]["integrations"] == "ops:ops-drive"
    assert root.get("/api/teams/ops").status_code == 200
    assert audit_actions(app, "team.delete") == []


def test_deleting_a_team_ends_the_access_shared_with_it(app, world):
    carol, _ = sign_in(app, "carol")
    ref = integration_of(carol, "Carol API")
    carol.put(f"/api/integrations/{ref}/shares/ops", json={"access": "use"})
    bob, _ = sign_in(app, "bob")
    assert bob.get(f"/api/integrations/{ref}").status_code == 200
    root, _ = sign_in(app, "root")
    assert root.delete("/api/teams/ops").status_code == 204
    assert bob.get(f"/api/integrations/{ref}").status_code == 404
    assert root.get("/api/teams/ops").status_code == 404
    assert root.get("/api/users/bob").status_code == 200  # members stay users
    assert audit_actions(app, "team.delete") == [("root", "ops")]


def test_a_team_admin_cannot_delete_their_team(app, world):
    alice, _ = sign_in(app, "alice")
    assert alice.delete("/api/teams/ops").status_code == 403


# -- members -----------------------------------------------------------------------------------


def test_members_page_to_the_end_with_a_stable_cursor(app, world, make_user):
    for name in ("dan", "erin"):
        make_user(name)
    root, _ = sign_in(app, "root")
    for name in ("dan", "erin"):
        root.put(f"/api/teams/ops/members/{name}", json={"role": "member"})
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = root.get("/api/teams/ops/members", query_string=params).json
        assert body == root.get("/api/teams/ops/members", query_string=params).json
        seen += [(m["user"], m["role"]) for m in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == [("alice", "admin"), ("bob", "member"), ("dan", "member"), ("erin", "member")]
    item = root.get("/api/teams/ops/members").json["items"][0]
    assert set(item) == {"user", "displayName", "role", "joinedAt"}


@pytest.mark.parametrize(
    "params, field",
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"cursor": "x"}, "cursor")],
)
def test_bad_paging_is_400_naming_the_field(app, world, params, field):
    root, _ = sign_in(app, "root")
    response = root.get("/api/teams/ops/members", query_string=params)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]
