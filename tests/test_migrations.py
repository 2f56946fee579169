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
