"""Browser sessions, kept server-side (SECURITY 35).

Signing in makes a :class:`~hub.models.UserSession` row and a random 256-bit key; the session
cookie (signed by Flask) carries the key, the row only its SHA-256. Every request with the cookie
finds its row, user and principal in one prepared statement. Ending a session deletes its row, so
a copy of the cookie saved before then is refused: a logout ends that one session; a password
change, a deactivation and "sign out everywhere" end all of the user's.

A session also ends by itself :func:`lifetime` after sign-in — Flask's
``PERMANENT_SESSION_LIFETIME``, 31 days unless configured, the longest Flask accepts a session
cookie it has not signed again — or after :data:`IDLE_LIMIT` without a request, whichever comes
first. Expired rows are deleted when found and at every sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import peewee
from flask import current_app

from hub import audit
from hub.db import Prepared, instance, utcnow, width, write_transaction
from hub.models import Principal, User, UserSession

KEY_BYTES = 32
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
IDLE_LIMIT = dt.timedelta(days=7)
# last_seen_at is written at most this often: not a write on every request.
TOUCH_INTERVAL = dt.timedelta(minutes=5)
USER_AGENT_LENGTH = 200


def lifetime() -> dt.timedelta:
    """How long a session lasts at most after sign-in."""
    return current_app.permanent_session_lifetime


def hash_key(key: str) -> str:
    # 256 random bits: a fast hash is enough (as for API tokens).
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _is_key(key: object) -> bool:
    return isinstance(key, str) and KEY_SHAPE.fullmatch(key) is not None


def _expired(record: UserSession, now: dt.datetime) -> bool:
    return record.created_at <= now - lifetime() or record.last_seen_at <= now - IDLE_LIMIT


def start(user: User, user_agent: str | None = None) -> tuple[str, UserSession]:
    """A new session for ``user``: its key (for the cookie, never stored) and its row."""
    now = utcnow()
    purge_expired(now)
    key = secrets.token_urlsafe(KEY_BYTES)
    record = UserSession.create(
        user=user,
        key_hash=hash_key(key),
        created_at=now,
        last_seen_at=now,
        user_agent=_displayable(user_agent),
    )
    return key, record


def _displayable(user_agent: str | None) -> str | None:
    """The User-Agent as shown on the account page: printable characters only, bounded."""
    if not user_agent:
        return None
    return "".join(c for c in user_agent if c.isprintable())[:USER_AGENT_LENGTH] or None


def purge_expired(now: dt.datetime | None = None) -> int:
    now = now or utcnow()
    return (
        UserSession.delete()
        .where(
            (UserSession.created_at <= now - lifetime())
            | (UserSession.last_seen_at <= now - IDLE_LIMIT)
        )
        .execute()
    )


# Every request of a browser session runs this one (hub.auth's session loader).
_SESSION_LOOKUP = Prepared(
    lambda key_hash: (
        UserSession.select(UserSession, User, Principal)
        .join(User)
        .join(Principal)
        .where(UserSession.key_hash == key_hash)
        .limit(1)
    ),
    parameters=1,
)


def find(key: object) -> UserSession | None:
    """The live session whose key this is, with its user and principal loaded (``.user``);
    None when the key is malformed, unknown, ended, expired, or its user is deactivated."""
    if not _is_key(key):
        return None
    assert isinstance(key, str)
    rows = _SESSION_LOOKUP.rows(hash_key(key))
    if not rows:
        return None
    record = instance(UserSession, rows[0])
    user = instance(User, rows[0], width(UserSession))
    user.__rel__["principal"] = instance(Principal, rows[0], width(UserSession) + width(User))
    record.__rel__["user"] = user  # not setattr: peewee would look the principal up again
    now = utcnow()
    if _expired(record, now):
        UserSession.delete().where(UserSession.id == record.id).execute()
        return None
    if not user.is_active:  # deactivation deleted the rows; this holds even if one slipped in
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:
        UserSession.update(last_seen_at=now).where(UserSession.id == record.id).execute()
        record.__data__["last_seen_at"] = now
    return record


def end(key: object) -> bool:
    """End the session whose key this is (logout); False when there was none."""
    if not _is_key(key):
        return False
    assert isinstance(key, str)
    return UserSession.delete().where(UserSession.key_hash == hash_key(key)).execute() > 0


def end_all(user: User) -> int:
    """End every session of ``user``; how many there were. Runs in the caller's transaction."""
    return UserSession.delete().where(UserSession.user == user.principal_id).execute()


def sign_out_everywhere(user: User, *, actor: User | None) -> int:
    """End every session of ``user`` ("sign out everywhere"), audited; how many ended.
    ``actor`` is whoever asked (the user, an administrator; None for the command line).

    API tokens are not sessions: they keep working (revoke them on their own)."""
    with write_transaction():
        ended = end_all(user)
        audit.record(
            "user.sessions.end",
            actor=actor.principal_id if actor else None,
            target_type="user",
            target_id=user.name,
            details={"sessions": ended},
        )
    return ended


def live(user: User) -> peewee.ModelSelect:
    """The user's sessions that have not ended or expired (unordered: the caller orders)."""
    now = utcnow()
    return UserSession.select().where(
        UserSession.user == user.principal_id,
        UserSession.created_at > now - lifetime(),
        UserSession.last_seen_at > now - IDLE_LIMIT,
    )
