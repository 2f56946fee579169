"""Users, teams and team members over the API."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def as_admin(login, admin):
    return login("admin")


def test_an_admin_creates_a_user_who_can_then_sign_in(as_admin, app):
    response = as_admin.post(
        "/api/users",
        json={"name": "dora", "password": "long enough pw", "email": "dora@example.org"},
    )
    assert response.status_code == 201
    assert response.json["name"] == "dora" and response.json["email"] == "dora@example.org"
    signed = app.test_client().post(
        "/api/login", json={"username": "dora", "password": "long enough pw"}
    )
    assert signed.status_code == 200


def test_a_non_admin_cannot_create_users(login, alice):
    response = login("alice").post("/api/users", json={"name": "eve", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_a_taken_name_is_409_naming_the_field(as_admin, alice):
    response = as_admin.post("/api/users", json={"name": "alice", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"name": "taken"}


@pytest.mark.parametrize(
    "name", ["", "Alice", "has space", "-dash", "a" * 64, "ünï", "tab\tname", "slash/name", 7]
)
def test_a_bad_user_name_is_400_naming_the_field(as_admin, name):
    response = as_admin.post("/api/users", json={"name": name, "password": PASSWORD})
    assert response.status_code == 400
    assert "name" in response.json["error"]["fields"]


def test_a_short_password_is_400(as_admin):
    response = as_admin.post("/api/users", json={"name": "frank", "password": "short"})
    assert response.status_code == 400
    assert "password" in response.json["error"]["fields"]


def test_unknown_fields_are_refused(as_admin):
    response = as_admin.post(
        "/api/users", json={"name": "gina", "password": PASSWORD, "role": "god"}
    )
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"role": "unknown field"}


def test_a_body_that_is_not_an_object_is_refused(as_admin):
    response = as_admin.post("/api/users", json=["gina"])
    assert response.status_code == 400
    assert "body" in response.json["error"]["fields"]


def test_malformed_json_is_400(as_admin):
    response = as_admin.post("/api/users", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json["error"]["fields"]


def test_an_oversized_body_is_refused(as_admin):
    response = as_admin.post(
        "/api/users", data="x" * (3 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"


def test_users_list_pages_with_an_opaque_cursor(as_admin, make_user):
    for n in range(5):
        make_user(f"user{n}")
    first = as_admin.get("/api/users?limit=4").json
    assert len(first["items"]) == 4 and first["nextCursor"]
    second = as_admin.get(f"/api/users?limit=4&cursor={first['nextCursor']}").json
    names = [u["name"] for u in first["items"] + second["items"]]
    assert sorted(names) == sorted(["admin", *(f"user{n}" for n in range(5))])
    assert second["nextCursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=garbage!", "bogus=1"])
def test_bad_paging_parameters_are_400(as_admin, query):
    response = as_admin.get(f"/api/users?{query}")
    assert response.status_code == 400
    assert response.json["error"]["fields"]


def test_non_admins_see_users_without_private_fields(login, alice, bob):
    items = login("alice").get("/api/users").json["items"]
    bob_row = next(u for u in items if u["name"] == "bob")
    assert "email" not in bob_row and "isSuperuser" not in bob_row


def test_an_admin_creates_a_team_with_members(as_admin, alice, bob):
    response = as_admin.post(
        "/api/teams", json={"slug": "ops", "name": "Operations", "members": ["alice", "bob"]}
    )
    assert response.status_code == 201
    assert response.json["slug"] == "ops" and response.json["name"] == "Operations"
    assert {m["user"] for m in response.json["members"]} == {"alice", "bob"}


def test_a_team_cannot_take_a_users_name(as_admin, alice):
    response = as_admin.post("/api/teams", json={"slug": "alice"})
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"slug": "taken"}


def test_a_team_with_an_unknown_member_is_not_created(as_admin):
    response = as_admin.post("/api/teams", json={"slug": "ghosts", "members": ["nobody"]})
    assert response.status_code == 404
    assert as_admin.get("/api/teams/ghosts").status_code == 404


def test_a_non_admin_cannot_create_teams(login, alice):
    assert login("alice").post("/api/teams", json={"slug": "mine"}).status_code == 403


def test_teams_are_listed_with_members(as_admin, login, alice):
    as_admin.post("/api/teams", json={"slug": "ops", "members": ["alice"]})
    items = login("alice").get("/api/teams").json["items"]
    assert [t["slug"] for t in items] == ["ops"]
    assert login("alice").get("/api/me").json["teams"] == [{"team": "ops", "role": "member"}]


def test_a_team_admin_manages_members(as_admin, login, alice, bob, make_user):
    make_user("carol")
    as_admin.post("/api/teams", json={"slug": "ops", "members": ["alice"]})
    as_admin.put("/api/teams/ops/members/alice", json={"role": "admin"})
    alice_client = login("alice")
    added = alice_client.put("/api/teams/ops/members/bob", json={})
    assert added.status_code == 200 and added.json["role"] == "member"
    assert (
        alice_client.put("/api/teams/ops/members/carol", json={"role": "admin"}).status_code == 200
    )
    assert alice_client.delete("/api/teams/ops/members/bob").status_code == 204
    members = {m["user"]: m["role"] for m in as_admin.get("/api/teams/ops").json["members"]}
    assert members == {"alice": "admin", "carol": "admin"}


def test_a_plain_member_cannot_change_members(as_admin, login, alice, bob):
    as_admin.post("/api/teams", json={"slug": "ops", "members": ["alice"]})
    response = login("alice").put("/api/teams/ops/members/bob", json={})
    assert response.status_code == 403


def test_a_member_put_with_no_body_adds_a_member(as_admin, alice):
    as_admin.post("/api/teams", json={"slug": "ops"})
    assert as_admin.put("/api/teams/ops/members/alice").status_code == 200


def test_member_routes_name_unknown_teams_and_users(as_admin, alice):
    assert as_admin.put("/api/teams/nope/members/alice", json={}).status_code == 404
    as_admin.post("/api/teams", json={"slug": "ops"})
    assert as_admin.put("/api/teams/ops/members/nobody", json={}).status_code == 404
    assert as_admin.delete("/api/teams/ops/members/alice").status_code == 404


def test_a_bad_role_is_400(as_admin, alice):
    as_admin.post("/api/teams", json={"slug": "ops"})
    response = as_admin.put("/api/teams/ops/members/alice", json={"role": "owner"})
    assert response.status_code == 400
    assert "role" in response.json["error"]["fields"]


def test_changes_are_audited(as_admin, app, alice):
    from hub.db import database
    from hub.models import AuditEvent

    as_admin.post("/api/teams", json={"slug": "ops"})
    as_admin.put("/api/teams/ops/members/alice", json={"role": "admin"})
    with app.app_context(), database.connection_context():
        actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert {"user.create", "team.create", "team.member.set"} <= set(actions)
