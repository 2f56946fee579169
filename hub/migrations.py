"""Versioned schema migrations, applied in order by ``hub init``.

Each migration is a function registered with :func:`migration` under a strictly increasing number;
the numbers applied are recorded in ``hub_schema_migration``. Applying is idempotent: a migration
already recorded is skipped, and each one runs in its own transaction together with its record.

Migrations are history: once released, a migration's body never changes. A later schema change
adds a model field *and* a new migration (``playhouse.migrate`` operations through ``migrator``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply_operations

from hub import models
from hub.db import database, utcnow

MigrationFunction = Callable[[peewee.Database, SchemaMigrator], None]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: MigrationFunction


MIGRATIONS: list[Migration] = []


def migration(version: int, name: str) -> Callable[[MigrationFunction], MigrationFunction]:
    def register(function: MigrationFunction) -> MigrationFunction:
        if MIGRATIONS and version <= MIGRATIONS[-1].version:
            raise ValueError(f"migration {version} is out of order")
        MIGRATIONS.append(Migration(version, name, function))
        return function

    return register


class SchemaMigration(peewee.Model):
    version = peewee.IntegerField(primary_key=True)
    name = peewee.CharField(max_length=100)
    applied_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        database = database
        table_name = "hub_schema_migration"


@migration(1, "initial schema")
def _initial(db: peewee.Database, migrator: SchemaMigrator) -> None:
    db.create_tables(models.MODELS)


@migration(2, "server-side sessions")
def _server_side_sessions(db: peewee.Database, migrator: SchemaMigrator) -> None:
    # A database made before this migration has no user_session table; on a fresh one the
    # initial schema above already made it (create_tables skips a table that exists).
    db.create_tables([models.UserSession])


@migration(3, "approved origins of hub-wide OAuth clients")
def _approved_origins(db: peewee.Database, migrator: SchemaMigrator) -> None:
    # Migration 1 builds today's models, so a database made since has the column already.
    table = models.ProviderCredential._meta.table_name
    if "approved_origins" not in {column.name for column in db.get_columns(table)}:
        field = models.ProviderCredential.approved_origins
        apply_operations(migrator.add_column(table, "approved_origins", field))


@migration(4, "scoped API tokens")
def _scoped_tokens(db: peewee.Database, migrator: SchemaMigrator) -> None:
    table = models.ApiToken._meta.table_name
    columns = {column.name for column in db.get_columns(table)}
    operations = [
        migrator.add_column(table, name, getattr(models.ApiToken, name))
        for name in ("scopes", "limited")
        if name not in columns
    ]
    if operations:
        apply_operations(*operations)
    db.create_tables([models.ApiTokenIntegration])


@migration(5, "credential export, client-credentials grants and connection metadata")
def _backend_fields(db: peewee.Database, migrator: SchemaMigrator) -> None:
    wanted = {
        models.Integration: ("credentials_export", "grant_type"),
        models.Connection: ("metadata",),
    }
    operations = []
    for model, names in wanted.items():
        table = model._meta.table_name
        columns = {column.name for column in db.get_columns(table)}
        operations += [
            migrator.add_column(table, name, getattr(model, name))
            for name in names
            if name not in columns
        ]
    if operations:
        apply_operations(*operations)


@migration(6, "outgoing webhooks")
def _webhooks(db: peewee.Database, migrator: SchemaMigrator) -> None:
    # On a database made since, migration 1 has made these tables already.
    db.create_tables(
        [models.WebhookEndpoint, models.WebhookEvent, models.WebhookDelivery, models.WebhookAttempt]
    )


def applied_versions() -> set[int]:
    if not SchemaMigration.table_exists():
        return set()
    return {row.version for row in SchemaMigration.select(SchemaMigration.version)}


def pending() -> list[Migration]:
    done = applied_versions()
    return [m for m in MIGRATIONS if m.version not in done]


def migrate() -> list[Migration]:
    """Apply every pending migration; return those applied (empty when already up to date)."""
    db = database.obj
    with database.connection_context():
        database.create_tables([SchemaMigration], safe=True)
        applied = []
        for step in pending():
            with database.atomic():
                # Another process may have applied it since we looked.
                if SchemaMigration.get_or_none(SchemaMigration.version == step.version):
                    continue
                step.apply(db, SchemaMigrator.from_database(db))
                SchemaMigration.create(version=step.version, name=step.name)
            applied.append(step)
    return applied


def is_current() -> bool:
    with database.connection_context():
        return not pending()
