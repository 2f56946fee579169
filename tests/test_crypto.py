"""Secrets at rest (SECURITY 13, 14): the key ring, the ``Secret`` type, and encrypted columns."""

from __future__ import annotations

import base64
import logging
import pickle

import pytest

from hub import accounts
from hub.crypto import (
    REDACTED,
    CryptoError,
    KeyRing,
    MissingKeyError,
    Secret,
    generate_key,
    split_token,
)
from hub.db import database
from hub.models import MODELS, Connection, Integration, ProviderCredential, current_keyring

from .conftest import PASSWORD

PLAIN = "s3cret-client-value"
CONTEXT = "integration.client_secret.1"


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing([generate_key()])


def kid_of(key: str) -> str:
    return KeyRing([key]).primary_kid


def tamper(token: str) -> str:
    """Flip one bit of the sealed bytes (editing the base64 text could leave them unchanged)."""
    kid, payload = split_token(token)
    blob = bytearray(base64.urlsafe_b64decode(payload))
    blob[-1] ^= 0x01
    return f"{kid}${base64.urlsafe_b64encode(bytes(blob)).decode('ascii')}"


# -- encrypt / decrypt -------------------------------------------------------------------------


def test_a_ciphertext_decrypts_to_its_plaintext(ring):
    token = ring.encrypt(PLAIN, CONTEXT)

    assert ring.decrypt(token, CONTEXT) == PLAIN


def test_a_ciphertext_starts_with_the_key_id_of_the_newest_key(ring):
    token = ring.encrypt(PLAIN, CONTEXT)

    assert token.startswith(f"{ring.primary_kid}$")


def test_unicode_and_empty_values_round_trip(ring):
    for value in ("", "päss wörd ✓ 🔑", "x" * 5000):
        assert ring.decrypt(ring.encrypt(value, CONTEXT), CONTEXT) == value


def test_two_encryptions_of_one_value_differ(ring):
    first = ring.encrypt(PLAIN, CONTEXT)
    second = ring.encrypt(PLAIN, CONTEXT)

    assert first != second


def test_each_encryption_uses_a_fresh_96_bit_nonce(ring):
    nonces = {
        base64.urlsafe_b64decode(split_token(ring.encrypt(PLAIN, CONTEXT))[1])[:12]
        for _ in range(50)
    }

    assert len(nonces) == 50


def test_a_ciphertext_holds_no_plaintext(ring):
    token = ring.encrypt(PLAIN, CONTEXT)
    decoded = base64.urlsafe_b64decode(split_token(token)[1])

    assert PLAIN not in token
    assert PLAIN.encode() not in decoded


@pytest.mark.parametrize(
    "other_context",
    [
        "integration.client_secret.2",  # another row
        "integration.client_id.1",  # another column
        "provider_credential.client_secret.1",  # another table
    ],
    ids=["other-row", "other-column", "other-table"],
)
def test_a_ciphertext_does_not_decrypt_in_another_context(ring, other_context):
    token = ring.encrypt(PLAIN, CONTEXT)

    with pytest.raises(CryptoError) as caught:
        ring.decrypt(token, other_context)

    assert not isinstance(caught.value, MissingKeyError)


def test_a_tampered_ciphertext_does_not_decrypt(ring):
    token = ring.encrypt(PLAIN, CONTEXT)

    with pytest.raises(CryptoError, match="altered"):
        ring.decrypt(tamper(token), CONTEXT)


def test_a_truncated_ciphertext_does_not_decrypt(ring):
    token = ring.encrypt(PLAIN, CONTEXT)

    with pytest.raises(CryptoError):
        ring.decrypt(token[:20], CONTEXT)


def test_a_value_without_a_key_id_is_not_a_ciphertext(ring):
    with pytest.raises(CryptoError, match="not a hub ciphertext"):
        ring.decrypt(PLAIN, CONTEXT)


def test_a_decryption_error_does_not_show_the_plaintext(ring):
    token = ring.encrypt(PLAIN, CONTEXT)

    with pytest.raises(CryptoError) as caught:
        ring.decrypt(token, "integration.client_secret.2")

    assert PLAIN not in str(caught.value)
    assert token not in str(caught.value)


def test_a_ciphertext_of_a_key_outside_the_ring_raises_missing_key_naming_its_id():
    old_key = generate_key()
    token = KeyRing([old_key]).encrypt(PLAIN, CONTEXT)
    ring = KeyRing([generate_key()])

    with pytest.raises(MissingKeyError) as caught:
        ring.decrypt(token, CONTEXT)

    assert caught.value.kid == kid_of(old_key)
    assert kid_of(old_key) in str(caught.value)


def test_an_older_key_in_the_ring_still_decrypts():
    old_key, new_key = generate_key(), generate_key()
    token = KeyRing([old_key]).encrypt(PLAIN, CONTEXT)

    assert KeyRing([new_key, old_key]).decrypt(token, CONTEXT) == PLAIN


def test_the_newest_key_encrypts():
    old_key, new_key = generate_key(), generate_key()
    ring = KeyRing([new_key, old_key])

    assert split_token(ring.encrypt(PLAIN, CONTEXT))[0] == kid_of(new_key)


def test_only_ciphertexts_of_an_older_key_need_rotation():
    old_key, new_key = generate_key(), generate_key()
    ring = KeyRing([new_key, old_key])

    assert ring.needs_rotation(KeyRing([old_key]).encrypt(PLAIN, CONTEXT))
    assert not ring.needs_rotation(ring.encrypt(PLAIN, CONTEXT))


# -- the key ring from text --------------------------------------------------------------------


def test_a_key_ring_reads_comma_separated_keys_newest_first():
    newest, older = generate_key(), generate_key()

    ring = KeyRing.from_text(f"{newest},{older}")

    assert ring.kids == (kid_of(newest), kid_of(older))


def test_a_key_ring_reads_newline_separated_keys_with_comments_and_blanks():
    newest, older = generate_key(), generate_key()
    text = f"# rotated 2024-05-01\n{newest}\n\n  # the previous key\n  {older}  \n"

    ring = KeyRing.from_text(text)

    assert ring.kids == (kid_of(newest), kid_of(older))


def test_a_key_ring_reads_a_key_without_its_base64_padding():
    key = generate_key()

    assert KeyRing.from_text(key.rstrip("=")).kids == (kid_of(key),)


def test_a_key_ring_refuses_a_malformed_key_naming_its_position():
    text = f"{generate_key()},not-a-key,{generate_key()}"

    with pytest.raises(CryptoError, match="#2") as caught:
        KeyRing.from_text(text)

    assert "not-a-key" not in str(caught.value)


def test_a_key_ring_refuses_a_key_of_the_wrong_length():
    short = base64.urlsafe_b64encode(b"k" * 16).decode()

    with pytest.raises(CryptoError, match="#1 is not 32 bytes"):
        KeyRing.from_text(short)


@pytest.mark.parametrize("text", ["", "  \n", "# only a comment\n", ",,"])
def test_a_key_ring_refuses_to_be_empty(text):
    with pytest.raises(CryptoError, match="empty"):
        KeyRing.from_text(text)


def test_a_key_ring_shows_key_ids_never_keys():
    key = generate_key()

    assert key not in repr(KeyRing([key]))
    assert kid_of(key) in repr(KeyRing([key]))


def test_generated_keys_are_distinct_32_byte_keys():
    first, second = generate_key(), generate_key()

    assert first != second
    assert len(base64.urlsafe_b64decode(first)) == 32


# -- the Secret type ---------------------------------------------------------------------------


def test_a_secret_redacts_itself_in_repr_and_str():
    secret = Secret(PLAIN)

    assert PLAIN not in repr(secret)
    assert str(secret) == REDACTED


def test_a_secret_redacts_itself_in_formatting():
    secret = Secret(PLAIN)

    assert f"{secret}" == REDACTED
    assert f"{secret!r}" == repr(secret)
    assert f"{secret:>40}" == REDACTED
    assert format(secret, "x^20") == REDACTED
    assert "%s %r" % (secret, secret) == f"{REDACTED} {secret!r}"  # noqa: UP031


def test_a_secret_redacts_itself_inside_containers():
    assert PLAIN not in str({"client_secret": Secret(PLAIN)})
    assert PLAIN not in str([Secret(PLAIN)])


def test_a_secret_redacts_itself_in_logs(caplog):
    log = logging.getLogger("hub.test")
    secret = Secret(PLAIN)

    with caplog.at_level(logging.DEBUG, logger="hub.test"):
        log.info("token %s", secret)
        log.info("token %r", secret)
        log.info("payload %s", {"token": secret})
        log.warning(f"token {secret}")

    assert len(caplog.records) == 4
    assert PLAIN not in caplog.text
    assert REDACTED in caplog.text


def test_a_secret_redacts_itself_in_an_exception_message():
    secret = Secret(PLAIN)

    with pytest.raises(RuntimeError) as caught:
        raise RuntimeError(f"refresh failed with {secret}")
    error = ValueError(secret)

    assert PLAIN not in str(caught.value)
    assert PLAIN not in str(error)
    assert PLAIN not in repr(error)


def test_reveal_gives_the_value():
    assert Secret(PLAIN).reveal() == PLAIN


def test_secrets_with_the_same_value_are_equal():
    assert Secret(PLAIN) == Secret(PLAIN)
    assert Secret(PLAIN) != Secret("another value")


def test_a_secret_is_never_equal_to_its_plain_string():
    assert Secret(PLAIN) != PLAIN


def test_a_secret_wrapping_a_secret_keeps_the_value():
    assert Secret(Secret(PLAIN)).reveal() == PLAIN


def test_a_secret_wraps_only_strings():
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_a_secret_is_not_picklable():
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Secret(PLAIN))


# -- encrypted columns on real rows ------------------------------------------------------------


def stored(model, field_name: str, row_id: int) -> str | None:
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


def new_credential(provider: str, secret: str) -> ProviderCredential:
    row = ProviderCredential.create(provider=provider, client_id=f"{provider}-client")
    row.set_secret("client_secret", secret)
    row.save()
    return row


@pytest.fixture
def integration(db) -> Integration:
    owner = accounts.create_user("alice", PASSWORD)
    return Integration.create(owner=owner.principal, slug="drive", name="Drive")


def test_a_secret_set_on_a_row_reads_back(db):
    row = new_credential("custom", PLAIN)

    fresh = ProviderCredential.get_by_id(row.id)

    assert fresh.get_secret("client_secret") == Secret(PLAIN)


def test_an_integration_client_secret_reads_back(integration):
    integration.set_secret("client_secret", Secret(PLAIN))
    integration.save()

    fresh = Integration.get_by_id(integration.id)

    assert fresh.get_secret("client_secret").reveal() == PLAIN


def test_an_empty_encrypted_column_reads_as_none(integration):
    assert integration.get_secret("client_secret") is None


def test_setting_none_clears_a_secret(db):
    row = new_credential("custom", PLAIN)

    row.set_secret("client_secret", None)
    row.save()

    assert stored(ProviderCredential, "client_secret", row.id) is None


def test_the_raw_column_holds_a_ciphertext_not_the_plaintext(db):
    row = new_credential("custom", PLAIN)

    raw = stored(ProviderCredential, "client_secret", row.id)

    assert PLAIN not in raw
    assert raw.startswith(f"{current_keyring().primary_kid}$")


def test_a_dump_of_every_table_holds_no_secret_in_clear(integration):
    integration.set_secret("client_secret", "integration-secret-value")
    integration.save()
    connection = Connection.create(integration=integration, holder="shared")
    connection.set_secret("access_token", "access-token-value")
    connection.set_secret("refresh_token", "refresh-token-value")
    connection.set_secret("credentials", '{"apiKey": "api-key-value"}')
    connection.save()
    new_credential("custom", "provider-secret-value")

    dump = "\n".join(
        repr(row)
        for model in MODELS
        for row in database.execute_sql(f'SELECT * FROM "{model._meta.table_name}"').fetchall()
    )

    assert "-value" not in dump
    assert PASSWORD not in dump


def test_a_dump_of_every_table_holds_no_encryption_key(app, integration):
    """SECURITY 15: keys come from the environment or the instance file, never the database."""
    integration.set_secret("client_secret", "integration-secret-value")
    integration.save()

    dump = "\n".join(
        repr(row)
        for model in MODELS
        for row in database.execute_sql(f'SELECT * FROM "{model._meta.table_name}"').fetchall()
    )

    keys = [k.strip() for k in app.config["ENCRYPTION_KEYS"].split(",") if k.strip()]
    assert keys and not any(key in dump for key in keys)
    assert current_keyring().primary_kid in dump  # ciphertexts name their key, nothing more


def test_a_ciphertext_copied_into_another_row_does_not_decrypt(db):
    victim = new_credential("custom", PLAIN)
    attacker = new_credential("demo", "the attacker's own secret")

    store(ProviderCredential, "client_secret", attacker.id, victim.client_secret)

    with pytest.raises(CryptoError):
        ProviderCredential.get_by_id(attacker.id).get_secret("client_secret")


def test_a_ciphertext_copied_into_another_column_does_not_decrypt(integration):
    connection = Connection.create(integration=integration, holder="shared")
    connection.set_secret("access_token", "short-lived access token")
    connection.set_secret("refresh_token", "long-lived refresh token")
    connection.save()

    store(Connection, "access_token", connection.id, connection.refresh_token)

    with pytest.raises(CryptoError):
        Connection.get_by_id(connection.id).get_secret("access_token")


def test_a_ciphertext_tampered_in_the_database_does_not_decrypt(db):
    row = new_credential("custom", PLAIN)

    store(ProviderCredential, "client_secret", row.id, tamper(row.client_secret))

    with pytest.raises(CryptoError):
        ProviderCredential.get_by_id(row.id).get_secret("client_secret")


def test_setting_a_secret_before_the_row_is_saved_raises(db):
    row = ProviderCredential(provider="custom", client_id="custom-client")

    with pytest.raises(ValueError, match="save the row"):
        row.set_secret("client_secret", PLAIN)


def test_setting_a_secret_on_a_plain_column_raises(db):
    row = new_credential("custom", PLAIN)

    with pytest.raises(TypeError, match="not an encrypted column"):
        row.set_secret("client_id", PLAIN)
