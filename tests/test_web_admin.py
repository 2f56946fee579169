"""The admin area's pages: users, teams, provider clients, plugins and the audit log."""

from __future__ import annotations

import re

import pytest

from hub import accounts, audit
from hub.db import database
from hub.errors import Conflict
from hub.models import AuditEvent, Membership, ProviderCredential, User
from tests.conftest import PASSWORD
from tests.test_web import csrf_token

PAGES = [
    "/admin",
    "/admin/users",
    "/admin/users/admin",
    "/admin/teams",
    "/admin/providers",
    "/admin/providers/google",
    "/admin/plugins",
    "/admin/audit",
]


@pytest.fixture
def as_admin(login, admin):
    return login("admin")


@pytest.fixture
def token(as_admin):
    return csrf_token(as_admin, "/admin")


@pytest.fixture
def team(in_db, admin):
    return in_db(accounts.create_team, "ops", display_name="Operations")


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error shown for {field}"
    return match.group(1)


# -- who may open the pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_admin_page_renders_for_an_administrator(as_admin, path):
    response = as_admin.get(path)
    assert response.status_code == 200
    assert 'aria-current="page">Admin</a>' in text(response).replace("\n", "")


@pytest.mark.parametrize("path", PAGES)
def test_other_users_get_the_not_found_page(login, admin, alice, path):
    response = login("alice").get(path)
    assert response.status_code == 404
    assert "Administration" not in text(response)


@pytest.mark.parametrize("path", PAGES)
def test_strangers_are_sent_to_sign_in(client, admin, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_overview_links_to_every_section(as_admin):
    page = text(as_admin.get("/admin"))
    for path in PAGES[1:]:
        if path.count("/") == 2:
            assert f'href="{path}"' in page


def test_a_user_who_is_not_an_admin_cannot_post_admin_forms(login, admin, alice, in_db):
    client = login("alice")
    response = client.post(
        "/admin/users",
        data={"name": "mallory", "password": PASSWORD, "csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 404
    assert in_db(accounts.find_principal, "mallory") is None


# -- users -----------------------------------------------------------------------------------


def test_the_user_list_shows_names_emails_and_flags(as_admin, alice):
    page = text(as_admin.get("/admin/users"))
    assert "alice@example.org" in page and "admin@example.org" in page
    assert 'href="/admin/users/alice"' in page


def test_an_admin_creates_a_user_who_can_then_sign_in(as_admin, token, app):
    response = as_admin.post(
        "/admin/users",
        data={
            "name": "carol",
            "displayName": "Carol C.",
            "email": "carol@example.org",
            "password": PASSWORD,
            "isSuperuser": "on",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users/carol"
    assert "Carol C." in text(as_admin.get("/admin/users/carol"))
    signed_in = app.test_client().post(
        "/api/login", json={"username": "carol", "password": PASSWORD}
    )
    assert signed_in.json["isSuperuser"] is True


def test_a_taken_user_name_is_shown_next_to_the_field(as_admin, token, alice):
    response = as_admin.post(
        "/admin/users", data={"name": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400
    assert field_error(text(response), "name") == "taken"


def test_a_short_password_is_shown_next_to_the_field(as_admin, token, in_db):
    response = as_admin.post(
        "/admin/users",
        data={
            "name": "carol",
            "email": "carol@example.org",
            "password": "short",
            "csrf_token": token,
        },
    )
    page = text(response)
    assert response.status_code == 400
    assert "at least 8 characters" in field_error(page, "password")
    assert 'value="carol@example.org"' in page  # what was typed stays, but not the password
    assert 'value="short"' not in page
    assert in_db(accounts.find_principal, "carol") is None


@pytest.mark.parametrize(
    "form, field",
    [
        ({"name": "Not A Name"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "carol", "email": "not-an-email"}, "email"),
        ({"name": "carol", "displayName": "x" * 201}, "displayName"),
    ],
)
def test_bad_user_fields_are_named(as_admin, token, form, field):
    response = as_admin.post(
        "/admin/users", data={"password": PASSWORD, "csrf_token": token, **form}
    )
    assert response.status_code == 400
    assert field_error(text(response), field)


def test_creating_a_user_without_the_csrf_token_is_refused(as_admin, in_db):
    response = as_admin.post("/admin/users", data={"name": "carol", "password": PASSWORD})
    assert response.status_code == 403
    assert in_db(accounts.find_principal, "carol") is None


def test_a_deactivated_user_cannot_sign_in_until_reactivated(as_admin, token, alice, app):
    response = as_admin.post("/admin/users/alice/active", data={"active": "0", "csrf_token": token})
    assert response.status_code == 303
    sign_in = {"username": "alice", "password": PASSWORD}
    assert app.test_client().post("/api/login", json=sign_in).status_code == 401
    assert "Reactivate" in text(as_admin.get("/admin/users/alice"))

    as_admin.post("/admin/users/alice/active", data={"active": "1", "csrf_token": token})
    assert app.test_client().post("/api/login", json=sign_in).status_code == 200


def test_deactivation_ends_the_users_sessions(as_admin, token, login, alice):
    alice_client = login("alice")
    as_admin.post("/admin/users/alice/active", data={"active": "0", "csrf_token": token})
    assert alice_client.get("/api/me").status_code == 401


def test_an_admin_cannot_deactivate_themselves(as_admin, token, in_db):
    response = as_admin.post("/admin/users/admin/active", data={"active": "0", "csrf_token": token})
    assert response.status_code == 303
    assert "cannot deactivate yourself" in text(as_admin.get(response.headers["Location"]))
    assert in_db(accounts.get_user, "admin").is_active


def test_the_last_active_administrator_is_kept(in_db, admin):
    with pytest.raises(Conflict):
        in_db(accounts.set_active, in_db(accounts.get_user, "admin"), False)


def test_deactivating_without_the_csrf_token_is_refused(as_admin, alice, in_db):
    response = as_admin.post("/admin/users/alice/active", data={"active": "0"})
    assert response.status_code == 403
    assert in_db(accounts.get_user, "alice").is_active


def test_an_admin_sets_a_new_password(as_admin, token, alice, app):
    response = as_admin.post(
        "/admin/users/alice/password", data={"password": "a new password", "csrf_token": token}
    )
    assert response.status_code == 303
    client = app.test_client()
    assert (
        client.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code
        == 401
    )
    new = {"username": "alice", "password": "a new password"}
    assert client.post("/api/login", json=new).status_code == 200


def test_a_new_password_ends_the_users_sessions_and_is_audited(as_admin, token, login, alice):
    alice_client = login("alice")
    as_admin.post(
        "/admin/users/alice/password", data={"password": "a new password", "csrf_token": token}
    )
    assert alice_client.get("/api/me").status_code == 401
    assert "user.password.set" in text(as_admin.get("/admin/audit?action=user.password"))


def test_a_short_new_password_is_shown_next_to_the_field(as_admin, token, alice):
    response = as_admin.post(
        "/admin/users/alice/password", data={"password": "short", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "at least 8 characters" in field_error(text(response), "password")


def test_setting_a_password_without_the_csrf_token_is_refused(as_admin, alice, app):
    response = as_admin.post("/admin/users/alice/password", data={"password": "a new password"})
    assert response.status_code == 403
    login = {"username": "alice", "password": PASSWORD}
    assert app.test_client().post("/api/login", json=login).status_code == 200


def test_an_unknown_user_page_is_not_found(as_admin):
    assert as_admin.get("/admin/users/nobody").status_code == 404


# -- teams -----------------------------------------------------------------------------------


def test_teams_are_listed_with_members_and_roles(as_admin, team, alice, bob, in_db):
    in_db(accounts.set_membership, team, alice, "admin")
    in_db(accounts.set_membership, team, bob, "member")
    page = text(as_admin.get("/admin/teams"))
    assert 'href="/admin/teams/ops"' in page and "Operations" in page
    assert 'alice <span class="tag">admin</span>, bob' in page


def test_an_admin_creates_a_team(as_admin, token, in_db):
    response = as_admin.post(
        "/admin/teams",
        data={"slug": "research", "name": "Research", "description": "", "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/teams/research"
    assert in_db(accounts.get_team, "research").principal.display_name == "Research"


def test_a_team_cannot_take_a_users_name(as_admin, token, alice):
    response = as_admin.post("/admin/teams", data={"slug": "alice", "csrf_token": token})
    assert response.status_code == 400
    assert field_error(text(response), "slug") == "taken"


def test_a_team_needs_a_valid_name(as_admin, token):
    response = as_admin.post("/admin/teams", data={"slug": "", "csrf_token": token})
    assert response.status_code == 400
    assert field_error(text(response), "slug") == "required"


def test_creating_a_team_without_the_csrf_token_is_refused(as_admin, in_db):
    assert as_admin.post("/admin/teams", data={"slug": "research"}).status_code == 403
    assert in_db(accounts.find_principal, "research") is None


def roles(in_db, team) -> dict[str, str]:
    def read():
        return {m.user.name: m.role for m in Membership.select().where(Membership.team == team)}

    return in_db(read)


def test_an_admin_adds_a_member_with_a_role(as_admin, token, team, alice, in_db):
    response = as_admin.post(
        "/admin/teams/ops/members", data={"user": "alice", "role": "admin", "csrf_token": token}
    )
    assert response.status_code == 303
    assert roles(in_db, team) == {"alice": "admin"}
    assert "alice" in text(as_admin.get("/admin/teams/ops"))


def test_adding_an_unknown_user_is_shown_next_to_the_field(as_admin, token, team, in_db):
    response = as_admin.post(
        "/admin/teams/ops/members", data={"user": "nobody", "role": "member", "csrf_token": token}
    )
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "user") == "no user with this name"
    assert 'value="nobody"' in page
    assert roles(in_db, team) == {}


def test_adding_a_member_with_an_unknown_role_is_refused(as_admin, token, team, alice, in_db):
    response = as_admin.post(
        "/admin/teams/ops/members", data={"user": "alice", "role": "owner", "csrf_token": token}
    )
    assert response.status_code == 400
    assert field_error(text(response), "role")
    assert roles(in_db, team) == {}


def test_an_admin_changes_a_members_role(as_admin, token, team, alice, in_db):
    in_db(accounts.set_membership, team, alice, "member")
    response = as_admin.post(
        "/admin/teams/ops/members/alice", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 303
    assert roles(in_db, team) == {"alice": "admin"}


def test_an_admin_removes_a_member(as_admin, token, team, alice, in_db):
    in_db(accounts.set_membership, team, alice, "member")
    response = as_admin.post("/admin/teams/ops/members/alice/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert roles(in_db, team) == {}


def test_removing_someone_who_is_not_a_member_says_so(as_admin, token, team, alice):
    response = as_admin.post("/admin/teams/ops/members/alice/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert "is not a member" in text(as_admin.get(response.headers["Location"]))


@pytest.mark.parametrize(
    "path, data",
    [
        ("/admin/teams/ops/members", {"user": "alice", "role": "admin"}),
        ("/admin/teams/ops/members/alice", {"role": "admin"}),
        ("/admin/teams/ops/members/alice/remove", {}),
    ],
)
def test_member_forms_without_the_csrf_token_are_refused(as_admin, team, alice, in_db, path, data):
    in_db(accounts.set_membership, team, alice, "member")
    assert as_admin.post(path, data=data).status_code == 403
    assert roles(in_db, team) == {"alice": "member"}


def test_an_unknown_team_page_is_not_found(as_admin):
    assert as_admin.get("/admin/teams/nope").status_code == 404


# -- provider clients ------------------------------------------------------------------------

SECRET = "s3cr3t-value-never-shown"


def test_every_oauth_provider_is_listed_with_the_redirect_uri(as_admin, app):
    page = text(as_admin.get("/admin/providers"))
    assert 'href="/admin/providers/google"' in page
    redirect_uri = app.config["PUBLIC_URL"] + "/oauth2/callback"
    assert f'id="redirect-uri" value="{redirect_uri}" readonly' in page
    assert 'data-copy="redirect-uri"' in page


def test_an_admin_stores_a_client_and_the_secret_is_never_shown(as_admin, token, in_db):
    response = as_admin.post(
        "/admin/providers/google/credentials",
        data={"clientId": "client-123", "clientSecret": SECRET, "csrf_token": token},
    )
    assert response.status_code == 303
    for path in ("/admin/providers", "/admin/providers/google", "/admin/audit"):
        page = text(as_admin.get(path))
        assert SECRET not in page
        assert "client-123" in page
    assert "set (never shown)" in text(as_admin.get("/admin/providers/google"))
    stored = in_db(ProviderCredential.get, ProviderCredential.provider == "google")
    assert in_db(stored.get_secret, "client_secret").reveal() == SECRET


def test_a_client_without_an_id_is_refused_without_echoing_the_secret(as_admin, token, in_db):
    response = as_admin.post(
        "/admin/providers/google/credentials",
        data={"clientId": " ", "clientSecret": SECRET, "csrf_token": token},
    )
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "clientId") == "required"
    assert SECRET not in page
    assert in_db(ProviderCredential.get_or_none, ProviderCredential.provider == "google") is None


def test_the_environment_client_is_shown_as_such(make_app, monkeypatch):
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_ID", "env-client")
    monkeypatch.setenv("HUB_GOOGLE_CLIENT_SECRET", SECRET)
    app = make_app()
    with app.app_context(), database.connection_context():
        accounts.create_user("root", PASSWORD, is_superuser=True)
    client = app.test_client()
    client.post("/api/login", json={"username": "root", "password": PASSWORD})
    page = text(client.get("/admin/providers/google"))
    assert "Environment" in page and "env-client" in page and "HUB_GOOGLE_CLIENT_ID" in page
    assert "set (never shown)" in page
    assert SECRET not in page


def test_an_admin_forgets_the_stored_client(as_admin, token, in_db):
    as_admin.post(
        "/admin/providers/google/credentials", data={"clientId": "client-123", "csrf_token": token}
    )
    response = as_admin.post(
        "/admin/providers/google/credentials/forget", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert in_db(ProviderCredential.get_or_none, ProviderCredential.provider == "google") is None
    assert "Not configured" in text(as_admin.get("/admin/providers/google"))


def test_forgetting_when_nothing_is_stored_says_so(as_admin, token):
    response = as_admin.post(
        "/admin/providers/google/credentials/forget", data={"csrf_token": token}
    )
    assert "No stored credentials" in text(as_admin.get(response.headers["Location"]))


def test_provider_forms_without_the_csrf_token_are_refused(as_admin, token, in_db):
    refused = as_admin.post(
        "/admin/providers/google/credentials", data={"clientId": "x", "clientSecret": SECRET}
    )
    assert refused.status_code == 403
    assert in_db(ProviderCredential.get_or_none, ProviderCredential.provider == "google") is None

    as_admin.post(
        "/admin/providers/google/credentials", data={"clientId": "keep", "csrf_token": token}
    )
    assert as_admin.post("/admin/providers/google/credentials/forget").status_code == 403
    assert in_db(ProviderCredential.get_or_none, ProviderCredential.provider == "google")


def test_an_unknown_provider_has_no_client_page(as_admin):
    assert as_admin.get("/admin/providers/nope").status_code == 404


# -- plugins ---------------------------------------------------------------------------------


def test_the_plugins_page_lists_what_hub_plugins_list_does(as_admin, app):
    page = text(as_admin.get("/admin/plugins"))
    for plugin in app.extensions["hub"].registry.listing():
        assert f"<strong>{plugin.name}</strong>" in page
        if plugin.version:
            assert plugin.version in page


def test_a_failed_plugin_shows_why(as_admin, app):
    listing = app.extensions["hub"].registry.listing()
    broken = listing[0]
    broken.status, broken.reason = "failed", "ImportError: no module named 'missing'"
    page = text(as_admin.get("/admin/plugins"))
    assert 'data-status="plugin-failed"' in page
    assert "no module named &#39;missing&#39;" in page


# -- audit log -------------------------------------------------------------------------------


@pytest.fixture
def events(in_db, admin, alice):
    def record():
        for n in range(3):
            audit.record(
                "integration.create",
                actor=alice.principal_id,
                integration=None,
                target_type="integration",
                target_id=f"alice:i{n}",
            )
        audit.record("team.create", actor=admin.principal_id, target_type="team", target_id="ops")

    in_db(record)


CUSTOM = {"provider": "custom", "authType": "bearer", "apiBaseUri": "https://api.example.org/v1"}


def rows(page: str) -> list[str]:
    return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', page)


def test_the_audit_log_shows_the_newest_first(as_admin, events):
    page = text(as_admin.get("/admin/audit"))
    assert rows(page)[:4] == ["team.create"] + ["integration.create"] * 3
    assert "alice:i2" in page


def test_the_audit_log_filters_by_action_prefix_and_actor(as_admin, events):
    assert set(rows(text(as_admin.get("/admin/audit?action=integration.")))) == {
        "integration.create"
    }
    by_admin = rows(text(as_admin.get("/admin/audit?actor=admin")))
    assert "team.create" in by_admin and "integration.create" not in by_admin


def test_the_audit_log_filters_by_integration(as_admin, alice, login):
    client = login("alice")
    ids = [
        client.post("/api/integrations", json={"name": name, **CUSTOM}).json["id"]
        for name in ("Drive", "Other")
    ]
    page = text(as_admin.get(f"/admin/audit?integration={ids[0]}"))
    assert rows(page) == ["integration.create"]
    assert f'data-label="Integration">{ids[0]}<' in page
    assert f'data-label="Integration">{ids[1]}<' not in page


def test_a_bad_integration_filter_is_shown_next_to_the_field(as_admin):
    response = as_admin.get("/admin/audit?integration=abc")
    assert response.status_code == 400
    assert field_error(text(response), "integration")


def test_the_audit_log_pages_with_load_more_keeping_the_filters(as_admin, in_db, admin):
    def record():
        for n in range(55):
            audit.record("test.event", actor=admin.principal_id, target_id=n)
        audit.record("other.event", actor=admin.principal_id)

    in_db(record)
    first = text(as_admin.get("/admin/audit?action=test."))
    assert len(rows(first)) == 50
    more = re.search(r'<a class="button secondary" data-more href="([^"]+)">Load more</a>', first)
    assert more and "data-more-box" in first
    second = text(as_admin.get(more.group(1).replace("&amp;", "&")))
    assert rows(second) == ["test.event"] * 5
    assert "data-more " not in second
    assert "<tbody data-rows>" in second


def test_the_audit_log_never_leaks_to_non_admins(login, alice, admin, in_db):
    in_db(audit.record, "team.create", actor=admin.principal_id)
    assert login("alice").get("/admin/audit").status_code == 404


def test_admin_changes_are_audited(as_admin, token, alice, in_db):
    as_admin.post("/admin/users/alice/active", data={"active": "0", "csrf_token": token})
    as_admin.post("/admin/users/alice/active", data={"active": "1", "csrf_token": token})
    actions = in_db(lambda: [e.action for e in AuditEvent.select().order_by(AuditEvent.id)])
    assert actions[-2:] == ["user.deactivate", "user.activate"]
    assert in_db(User.get_by_id, alice.principal_id).is_active
