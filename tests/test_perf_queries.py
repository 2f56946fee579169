"""The data path's prepared lookups (hub.db.Prepared) give what the plain peewee queries give.

Token -> user, integration + the caller's level, and the caller's connection each run one
statement whose SQL is built once; these tests hold them to the general rules
(:func:`hub.access.levels_for`, :func:`hub.connections.connection_for`) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging

import pytest

from hub import access, accounts, browse
from hub.connections import connection_for
from hub.db import Prepared, database, utcnow
from hub.errors import Forbidden, NotFound
from hub.models import ApiToken, Connection, Integration, Principal, Share, User
from tests.conftest import PASSWORD


class Statements(logging.Handler):
    """The SQL statements peewee runs (its log records of (sql, params))."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple):
            self.sql.append(record.msg[0])


@pytest.fixture
def statements():
    handler = Statements()
    log = logging.getLogger("peewee")
    level = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    yield handler.sql
    log.removeHandler(handler)
    log.setLevel(level)


def make_user(name: str, superuser: bool = False) -> User:
    return accounts.create_user(name, PASSWORD, email=f"{name}@example.org", is_superuser=superuser)


@pytest.fixture
def world(db):
    """Integrations owned by a user and by a team, shared in every way a level can come."""
    users = {name: make_user(name) for name in ("owner", "member", "direct", "via-team", "both")}
    users["root"] = make_user("root", superuser=True)
    users["stranger"] = make_user("stranger")
    team = accounts.create_team("crew", members=["member"])
    readers = accounts.create_team("readers", members=["via-team", "both"])
    mine = Integration.create(owner=users["owner"].principal, slug="mine", name="Mine")
    crews = Integration.create(owner=team.principal, slug="crews", name="Crews")
    for integration in (mine, crews):
        Share.create(integration=integration, principal=users["direct"].principal, access="edit")
        Share.create(integration=integration, principal=readers.principal, access="use")
        # The highest of a direct share and a team's share wins, whichever is higher.
        Share.create(integration=integration, principal=users["both"].principal, access="manage")
    return users, [mine, crews]


def test_find_gives_every_caller_the_level_levels_for_gives(world):
    users, integrations = world
    for user in users.values():
        user = User.get_by_id(user.principal_id)  # fresh: as a request loads it
        expected = access.levels_for(user, integrations)
        for integration in integrations:
            natural = f"{integration.owner.name}:{integration.slug}"
            for ref in (str(integration.id), natural):
                level = expected[integration.id]
                if level is None:
                    with pytest.raises(NotFound):
                        access.find(user, ref)
                    continue
                found, have = access.find(user, ref)
                assert (found.id, have) == (integration.id, level), (user.name, ref)
                assert found.owner.name == integration.owner.name
                assert found.__data__ == Integration.get_by_id(integration.id).__data__
                if level != "manage":
                    with pytest.raises(Forbidden):
                        access.find(user, ref, need="manage")


@pytest.mark.parametrize(
    "ref", ["999999", "owner:nope", "nobody:mine", "owner:", ":mine", "mine", "6³", "9" * 19]
)
def test_find_answers_404_for_what_does_not_exist(world, ref):
    users, _ = world
    with pytest.raises(NotFound):
        access.find(users["root"], ref)


def test_find_runs_one_statement_and_the_owner_needs_none_more(world, statements):
    users, integrations = world
    found, _ = access.find(users["via-team"], str(integrations[1].id))
    assert found.owner.name == "crew"
    assert len(statements) == 1


def test_a_token_loads_its_user_and_principal_in_one_statement(db, statements):
    user = make_user("alice")
    new = accounts.create_token(user, "laptop")
    ApiToken.update(last_used_at=utcnow()).where(ApiToken.id == new.token.id).execute()
    statements.clear()
    found_user, token = accounts.user_for_token(new.plaintext)
    assert (found_user.name, found_user.email, found_user.is_active) == ("alice", user.email, True)
    assert token.id == new.token.id and token.user is found_user
    assert len(statements) == 1
    assert token.__data__ == ApiToken.get_by_id(new.token.id).__data__
    assert found_user.__data__ == User.get_by_id(user.principal_id).__data__
    assert found_user.principal.__data__ == Principal.get_by_id(user.principal_id).__data__
    assert not found_user.is_dirty() and not token.is_dirty()


def test_tokens_of_inactive_users_unknown_or_expired_tokens_find_nobody(db):
    user = make_user("bob")
    new = accounts.create_token(user, "ci")
    assert accounts.user_for_token(new.plaintext + "x") is None
    ApiToken.update(expires_at=utcnow()).where(ApiToken.id == new.token.id).execute()
    assert accounts.user_for_token(new.plaintext) is None
    ApiToken.update(expires_at=None).where(ApiToken.id == new.token.id).execute()
    User.update(is_active=False).where(User.principal == user.principal_id).execute()
    assert accounts.user_for_token(new.plaintext) is None


def test_the_context_holds_the_connection_connection_for_finds(world, app):
    users, integrations = world
    mine = integrations[0]
    provider = app.extensions["hub"].registry.provider("custom")
    assert browse.context_for(provider, mine, users["owner"]).connection is None
    Connection.create(integration=mine, holder=f"user:{users['owner'].principal_id}")
    Connection.create(integration=mine, holder="shared", status="connected")
    own = browse.context_for(provider, mine, users["owner"]).connection
    assert own.__data__ == connection_for(mine, users["owner"]).__data__
    mine.connection_mode = "shared"
    shared = browse.context_for(provider, mine, users["direct"]).connection
    assert shared.__data__ == connection_for(mine, users["direct"]).__data__
    assert shared.holder == "shared" and shared.integration is mine


def test_a_prepared_query_is_compiled_once_per_database(db):
    query = Prepared(lambda name: Principal.select().where(Principal.name == name), parameters=1)
    first = query.compile()
    assert query.compile() is first
    assert query.rows("nobody") == []
    assert first[0].count(database.param) == 1


def test_a_prepared_query_must_use_every_slot(db):
    query = Prepared(lambda name, unused: Principal.select().where(Principal.name == name), 2)
    with pytest.raises(ValueError, match="slots"):
        query.compile()
    with pytest.raises(TypeError):
        Prepared(lambda name: Principal.select().where(Principal.name == name), 1).rows()
