"""Versioned migrations, applied by ``hub init``."""

from __future__ import annotations

from hub import migrations
from hub.db import database
from hub.models import MODELS


def test_a_fresh_database_gets_every_table(app):
    with app.app_context(), database.connection_context():
        tables = set(database.get_tables())
    assert {m._meta.table_name for m in MODELS} <= tables
    assert "hub_schema_migration" in tables


def test_every_migration_is_recorded(app):
    with app.app_context(), database.connection_context():
        assert migrations.applied_versions() == {m.version for m in migrations.MIGRATIONS}
        assert migrations.is_current()


def test_running_migrations_again_changes_nothing(app):
    with app.app_context():
        assert migrations.migrate() == []
        assert migrations.migrate() == []


def test_rerunning_keeps_the_data(app, make_user):
    make_user("carol")
    with app.app_context():
        migrations.migrate()
        with database.connection_context():
            from hub.models import Principal

            assert Principal.get(Principal.name == "carol").kind == "user"


def test_migrations_are_numbered_in_order():
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == sorted(set(versions))


def test_tokens_made_before_scopes_keep_every_right_after_the_upgrade(app, make_user, client):
    """A database from before migration 4: its tokens have no scopes column; after ``hub init``
    they carry every right of their user and are shown as such."""
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as apply_operations

    from hub import accounts
    from hub.models import ApiToken, ApiTokenIntegration

    make_user("carol")
    with app.app_context(), database.connection_context():
        plaintext = accounts.create_token(accounts.get_user("carol"), "old").plaintext
        migrator = SchemaMigrator.from_database(database.obj)
        database.drop_tables([ApiTokenIntegration])
        apply_operations(
            migrator.drop_column("api_token", "scopes"),
            migrator.drop_column("api_token", "limited"),
        )
        migrations.SchemaMigration.delete().where(migrations.SchemaMigration.version == 4).execute()
    with app.app_context():
        assert [step.version for step in migrations.migrate()] == [4]
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/audit", headers=headers).status_code == 403  # not an administrator
    listed = client.get("/api/tokens", headers=headers)
    assert listed.status_code == 200
    assert [(t["name"], t["scopes"], t["integrations"]) for t in listed.json["items"]] == [
        ("old", None, None)
    ]
    with app.app_context(), database.connection_context():
        assert ApiToken.get(ApiToken.name == "old").limited is False
