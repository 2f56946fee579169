"""Key rotation and missing keys (SECURITY 15): ``hub.keys``, start-up checks, ``hub keys``."""

from __future__ import annotations

import datetime as dt
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from hub import accounts, create_app, keys, migrations
from hub.cli import cli
from hub.config import ENCRYPTION_KEY_FILE
from hub.crypto import KeyRing, MissingKeyError, generate_key, split_token
from hub.db import database
from hub.models import (
    Connection,
    Integration,
    OAuthTransaction,
    ProviderCredential,
    WebhookEndpoint,
    current_keyring,
    encrypted_columns,
)

from .conftest import PASSWORD

KEY_A = generate_key()
KEY_B = generate_key()
KID_A = KeyRing([KEY_A]).primary_kid
KID_B = KeyRing([KEY_B]).primary_kid


@contextmanager
def opened(app):
    with app.app_context(), database.connection_context():
        yield


def stored(model, field_name: str, row_id: int) -> str:
    """The raw column value, read with SQL past the model layer."""
    table = model._meta.table_name
    column = model._meta.fields[field_name].column_name
    cursor = database.execute_sql(
        f'SELECT "{column}" FROM "{table}" WHERE id = {database.param}', (row_id,)
    )
    return cursor.fetchone()[0]


def store(model, field_name: str, row_id: int, value: str) -> None:
    """Write a raw column value with SQL, as someone with database access could."""
    table = model._meta.table_name
    column = model._meta.fields[field_name].column_name
    database.execute_sql(
        f'UPDATE "{table}" SET "{column}" = {database.param} WHERE id = {database.param}',
        (value, row_id),
    )


def row_of(secrets: dict, model) -> int:
    return next(row_id for (owner, _, row_id) in secrets if owner is model)


def seed_secrets() -> dict[tuple[type, str, int], str]:
    """One secret in every kind of encrypted column, under the app's current key ring."""
    owner = accounts.create_user("alice", PASSWORD)
    integration = Integration.create(owner=owner.principal, slug="drive", name="Drive")
    connection = Connection.create(integration=integration, holder="shared")
    credential = ProviderCredential.create(provider="custom", client_id="client-id")
    transaction = OAuthTransaction.create(
        state_hash="0" * 64,
        integration=integration,
        user=owner,
        holder="shared",
        provider="custom",
        redirect_uri="http://127.0.0.1:5000/oauth2/callback",
        expires_at=dt.datetime(2100, 1, 1),
    )
    endpoint = WebhookEndpoint.create(integration=integration, url="https://hooks.example.org")
    values = {
        (Integration, "client_secret", integration.id): "integration client secret",
        (Connection, "access_token", connection.id): "access token",
        (Connection, "refresh_token", connection.id): "refresh token",
        (Connection, "credentials", connection.id): '{"apiKey": "api key"}',
        (ProviderCredential, "client_secret", credential.id): "provider client secret",
        (OAuthTransaction, "code_verifier", transaction.id): "pkce code verifier",
        (WebhookEndpoint, "secret", endpoint.id): "webhook signing secret",
    }
    for (model, field_name, row_id), value in values.items():
        row = model.get_by_id(row_id)
        row.set_secret(field_name, value)
        row.save()
    return values


def read_secret(model, field_name: str, row_id: int, keyring: KeyRing | None = None) -> str:
    return model.get_by_id(row_id).get_secret(field_name, keyring).reveal()


@pytest.fixture
def app_a(make_app):
    """An app whose key ring is key A alone."""
    return make_app(ENCRYPTION_KEYS=KEY_A)


@pytest.fixture
def secrets_under_a(app_a):
    """Secrets in every encrypted column, all written under key A."""
    with opened(app_a):
        return seed_secrets()


@pytest.fixture
def file_keyed_app(tmp_path, database_url):
    """An app whose key ring comes from the instance key file (no ENCRYPTION_KEYS setting).

    ``make_app`` always sets ENCRYPTION_KEYS, so this one is built with ``create_app`` directly.
    """
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
        }
    )
    with app.app_context():
        migrations.migrate()
    yield app
    if not database.is_closed():
        database.close()


# -- hub.keys.rotate ---------------------------------------------------------------------------


def test_the_seeded_secrets_cover_every_encrypted_column(secrets_under_a):
    seeded = {(model, field_name) for (model, field_name, _) in secrets_under_a}

    assert seeded == {(model, field.name) for model, field in encrypted_columns()}


def test_rotate_re_encrypts_every_secret_under_the_newest_key(secrets_under_a, app_a):
    ring = KeyRing([KEY_B, KEY_A])

    with opened(app_a):
        keys.rotate(ring)
        kids = {split_token(stored(*where))[0] for where in secrets_under_a}

    assert kids == {KID_B}


def test_rotate_returns_how_many_secrets_it_re_encrypted(secrets_under_a, app_a):
    with opened(app_a):
        done = keys.rotate(KeyRing([KEY_B, KEY_A]))

    assert done == len(secrets_under_a)


def test_rotated_secrets_decrypt_to_the_same_values(secrets_under_a, app_a):
    ring = KeyRing([KEY_B, KEY_A])

    with opened(app_a):
        keys.rotate(ring)
        values = {where: read_secret(*where, keyring=ring) for where in secrets_under_a}

    assert values == secrets_under_a


def test_rotate_leaves_no_stale_secret(secrets_under_a, app_a):
    ring = KeyRing([KEY_B, KEY_A])

    with opened(app_a):
        before = keys.count_stale(ring)
        keys.rotate(ring)
        after = keys.count_stale(ring)

    assert (before, after) == (len(secrets_under_a), 0)


def test_a_second_rotate_changes_nothing(secrets_under_a, app_a):
    ring = KeyRing([KEY_B, KEY_A])

    with opened(app_a):
        keys.rotate(ring)
        first = {where: stored(*where) for where in secrets_under_a}
        done = keys.rotate(ring)
        second = {where: stored(*where) for where in secrets_under_a}

    assert done == 0
    assert second == first


def test_rotate_reports_progress_once_per_secret(secrets_under_a, app_a):
    steps = []

    with opened(app_a):
        keys.rotate(KeyRing([KEY_B, KEY_A]), progress=steps.append)

    assert sum(steps) == len(secrets_under_a)


def test_rotate_walks_every_batch(make_app, monkeypatch):
    monkeypatch.setattr(keys, "BATCH", 2)
    app = make_app(ENCRYPTION_KEYS=KEY_A)
    ring = KeyRing([KEY_B, KEY_A])

    with opened(app):
        for number in range(5):
            row = ProviderCredential.create(provider=f"p{number}", client_id="id")
            row.set_secret("client_secret", f"secret {number}")
            row.save()
        done = keys.rotate(ring)
        stale = keys.count_stale(ring)

    assert (done, stale) == (5, 0)


class RefreshDuringRotation(KeyRing):
    """A ring that lets another worker store a refreshed token between rotate's read and write."""

    def __init__(self, keys, connection_id: int) -> None:
        super().__init__(keys)
        self.connection_id = connection_id
        self.refreshed = False

    def decrypt(self, token: str, context: str) -> str:
        plain = super().decrypt(token, context)
        if not self.refreshed and context.startswith("connection.refresh_token."):
            self.refreshed = True
            connection = Connection.get_by_id(self.connection_id)
            connection.set_secret("refresh_token", "rotated refresh token", self)
            connection.save()
        return plain


def test_rotate_keeps_a_secret_stored_while_it_runs(secrets_under_a, app_a):
    connection_id = row_of(secrets_under_a, Connection)
    ring = RefreshDuringRotation([KEY_B, KEY_A], connection_id)

    with opened(app_a):
        keys.rotate(ring)
        value = read_secret(Connection, "refresh_token", connection_id, keyring=ring)

    assert ring.refreshed
    assert value == "rotated refresh token"


def test_after_rotation_an_app_with_only_the_new_key_reads_the_secrets(secrets_under_a, make_app):
    rotating = make_app(ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}")
    with opened(rotating):
        keys.rotate(current_keyring())

    app = make_app(ENCRYPTION_KEYS=KEY_B)

    with opened(app):
        values = {where: read_secret(*where) for where in secrets_under_a}
    assert values == secrets_under_a


# -- a missing key is a start-up error ---------------------------------------------------------


def test_an_app_missing_a_key_of_stored_secrets_fails_to_start(app_a, make_app):
    with opened(app_a):
        row = ProviderCredential.create(provider="custom", client_id="client-id")
        row.set_secret("client_secret", "provider client secret")
        row.save()

    with pytest.raises(MissingKeyError) as caught:
        make_app(ENCRYPTION_KEYS=KEY_B)

    assert caught.value.kid == KID_A
    assert KID_A in str(caught.value)
    assert "provider_credential.client_secret" in str(caught.value)


def test_the_missing_key_error_names_the_column_that_needs_it(app_a, make_app):
    with opened(app_a):
        owner = accounts.create_user("alice", PASSWORD)
        integration = Integration.create(owner=owner.principal, slug="drive", name="Drive")
        integration.set_secret("client_secret", "integration client secret")
        integration.save()

    with pytest.raises(MissingKeyError, match=rf"'{KID_A}'.*integration\.client_secret"):
        make_app(ENCRYPTION_KEYS=KEY_B)


def test_an_app_whose_ring_still_holds_the_old_key_starts(secrets_under_a, make_app):
    app = make_app(ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}")

    with opened(app):
        values = {where: read_secret(*where) for where in secrets_under_a}
    assert values == secrets_under_a


# -- hub keys rotate, keys from the instance key file ------------------------------------------


def key_file_of(app) -> Path:
    return Path(app.config["ENCRYPTION_KEYS_SOURCE"])


def test_the_instance_key_file_is_the_key_source_without_a_setting(file_keyed_app):
    path = key_file_of(file_keyed_app)

    assert path == Path(file_keyed_app.instance_path) / ENCRYPTION_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_rotate_adds_a_new_key_first_in_the_key_file(file_keyed_app):
    path = key_file_of(file_keyed_app)
    old_keys = path.read_text().split()

    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    new_keys = path.read_text().split()
    assert new_keys[1:] == old_keys
    assert new_keys[0] not in old_keys
    assert f"Added key {KeyRing([new_keys[0]]).primary_kid} to {path}" in result.output


def test_keys_rotate_keeps_the_key_file_owner_only(file_keyed_app):
    path = key_file_of(file_keyed_app)

    file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_rotate_re_encrypts_secrets_under_the_new_file_key(file_keyed_app):
    with opened(file_keyed_app):
        secrets = seed_secrets()

    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    new_kid = KeyRing.from_text(key_file_of(file_keyed_app).read_text()).primary_kid
    assert f"Re-encrypted {len(secrets)} secret(s) under key {new_kid}." in result.output
    with opened(file_keyed_app):
        kids = {split_token(stored(*where))[0] for where in secrets}
    assert kids == {new_kid}


def test_keys_rotate_shows_progress(file_keyed_app):
    with opened(file_keyed_app):
        seed_secrets()

    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert "Re-encrypting secrets" in result.output


def test_after_keys_rotate_the_instance_starts_and_reads_the_secrets(
    file_keyed_app, tmp_path, database_url
):
    with opened(file_keyed_app):
        secrets = seed_secrets()
    file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    restarted = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": file_keyed_app.instance_path,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
        }
    )

    with opened(restarted):
        values = {where: read_secret(*where) for where in secrets}
    assert values == secrets


def test_keys_rotate_no_new_key_leaves_the_key_file_alone(file_keyed_app):
    path = key_file_of(file_keyed_app)
    before = path.read_text()

    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate", "--no-new-key"])

    assert result.exit_code == 0, result.output
    assert path.read_text() == before
    assert "Re-encrypted 0 secret(s)" in result.output


def test_keys_rotate_reports_an_undecryptable_secret_as_a_clear_error(file_keyed_app):
    with opened(file_keyed_app):
        secrets = seed_secrets()
        moved = stored(Integration, "client_secret", row_of(secrets, Integration))
        store(ProviderCredential, "client_secret", row_of(secrets, ProviderCredential), moved)

    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "provider_credential.client_secret" in result.output


# -- hub keys rotate, keys from HUB_ENCRYPTION_KEYS --------------------------------------------


def test_keys_rotate_new_key_is_refused_when_keys_come_from_the_environment(make_app):
    app = make_app(ENCRYPTION_KEYS=KEY_A)

    result = app.test_cli_runner().invoke(cli, ["keys", "rotate", "--new-key"])

    assert result.exit_code == 1
    assert "keys come from HUB_ENCRYPTION_KEYS" in result.output
    assert "Traceback" not in result.output


def test_keys_rotate_re_encrypts_under_the_first_environment_key(secrets_under_a, make_app):
    app = make_app(ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}")

    result = app.test_cli_runner().invoke(cli, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert f"Re-encrypted {len(secrets_under_a)} secret(s) under key {KID_B}." in result.output
    with opened(app):
        assert keys.count_stale(KeyRing([KEY_B])) == 0


# -- hub keys generate -------------------------------------------------------------------------


def test_keys_generate_prints_a_key_the_ring_accepts(runner):
    result = runner.invoke(cli, ["keys", "generate"])

    assert result.exit_code == 0
    key = result.output.strip()
    assert len(KeyRing.from_text(key).kids) == 1


def test_keys_generate_prints_a_new_key_each_time(runner):
    first = runner.invoke(cli, ["keys", "generate"]).output
    second = runner.invoke(cli, ["keys", "generate"]).output

    assert first != second


def test_a_running_worker_reads_secrets_rotated_by_another_process(file_keyed_app, tmp_path):
    # Worker B started before the rotation: its key ring lacks the new key.
    worker = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": file_keyed_app.config["DATABASE_URL"],
            "SECRET_KEY": "test-secret-key",
        }
    )
    with file_keyed_app.app_context(), database.connection_context():
        row = ProviderCredential.create(provider="google", client_id="cid")
        row.set_secret("client_secret", "kept through rotation")
        row.save()
    result = file_keyed_app.test_cli_runner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    with worker.app_context(), database.connection_context():
        again = ProviderCredential.get(provider="google")
        assert again.get_secret("client_secret").reveal() == "kept through rotation"
