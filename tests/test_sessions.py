"""Sessions end server-side (SECURITY 35), and a token beside a session cookie decides the caller.

The attack: sign in, save a copy of the session cookie, let the session end (logout, a password
change, a deactivation, "sign out everywhere"), then send the saved copy from another client.
Ending a session deletes its row, so the copy finds nothing: 401 on the API, a redirect to
sign-in on the pages.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import requests

from hub import accounts, migrations, sessions
from hub.db import database, utcnow
from hub.models import AuditEvent, UserSession
from tests.conftest import PASSWORD
from tests.live_servers import demo_server, hub_server
from tests.test_web import csrf_token

NEW_PASSWORD = "a brand new passphrase"


def saved_cookie(client) -> str:
    """What an attacker copies out of a signed-in browser: the session cookie's value."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie was set"
    return cookie.value


def replayed(app, cookie: str):
    """A fresh client that sends nothing but the saved cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def signed_cookie(app, data: dict) -> str:
    """A session cookie signed with the hub's own key (what only the server can make)."""
    return app.session_interface.get_signing_serializer(app).dumps(data)


def me(client, **kwargs) -> int:
    return client.get("/api/me", **kwargs).status_code


def sessions_of(in_db, name: str) -> int:
    return in_db(lambda: UserSession.select().where(UserSession.user == _user(name)).count())


def _user(name: str) -> int:
    return accounts.get_user(name).principal_id


# -- logout ------------------------------------------------------------------------------------


def test_a_cookie_saved_before_logout_is_refused_by_the_api(app, login, alice):
    client = login("alice")
    cookie = saved_cookie(client)
    assert me(replayed(app, cookie)) == 200

    assert client.post("/api/logout").status_code == 204

    answer = replayed(app, cookie).get("/api/me")
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "not_authenticated"


def test_a_cookie_saved_before_logout_is_sent_to_sign_in_by_the_pages(app, login, alice):
    client = login("alice")
    cookie = saved_cookie(client)
    assert replayed(app, cookie).get("/account").status_code == 200

    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    answer = replayed(app, cookie).get("/account")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")


def test_logout_deletes_the_session_row(login, alice, in_db):
    client = login("alice")
    assert sessions_of(in_db, "alice") == 1
    client.post("/api/logout")
    assert sessions_of(in_db, "alice") == 0


def test_logout_on_one_browser_leaves_the_others_signed_in(login, alice):
    laptop, phone = login("alice"), login("alice")

    laptop.post("/api/logout")

    assert me(laptop) == 401
    assert me(phone) == 200


def test_signing_in_again_ends_the_browsers_earlier_session(app, login, alice, bob, in_db):
    client = login("alice")
    cookie = saved_cookie(client)

    client.post("/api/login", json={"username": "bob", "password": PASSWORD})

    assert client.get("/api/me").json["name"] == "bob"
    assert me(replayed(app, cookie)) == 401
    assert sessions_of(in_db, "alice") == 0


# -- password change, deactivation -------------------------------------------------------------


def test_a_cookie_saved_before_a_password_change_is_refused(app, login, alice, in_db):
    cookie = saved_cookie(login("alice"))

    in_db(lambda: accounts.set_password(accounts.get_user("alice"), NEW_PASSWORD))

    assert me(replayed(app, cookie)) == 401
    assert sessions_of(in_db, "alice") == 0


def test_a_password_set_by_an_administrator_on_the_page_ends_the_sessions(app, login, admin, alice):
    cookie = saved_cookie(login("alice"))
    as_admin = login("admin")

    as_admin.post(
        "/admin/users/alice/password",
        data={"password": NEW_PASSWORD, "csrf_token": csrf_token(as_admin, "/admin")},
    )

    assert me(replayed(app, cookie)) == 401
    assert me(as_admin) == 200  # the administrator's own session is not alice's


def test_a_cookie_saved_before_deactivation_is_refused_even_after_reactivation(
    app, login, admin, alice, in_db
):
    cookie = saved_cookie(login("alice"))
    root = in_db(accounts.get_user, "admin")

    in_db(lambda: accounts.set_active(accounts.get_user("alice"), False, actor=root))
    assert me(replayed(app, cookie)) == 401
    in_db(lambda: accounts.set_active(accounts.get_user("alice"), True, actor=root))

    assert me(replayed(app, cookie)) == 401
    assert me(login("alice")) == 200  # signing in anew works


# -- sign out everywhere: the user ---------------------------------------------------------------


def test_a_user_signs_out_everywhere_through_the_api(app, login, token_for, alice, in_db):
    laptop, phone = login("alice"), login("alice")
    saved = saved_cookie(phone)
    token = token_for("alice")

    assert laptop.delete("/api/me/sessions").status_code == 204

    assert me(laptop) == 401 and me(phone) == 401
    assert me(replayed(app, saved)) == 401
    assert me(app.test_client(), headers=token) == 200  # tokens are not sessions
    event = in_db(lambda: AuditEvent.get(AuditEvent.action == "user.sessions.end"))
    assert (event.target_id, event.details) == ("alice", {"sessions": 2})
    assert event.actor_id == in_db(_user, "alice")


def test_a_token_can_sign_its_user_out_of_every_browser(app, login, token_for, alice):
    browser = login("alice")
    assert (
        app.test_client().delete("/api/me/sessions", headers=token_for("alice")).status_code == 204
    )
    assert me(browser) == 401


def test_a_user_signs_out_everywhere_on_the_account_page(app, login, alice):
    client, other = login("alice"), login("alice")
    saved = saved_cookie(client)

    answer = client.post(
        "/account/sessions/end", data={"csrf_token": csrf_token(client, "/account")}
    )

    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert "signed out everywhere" in client.get("/login").get_data(as_text=True)
    assert me(client) == 401 and me(other) == 401
    assert replayed(app, saved).get("/account").status_code == 302


def test_signing_out_everywhere_on_the_page_needs_the_csrf_token(login, alice):
    client = login("alice")
    assert client.post("/account/sessions/end").status_code in (400, 403)
    assert me(client) == 200


def test_the_account_page_lists_the_browsers_and_marks_this_one(app, alice):
    client = app.test_client()
    client.post(
        "/api/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"User-Agent": "Firefox on the laptop"},
    )
    other = app.test_client()
    other.post(
        "/api/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"User-Agent": "Safari on the phone"},
    )

    page = client.get("/account").get_data(as_text=True)

    assert "Firefox on the laptop" in page and "Safari on the phone" in page
    assert re.search(r"Firefox on the laptop\s*<span class=\"tag\">this browser</span>", page)
    assert "Sign out everywhere" in page


def test_the_api_lists_the_callers_sessions_without_their_keys(app, login, alice, in_db):
    first = app.test_client()
    first.post(
        "/api/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"User-Agent": "curl/8.5"},
    )
    second = login("alice")

    listed = second.get("/api/me/sessions").json

    assert [s["current"] for s in listed["items"]] == [True, False]  # newest first
    assert listed["items"][1]["userAgent"] == "curl/8.5"
    assert set(listed["items"][0]) == {"id", "createdAt", "lastSeenAt", "userAgent", "current"}
    for key_hash in in_db(lambda: [s.key_hash for s in UserSession.select()]):
        assert key_hash not in str(listed)
    assert listed["nextCursor"] is None


# -- sign out everywhere: an administrator ---------------------------------------------------


def test_an_administrator_signs_a_user_out_everywhere_through_the_api(
    app, login, admin, alice, in_db
):
    alice_client = login("alice")
    saved = saved_cookie(alice_client)
    as_admin = login("admin")

    assert as_admin.delete("/api/users/alice/sessions").status_code == 204

    assert me(alice_client) == 401 and me(replayed(app, saved)) == 401
    assert me(as_admin) == 200
    event = in_db(lambda: AuditEvent.get(AuditEvent.action == "user.sessions.end"))
    assert event.actor_id == in_db(_user, "admin") and event.target_id == "alice"


def test_only_administrators_sign_others_out(login, alice, bob):
    bob_client = login("bob")
    answer = login("alice").delete("/api/users/bob/sessions")
    assert answer.status_code == 403
    assert me(bob_client) == 200


def test_signing_out_an_unknown_user_is_404(login, admin):
    assert login("admin").delete("/api/users/nobody/sessions").status_code == 404


def test_an_administrator_signs_a_user_out_on_the_admin_page(app, login, admin, alice):
    saved = saved_cookie(login("alice"))
    as_admin = login("admin")
    page = as_admin.get("/admin/users/alice").get_data(as_text=True)
    assert "signed in on 1 browser." in page

    answer = as_admin.post(
        "/admin/users/alice/sessions/end", data={"csrf_token": csrf_token(as_admin, "/admin")}
    )

    assert answer.status_code == 303
    assert "signed out everywhere" in as_admin.get("/admin/users/alice").get_data(as_text=True)
    assert me(replayed(app, saved)) == 401


def test_the_command_line_signs_a_user_out_everywhere(app, runner, login, alice, in_db):
    saved = saved_cookie(login("alice"))
    login("alice")

    result = runner.invoke(args=["users", "sign-out", "alice"])

    assert result.exit_code == 0, result.output
    assert "Signed alice out everywhere: 2 session(s) ended" in result.output
    assert me(replayed(app, saved)) == 401
    event = in_db(lambda: AuditEvent.get(AuditEvent.action == "user.sessions.end"))
    assert event.actor_id is None and event.target_id == "alice"


def test_the_command_line_names_an_unknown_user(runner):
    result = runner.invoke(args=["users", "sign-out", "nobody"])
    assert result.exit_code != 0
    assert "no user named 'nobody'" in result.output


# -- what a cookie must hold -----------------------------------------------------------------


def test_a_cookie_whose_session_row_was_deleted_is_refused(app, login, alice, in_db):
    client = login("alice")
    in_db(lambda: UserSession.delete().execute())
    assert me(client) == 401
    assert client.get("/connections").status_code == 302


def test_a_cookie_signed_with_the_right_key_but_a_made_up_session_key_is_refused(app, alice):
    for made_up in ("A" * 43, "1:0", str(1), "", "x" * 1000):
        forged = signed_cookie(app, {"_user_id": made_up, "_fresh": True})
        assert me(replayed(app, forged)) == 401, made_up


def test_the_cookie_of_one_user_does_not_name_the_user(app, login, alice, in_db):
    """The old cookie carried ``principal_id:epoch``, guessable from a user's id; now it is a
    random key, and the database keeps only its hash."""
    client = login("alice")
    key = app.session_interface.get_signing_serializer(app).loads(saved_cookie(client))["_user_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
    row = in_db(UserSession.get)
    assert row.key_hash == sessions.hash_key(key) and key not in row.key_hash


def test_a_remember_me_cookie_leads_to_the_same_session_rows(app, login, alice):
    """The hub never sets flask-login's "remember me" cookie; one made with the hub's key still
    goes through the session rows: an ended session's key is refused, a live one accepted."""
    from flask_login.utils import encode_cookie

    client = login("alice")
    key = app.session_interface.get_signing_serializer(app).loads(saved_cookie(client))["_user_id"]
    with app.test_request_context():
        remember = encode_cookie(key)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert me(fresh) == 200

    client.post("/api/logout")

    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert me(fresh) == 401


# -- lifetimes ---------------------------------------------------------------------------------


def test_a_session_ends_its_lifetime_after_sign_in(make_app, make_user):
    app = make_app(PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=1))
    make_user("alice")
    client = app.test_client()
    client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    with app.app_context(), database.connection_context():
        UserSession.update(created_at=utcnow() - dt.timedelta(minutes=59)).execute()
    assert me(client) == 200
    with app.app_context(), database.connection_context():
        UserSession.update(created_at=utcnow() - dt.timedelta(minutes=61)).execute()

    assert me(client) == 401
    with app.app_context(), database.connection_context():
        assert UserSession.select().count() == 0  # the expired row went when it was found


def test_the_default_lifetime_is_flasks_permanent_session_lifetime(app):
    with app.app_context():
        assert sessions.lifetime() == app.permanent_session_lifetime == dt.timedelta(days=31)


def test_a_session_unused_for_the_idle_limit_ends(login, alice, in_db):
    client = login("alice")
    idle = utcnow() - sessions.IDLE_LIMIT - dt.timedelta(minutes=1)
    in_db(lambda: UserSession.update(last_seen_at=idle).execute())
    assert me(client) == 401


def test_last_seen_is_written_at_most_every_few_minutes(login, alice, in_db):
    client = login("alice")
    seen = in_db(UserSession.get).last_seen_at
    me(client)
    assert in_db(UserSession.get).last_seen_at == seen  # no write on every request

    earlier = utcnow() - sessions.TOUCH_INTERVAL - dt.timedelta(seconds=5)
    in_db(lambda: UserSession.update(last_seen_at=earlier).execute())
    me(client)
    assert in_db(UserSession.get).last_seen_at > earlier + dt.timedelta(seconds=5)


def test_signing_in_deletes_expired_sessions_of_everyone(app, login, alice, bob, in_db):
    login("alice")
    long_ago = utcnow() - dt.timedelta(days=40)
    in_db(lambda: UserSession.update(created_at=long_ago, last_seen_at=long_ago).execute())

    login("bob")

    assert sessions_of(in_db, "alice") == 0 and sessions_of(in_db, "bob") == 1


def test_deleting_a_user_deletes_their_sessions(login, alice, in_db):
    from hub.models import Principal

    login("alice")
    in_db(lambda: Principal.delete().where(Principal.name == "alice").execute())
    assert in_db(UserSession.select().count) == 0


# -- the lookup ------------------------------------------------------------------------------


class Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple):
            self.sql.append(record.msg[0])


def test_a_session_finds_its_user_and_principal_in_one_statement(app, alice):
    handler = Statements()
    log = logging.getLogger("peewee")
    level = log.level
    with app.test_request_context(), database.connection_context():
        key, _ = sessions.start(accounts.get_user("alice"))
        log.setLevel(logging.DEBUG)
        log.addHandler(handler)
        try:
            found = sessions.find(key)
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
    assert len(handler.sql) == 1
    assert found.user.name == "alice" and found.user.email == "alice@example.org"
    assert not found.is_dirty() and not found.user.is_dirty()


# -- the migration -----------------------------------------------------------------------------


def test_migration_2_adds_the_session_table_to_a_database_made_before_it(app):
    with app.app_context(), database.connection_context():
        database.drop_tables([UserSession])
        migrations.SchemaMigration.delete().where(migrations.SchemaMigration.version == 2).execute()
    with app.app_context():
        applied = migrations.migrate()
        with database.connection_context():
            assert [m.version for m in applied] == [2]
            assert UserSession.table_exists()


def test_migration_2_is_named_and_follows_migration_1():
    assert [(m.version, m.name) for m in migrations.MIGRATIONS[:2]] == [
        (1, "initial schema"),
        (2, "server-side sessions"),
    ]


# -- session or token: which decides ---------------------------------------------------------


def test_a_token_beside_a_session_cookie_acts_for_the_token(login, token_for, alice, bob):
    client = login("alice")
    assert client.get("/api/me", headers=token_for("bob")).json["name"] == "bob"
    created = client.post("/api/tokens", json={"name": "made"}, headers=token_for("bob"))
    assert created.status_code == 201
    assert [t["name"] for t in client.get("/api/tokens").json["items"]] == []  # alice's: none


@pytest.mark.parametrize(
    "authorization", ["Bearer hub_not-a-real-token", "Bearer nonsense", "Bearer ", "bearer"]
)
def test_an_invalid_token_beside_a_valid_session_is_401(login, alice, authorization):
    client = login("alice")
    answer = client.get("/api/me", headers={"Authorization": authorization})
    assert answer.status_code == 401
    assert answer.json["error"]["message"] == "the API token is not valid"
    assert me(client) == 200  # the session itself is fine


def test_a_page_with_an_invalid_token_beside_a_valid_session_sends_to_sign_in(login, alice):
    client = login("alice")
    answer = client.get("/account", headers={"Authorization": "Bearer hub_revoked"})
    assert answer.status_code == 302


# -- against the hub as it is served ---------------------------------------------------------


def test_a_replayed_cookie_is_refused_by_the_served_hub(tmp_path):
    """``hub serve`` (gunicorn, two worker processes): a copy of the cookie saved before logout
    gets 401 from whichever worker answers."""
    with demo_server(tmp_path / "demo") as demo, hub_server(tmp_path / "hub", demo) as hub:
        browser = requests.Session()
        signed_in = browser.post(
            f"{hub.url}/api/login",
            json={"username": hub.admin_name, "password": hub.admin_password},
            timeout=10,
        )
        assert signed_in.status_code == 200
        saved = browser.cookies.get("session")
        attacker = requests.Session()
        for _ in range(4):  # both workers know the session
            assert attacker.get(f"{hub.url}/api/me", cookies={"session": saved}, timeout=10).ok

        assert browser.post(f"{hub.url}/api/logout", timeout=10).status_code == 204

        for _ in range(4):
            replay = attacker.get(f"{hub.url}/api/me", cookies={"session": saved}, timeout=10)
            assert replay.status_code == 401
        page = attacker.get(
            f"{hub.url}/account", cookies={"session": saved}, allow_redirects=False, timeout=10
        )
        assert page.status_code == 302 and "/login" in page.headers["Location"]
