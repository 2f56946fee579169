"""Control characters are refused wherever an e-mail address or a name enters (SECURITY 36).

Every way in — the JSON API, the pages and the command line — creates users, teams and tokens
through hub.accounts, which checks them; each test goes through one of those ways and checks
that the field is named and that nothing was stored.
"""

from __future__ import annotations

import re

import pytest

from hub import accounts
from hub.errors import ValidationError
from hub.models import ApiToken, Team
from tests.conftest import PASSWORD
from tests.test_web import csrf_token

# C0 (NUL, TAB, LF, CR, ESC, US), DEL, C1 (PAD, NEL, APC), and the line and paragraph separators.
CONTROLS = ["\x00", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
CONTROLS += ["\u2028", "\u2029"]
IDS = [f"U+{ord(c):04X}" for c in CONTROLS]
HEADER_SPLIT = "\r\nX-Injected: 1"


def nothing_named(in_db, name: str) -> bool:
    return in_db(accounts.find_principal, name) is None


# -- the checks themselves -------------------------------------------------------------------


@pytest.mark.parametrize("control", CONTROLS, ids=IDS)
def test_check_email_refuses_every_control_character(control):
    with pytest.raises(ValidationError) as refused:
        accounts.check_email(f"carol{control}@example.org")
    assert refused.value.fields == {"email": "must not contain control characters or line breaks"}


@pytest.mark.parametrize("control", CONTROLS, ids=IDS)
def test_check_text_refuses_every_control_character(control):
    with pytest.raises(ValidationError) as refused:
        accounts.check_text(f"Carol{control}C.", "displayName", max_length=200)
    assert set(refused.value.fields) == {"displayName"}


@pytest.mark.parametrize(
    "address",
    [
        "carol",
        "@example.org",
        "carol@",
        "carol@@example.org",
        "carol@exa mple.org",
        "ca rol@example.org",
        "carol@-example.org",
        "carol@example..org",
        "carol@example.org.",
        "carol@exam_ple.org",
        "x" * 65 + "@example.org",
        "carol@" + "x" * 250 + ".org",
        "",
    ],
)
def test_check_email_refuses_what_is_not_a_plausible_address(address):
    with pytest.raises(ValidationError) as refused:
        accounts.check_email(address)
    assert set(refused.value.fields) == {"email"}


@pytest.mark.parametrize(
    "address",
    ["carol@example.org", "c.o+hub@mail.example.co.uk", "zoë@exämple.org", "root@localhost"],
)
def test_check_email_accepts_addresses(address):
    assert accounts.check_email(address) == address


def test_names_in_other_scripts_are_fine(in_db):
    user = in_db(
        accounts.create_user, "zoe", PASSWORD, email="zoë@example.org", display_name="Zoë 山田"
    )
    assert user.principal.display_name == "Zoë 山田"


def test_a_user_name_with_a_final_newline_is_refused(in_db):
    """``$`` matches before a final newline: the name pattern must match the whole name."""
    with pytest.raises(ValidationError) as refused:
        in_db(accounts.create_user, "carol\n", PASSWORD)
    assert set(refused.value.fields) == {"name"}


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
def as_admin(login, admin):
    return login("admin")


@pytest.mark.parametrize("control", CONTROLS, ids=IDS)
def test_post_users_refuses_a_control_character_in_the_email(as_admin, in_db, control):
    answer = as_admin.post(
        "/api/users",
        json={"name": "carol", "password": PASSWORD, "email": f"carol@example.org{control}"},
    )
    assert answer.status_code == 400
    assert answer.json["error"]["fields"] == {
        "email": "must not contain control characters or line breaks"
    }
    assert nothing_named(in_db, "carol")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "carol@example.org" + HEADER_SPLIT}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "x" * 250 + "@example.org"}, "email"),
        ({"displayName": "Carol" + HEADER_SPLIT}, "displayName"),
        ({"displayName": "Carol\u2028C."}, "displayName"),
        ({"name": "carol\n"}, "name"),
    ],
)
def test_post_users_names_the_field_at_fault(as_admin, in_db, body, field):
    answer = as_admin.post("/api/users", json={"name": "carol", "password": PASSWORD, **body})
    assert answer.status_code == 400
    assert set(answer.json["error"]["fields"]) == {field}
    assert "\r" not in answer.json["error"]["message"]  # the value is never repeated
    assert nothing_named(in_db, "carol")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Ops" + HEADER_SPLIT}, "name"),
        ({"name": "Ops\x85"}, "name"),
        ({"description": "first line\nsecond line"}, "description"),
        ({"description": "bell\x07"}, "description"),
        ({"slug": "ops\n"}, "slug"),
    ],
)
def test_post_teams_names_the_field_at_fault(as_admin, in_db, body, field):
    answer = as_admin.post("/api/teams", json={"slug": "ops", **body})
    assert answer.status_code == 400
    assert set(answer.json["error"]["fields"]) == {field}
    assert nothing_named(in_db, "ops")


@pytest.mark.parametrize("name", ["laptop\r\nX-Injected: 1", "laptop\x00", "lap\u2029top"])
def test_post_tokens_refuses_a_control_character_in_the_name(login, alice, in_db, name):
    answer = login("alice").post("/api/tokens", json={"name": name})
    assert answer.status_code == 400
    assert set(answer.json["error"]["fields"]) == {"name"}
    assert in_db(ApiToken.select().count) == 0


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["\r\n", "\x1b[2J", "\x85", "\u2028"], ids=repr)
def test_users_create_refuses_a_control_character_in_the_email(runner, in_db, control):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "carol",
            "--email",
            f"carol{control}@example.org",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code != 0
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "email: must not contain control characters" in message
    assert nothing_named(in_db, "carol")


def test_users_create_refuses_an_implausible_email(runner, in_db):
    result = runner.invoke(
        args=["users", "create", "carol", "--email", "carol", "--password", PASSWORD]
    )
    assert result.exit_code != 0
    assert "email: not an email address" in result.output
    assert nothing_named(in_db, "carol")


def test_teams_create_refuses_a_control_character_in_the_display_name(runner, in_db):
    result = runner.invoke(args=["teams", "create", "ops", "--name", "Ops\r\nX: 1"])
    assert result.exit_code != 0
    assert "name: must not contain control characters" in result.output
    assert in_db(Team.select().count) == 0


def test_tokens_create_refuses_a_control_character_in_the_name(runner, alice, in_db):
    result = runner.invoke(args=["tokens", "create", "alice", "--name", "cli\x1b[31m"])
    assert result.exit_code != 0
    assert "name: must not contain control characters" in result.output
    assert in_db(ApiToken.select().count) == 0


# -- the pages -------------------------------------------------------------------------------


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error shown for {field}"
    return match.group(1)


@pytest.mark.parametrize(
    "form, field",
    [
        ({"email": "carol@example.org\r\nBcc: everyone@example.org"}, "email"),
        ({"email": "carol\x85@example.org"}, "email"),
        ({"displayName": "Carol\x1b[2J"}, "displayName"),
    ],
)
def test_the_admin_user_form_shows_the_field_at_fault(as_admin, in_db, form, field):
    answer = as_admin.post(
        "/admin/users",
        data={"name": "carol", "password": PASSWORD, "csrf_token": csrf_token(as_admin), **form},
    )
    assert answer.status_code == 400
    assert "control characters" in field_error(answer.get_data(as_text=True), field)
    assert nothing_named(in_db, "carol")


@pytest.mark.parametrize(
    "form, field",
    [({"name": "Op\u2028s"}, "name"), ({"description": "one\x00two"}, "description")],
)
def test_the_admin_team_form_shows_the_field_at_fault(as_admin, in_db, form, field):
    answer = as_admin.post(
        "/admin/teams", data={"slug": "ops", "csrf_token": csrf_token(as_admin), **form}
    )
    assert answer.status_code == 400
    assert "control characters" in field_error(answer.get_data(as_text=True), field)
    assert nothing_named(in_db, "ops")


def test_the_account_token_form_shows_the_field_at_fault(login, alice, in_db):
    client = login("alice")
    answer = client.post(
        "/account/tokens",
        data={"name": "laptop\x7f", "csrf_token": csrf_token(client, "/account")},
    )
    assert answer.status_code == 400
    assert "control characters" in field_error(answer.get_data(as_text=True), "name")
    assert in_db(ApiToken.select().count) == 0


# -- integrations: names, slugs, scopes --------------------------------------------------------


@pytest.mark.parametrize("control", CONTROLS, ids=IDS)
def test_post_integrations_refuses_a_control_character_in_the_name(login, alice, control):
    client = login("alice")

    created = client.post(
        "/api/integrations",
        json={
            "name": f"Team{control}Drive",
            "slug": "drive",
            "apiBaseUri": "https://api.example.org",
        },
    )

    assert created.status_code == 400, created.json
    assert "name" in created.json["error"]["fields"]


@pytest.mark.parametrize(
    "field, value", [("slug", "drive\n"), ("scope", "files:read\x85"), ("clientId", "c\u2028")]
)
def test_post_integrations_refuses_a_final_newline_or_control_in_ids(login, alice, field, value):
    client = login("alice")
    body = {"name": "Drive", "slug": "drive", "authType": "oauth2"}
    body |= {"authUri": "https://a.example.org/a", "tokenUri": "https://a.example.org/t"}
    body |= {"clientId": "c", "apiBaseUri": "https://api.example.org", field: value}

    created = client.post("/api/integrations", json=body)

    assert created.status_code == 400, created.json
    assert field in created.json["error"]["fields"]
