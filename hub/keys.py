"""Key rotation: re-encrypt every stored secret under the newest key of the ring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.config import write_private
from hub.crypto import KeyRing, generate_key
from hub.db import database
from hub.models import encrypted_columns

BATCH = 200


def add_key_to_file(path: str) -> KeyRing:
    """Put a new key first in the instance key file; return the new ring."""
    key_file = Path(path)
    text = key_file.read_text()
    write_private(key_file, generate_key() + "\n" + text)
    return KeyRing.from_text(key_file.read_text())


def count_stale(keyring: KeyRing) -> int:
    total = 0
    for model, field in encrypted_columns():
        total += sum(
            1
            for (token,) in model.select(field).where(field.is_null(False)).tuples()
            if keyring.needs_rotation(token)
        )
    return total


def rotate(keyring: KeyRing, progress: Callable[[int], None] = lambda n: None) -> int:
    """Re-encrypt stale ciphertexts in batches, each batch in its own transaction."""
    done = 0
    for model, field in encrypted_columns():
        pk = model._meta.primary_key
        last = None
        while True:
            query = model.select(pk, field).where(field.is_null(False)).order_by(pk).limit(BATCH)
            if last is not None:
                query = query.where(pk > last)
            rows = list(query)
            if not rows:
                break
            with database.atomic():
                for row in rows:
                    token = getattr(row, field.name)
                    if not keyring.needs_rotation(token):
                        continue
                    row.set_secret(field.name, row.get_secret(field.name, keyring), keyring)
                    # Only if unchanged since read: a refresh that stored a new token meanwhile
                    # wrote it under the newest key already, and must not be overwritten.
                    changed = (
                        model.update({field: getattr(row, field.name)})
                        .where(pk == row._pk, field == token)
                        .execute()
                    )
                    done += changed
                    progress(1)
            last = rows[-1]._pk
    return done
