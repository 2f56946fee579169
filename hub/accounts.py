"""Users, teams, memberships, API tokens and sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import peewee
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub import audit, sessions
from hub import scopes as hub_scopes
from hub.db import (
    Prepared,
    database,
    instance,
    is_postgres,
    utcnow,
    width,
    write_transaction,
)
from hub.errors import Conflict, NotFound, RateLimited, ValidationError
from hub.models import (
    PRINCIPAL_TEAM,
    PRINCIPAL_USER,
    TEAM_ROLES,
    ApiToken,
    ApiTokenIntegration,
    Integration,
    LoginFailure,
    Membership,
    Principal,
    Team,
    User,
)

# fullmatch, not match: "$" also matches before a final newline.
PRINCIPAL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "hub_"
# Lengths of what people type (the columns are as wide).
MAX_DISPLAY_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_TOKEN_NAME_LENGTH = 100
# RFC 5321: a forward-path holds at most 256 octets with its angle brackets; a local part 64.
MAX_EMAIL_LENGTH = 254
MAX_EMAIL_LOCAL_LENGTH = 64
# C0 controls (with CR, LF, NUL and TAB), DEL, C1 controls (with NEL, U+0085), and the Unicode
# line and paragraph separators: each can end or split a header line, a log line or an e-mail
# header built from the value, so no name, address or description may hold one (SECURITY 36).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# local@domain: no space, no second "@"; the domain dot-separated labels of letters, digits and
# hyphens (any script), not starting or ending with a hyphen.
EMAIL_LABEL = r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?"
EMAIL_ADDRESS = re.compile(rf"[^\s@]+@{EMAIL_LABEL}(?:\.{EMAIL_LABEL})*")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# -- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "the password is too short",
            fields={field: f"must be at least {MIN_PASSWORD_LENGTH} characters"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            "the password is too long",
            fields={field: f"must be at most {MAX_PASSWORD_LENGTH} characters"},
        )


def verify_password(user: User | None, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        user.save(only=[User.password_hash])
    return True


# -- what people type: names, addresses, descriptions ------------------------------------------
# The API, the pages and the command line all create users, teams and tokens through this module,
# so these checks are met by every way in.


def check_text(value: object, field: str, *, max_length: int, required: bool = False) -> str:
    """A display name, description or token name: text of at most ``max_length`` characters
    without control characters (:data:`CONTROL_CHARACTERS`); ``required`` refuses blank text.

    :raises ValidationError: naming ``field``; the message never repeats the value.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text", fields={field: "must be text"})
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            f"{field} holds a control character",
            fields={field: "must not contain control characters or line breaks"},
        )
    if required and not value.strip():
        raise ValidationError(f"{field} is required", fields={field: "required"})
    if len(value) > max_length:
        raise ValidationError(
            f"{field} is too long", fields={field: f"must be at most {max_length} characters"}
        )
    return value


def check_email(value: object, field: str = "email") -> str:
    """An e-mail address: no control characters, a plausible ``local@domain``, bounded.

    :raises ValidationError: naming ``field``; the message never repeats the value.
    """
    address = check_text(value, field, max_length=MAX_EMAIL_LENGTH, required=True)
    local, _, _ = address.partition("@")
    if not EMAIL_ADDRESS.fullmatch(address) or len(local) > MAX_EMAIL_LOCAL_LENGTH:
        raise ValidationError(
            "the email address is not valid",
            fields={field: "not an email address (name@example.org)"},
        )
    return address


# -- principals --------------------------------------------------------------------------------


def check_principal_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not PRINCIPAL_NAME.fullmatch(name):
        raise ValidationError(
            f"{field} is not a valid name",
            fields={
                field: "use 1-63 lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            },
        )
    return name


def find_principal(name: str) -> Principal | None:
    return Principal.get_or_none(Principal.name == name)


def _new_principal(
    kind: str, name: str, display_name: str, field: str, display_field: str
) -> Principal:
    check_principal_name(name, field)
    check_text(display_name, display_field, max_length=MAX_DISPLAY_NAME_LENGTH)
    if find_principal(name) is not None:
        raise Conflict(
            f"the name {name!r} is already taken by a user or team", fields={field: "taken"}
        )
    try:
        return Principal.create(kind=kind, name=name, display_name=display_name or name)
    except peewee.IntegrityError as exc:  # lost a race for the name
        raise Conflict(f"the name {name!r} is already taken", fields={field: "taken"}) from exc


# -- users -------------------------------------------------------------------------------------


def create_user(
    name: str,
    password: str,
    *,
    email: str | None = None,
    display_name: str = "",
    is_superuser: bool = False,
    actor: User | None = None,
) -> User:
    if email is not None:
        check_email(email, "email")
    password_hash = hash_password(password)
    with write_transaction():
        principal = _new_principal(PRINCIPAL_USER, name, display_name, "name", "displayName")
        user = User.create(
            principal=principal,
            email=email,
            password_hash=password_hash,
            is_superuser=is_superuser,
        )
        audit.record(
            "user.create",
            actor=actor.principal_id if actor else None,
            target_type="user",
            target_id=name,
            details={"superuser": is_superuser},
        )
    return user


def get_user(name: str) -> User:
    user = (
        User.select(User, Principal)
        .join(Principal)
        .where(Principal.name == name, Principal.kind == PRINCIPAL_USER)
        .first()
    )
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def set_password(user: User, password: str, actor: User | None = None) -> None:
    """Give the user a new password; every session they have open ends (API tokens stay)."""
    password_hash = hash_password(password)
    with write_transaction():
        user.password_hash = password_hash
        user.save(only=[User.password_hash])
        sessions.end_all(user)
        audit.record(
            "user.password.set",
            actor=actor.principal_id if actor else None,
            target_type="user",
            target_id=user.name,
        )


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate a user (they can no longer sign in, nor use their tokens) or reactivate them.

    Nobody deactivates themselves, and the last active administrator stays: someone must be
    left to administer the hub.
    """
    if user.is_active == active:
        return
    if not active and actor is not None and actor.principal_id == user.principal_id:
        raise Conflict("you cannot deactivate yourself; ask another administrator")
    with write_transaction():
        if not active and user.is_superuser and not _other_active_superusers(user):
            raise Conflict(
                f"{user.name!r} is the last active administrator and cannot be deactivated"
            )
        user.is_active = active
        user.save(only=[User.is_active])
        if not active:
            sessions.end_all(user)  # reactivating later revives none of them
        audit.record(
            "user.activate" if active else "user.deactivate",
            actor=actor.principal_id if actor else None,
            target_type="user",
            target_id=user.name,
        )


def _other_active_superusers(user: User) -> bool:
    return (
        User.select()
        .where(
            User.is_superuser == True,  # noqa: E712
            User.is_active == True,  # noqa: E712
            User.principal != user.principal_id,
        )
        .exists()
    )


def owned_integrations(principal_id: int) -> list[str]:
    """The natural ids (``owner:slug``) of the integrations a user or team owns, sorted."""
    query = (
        Integration.select(Integration.slug, Principal.name)
        .join(Principal, on=(Integration.owner == Principal.id))
        .where(Integration.owner == principal_id)
        .order_by(Integration.slug)
    )
    return [f"{owner}:{slug}" for slug, owner in query.tuples()]


def _lock_for_delete(principal_id: int, *, superusers: bool = False) -> None:
    """On PostgreSQL, lock the principal (an integration created for it meanwhile waits, then
    fails, instead of being deleted with it) and, with ``superusers``, every active
    administrator (two administrators deleting each other one at a time, not both at once).
    SQLite's ``BEGIN IMMEDIATE`` already runs one writer at a time."""
    if not is_postgres():
        return
    list(Principal.select(Principal.id).where(Principal.id == principal_id).for_update())
    if superusers:
        active = User.select(User.principal).where(
            User.is_superuser == True,  # noqa: E712
            User.is_active == True,  # noqa: E712
        )
        list(active.order_by(User.principal).for_update())


def _refuse_if_owner(kind: str, name: str, principal_id: int) -> None:
    _lock_for_delete(principal_id)
    owned = owned_integrations(principal_id)
    if owned:
        shown = ", ".join(owned[:20]) + (f" and {len(owned) - 20} more" if len(owned) > 20 else "")
        raise Conflict(
            f"{kind} {name!r} still owns integrations: {shown}; "
            "delete them or give them another owner first",
            fields={"integrations": shown},
        )


def delete_user(user: User, actor: User | None = None) -> None:
    """Delete a user with their sessions, tokens, connections, memberships and the shares made
    to them (the database cascades).

    Refused (409) for oneself, for the last active administrator, and while the user still owns
    integrations (deleting them with their owner would take them from everyone they are shared
    with): the conflict names those integrations.
    """
    if actor is not None and actor.principal_id == user.principal_id:
        raise Conflict("you cannot delete yourself; ask another administrator")
    with write_transaction():
        _lock_for_delete(user.principal_id, superusers=user.is_superuser)
        if user.is_superuser and not _other_active_superusers(user):
            raise Conflict(f"{user.name!r} is the last active administrator and cannot be deleted")
        _refuse_if_owner("user", user.name, user.principal_id)
        name = user.name
        Principal.delete().where(Principal.id == user.principal_id).execute()
        audit.record(
            "user.delete",
            actor=actor.principal_id if actor else None,
            target_type="user",
            target_id=name,
        )


def delete_team(team: Team, actor: User | None = None) -> None:
    """Delete a team with its memberships and the shares made to it; refused (409, naming them)
    while the team still owns integrations."""
    with write_transaction():
        _refuse_if_owner("team", team.slug, team.principal_id)
        slug = team.slug
        Principal.delete().where(Principal.id == team.principal_id).execute()
        audit.record(
            "team.delete",
            actor=actor.principal_id if actor else None,
            target_type="team",
            target_id=slug,
        )


def any_superuser() -> bool:
    return User.select().where(User.is_superuser == True).exists()  # noqa: E712


# -- teams -------------------------------------------------------------------------------------


def create_team(
    slug: str,
    *,
    display_name: str = "",
    description: str = "",
    members: list[str] | None = None,
    actor: User | None = None,
) -> Team:
    check_text(description, "description", max_length=MAX_DESCRIPTION_LENGTH)
    with write_transaction():
        principal = _new_principal(PRINCIPAL_TEAM, slug, display_name, "slug", "name")
        team = Team.create(principal=principal, description=description)
        for member in dict.fromkeys(members or []):
            Membership.create(team=team, user=get_user(member))
        if actor is not None and not actor.is_superuser:
            Membership.insert(team=team, user=actor, role="admin").on_conflict(
                conflict_target=[Membership.team, Membership.user],
                update={Membership.role: "admin"},
            ).execute()
        audit.record(
            "team.create",
            actor=actor.principal_id if actor else None,
            target_type="team",
            target_id=slug,
            details={"members": members or []},
        )
    return team


def get_team(slug: str) -> Team:
    team = (
        Team.select(Team, Principal)
        .join(Principal)
        .where(Principal.name == slug, Principal.kind == PRINCIPAL_TEAM)
        .first()
    )
    if team is None:
        raise NotFound(f"no team named {slug!r}")
    return team


def is_team_admin(user: User, team: Team) -> bool:
    return user.is_superuser or (
        Membership.select()
        .where(Membership.team == team, Membership.user == user, Membership.role == "admin")
        .exists()
    )


def set_membership(team: Team, user: User, role: str, actor: User | None = None) -> Membership:
    if role not in TEAM_ROLES:
        raise ValidationError(
            "unknown team role", fields={"role": f"one of {', '.join(TEAM_ROLES)}"}
        )
    with write_transaction():
        membership = Membership.get_or_none(team=team, user=user)
        if membership is None:
            membership = Membership.create(team=team, user=user, role=role)
        elif membership.role != role:
            membership.role = role
            membership.save()
        audit.record(
            "team.member.set",
            actor=actor.principal_id if actor else None,
            target_type="team",
            target_id=team.slug,
            details={"user": user.name, "role": role},
        )
    return membership


def remove_membership(team: Team, user: User, actor: User | None = None) -> None:
    with write_transaction():
        deleted = (
            Membership.delete().where(Membership.team == team, Membership.user == user).execute()
        )
        if not deleted:
            raise NotFound(f"{user.name!r} is not a member of {team.slug!r}")
        audit.record(
            "team.member.remove",
            actor=actor.principal_id if actor else None,
            target_type="team",
            target_id=team.slug,
            details={"user": user.name},
        )


def team_ids_of(user: User) -> list[int]:
    return [m.team_id for m in Membership.select(Membership.team).where(Membership.user == user)]


# -- API tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown once, never stored


def hash_token(plaintext: str) -> str:
    # Tokens carry 256 random bits: a fast hash is enough; a slow KDF would only cost latency.
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(
    user: User,
    name: str,
    *,
    expires_at: dt.datetime | None = None,
    actor: User | None = None,
    scopes: Sequence[str] | None = None,
    integrations: Sequence[Integration] | None = None,
) -> NewToken:
    """A new API token for ``user``. ``scopes`` None gives it every right of its user;
    ``integrations`` None lets it reach every integration its user can (a list, even empty,
    limits it to those). Callers check that ``user`` can see each integration."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TOKEN_NAME_LENGTH:
        raise ValidationError(
            "the token needs a name", fields={"name": f"1-{MAX_TOKEN_NAME_LENGTH} characters"}
        )
    check_text(name, "name", max_length=MAX_TOKEN_NAME_LENGTH)
    chosen = None if scopes is None else hub_scopes.parse(scopes)
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError("the expiry is in the past", fields={"expires": "a future time"})
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        token = ApiToken.create(
            user=user,
            name=name.strip(),
            token_hash=hash_token(plaintext),
            prefix=plaintext[: len(TOKEN_PREFIX) + 6],
            expires_at=expires_at,
            scopes=chosen,
            limited=integrations is not None,
        )
        reached = sorted({row.id for row in integrations or ()})
        if reached:
            ApiTokenIntegration.insert_many(
                [{"token": token.id, "integration": iid} for iid in reached]
            ).execute()
        details: dict[str, object] = {"user": user.name, "name": token.name}
        if chosen is not None:
            details["scopes"] = chosen
        if integrations is not None:
            details["integrations"] = reached
        audit.record(
            "token.create",
            actor=(actor or user).principal_id,
            target_type="token",
            target_id=token.id,
            details=details,
        )
    return NewToken(token, plaintext)


_DURATION = re.compile(r"([1-9][0-9]{0,5})([hdw])")
_DURATION_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
MAX_TOKEN_LIFETIME = dt.timedelta(days=3650)


def parse_expiry(text: str, *, field: str = "expires") -> dt.datetime:
    """When a token made now should expire: after a duration (``12h``, ``30d``, ``8w``) or at a
    time (``2027-01-31``, ``2027-01-31T18:00:00Z``, ``…+01:00``), in UTC without tzinfo."""
    value = text.strip()
    help_text = "a duration such as 12h, 30d or 8w, or a date such as 2027-01-31T18:00:00Z"
    if match := _DURATION.fullmatch(value):
        delta = dt.timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})
        if delta > MAX_TOKEN_LIFETIME:
            raise ValidationError("a token lives at most ten years", fields={field: help_text})
        return utcnow() + delta
    try:
        when = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValidationError(f"{text!r} is not an expiry", fields={field: help_text}) from None
    if when.tzinfo is None and "T" in value:
        raise ValidationError(
            f"{text!r} has no time zone",
            fields={field: "end it with Z or an offset such as +01:00"},
        )
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    if when <= utcnow():
        raise ValidationError(f"{text!r} is in the past", fields={field: help_text})
    if when - utcnow() > MAX_TOKEN_LIFETIME:
        raise ValidationError("a token lives at most ten years", fields={field: help_text})
    return when


def token_integrations(tokens: Sequence[ApiToken]) -> dict[int, list[Integration]]:
    """The integrations each limited token reaches (with their owners), in one query."""
    limited = [token.id for token in tokens if token.limited]
    found: dict[int, list[Integration]] = {token_id: [] for token_id in limited}
    if limited:
        rows = (
            ApiTokenIntegration.select(ApiTokenIntegration, Integration, Principal)
            .join(Integration)
            .join(Principal, on=(Integration.owner == Principal.id))
            .where(ApiTokenIntegration.token.in_(limited))
            .order_by(Integration.id)
        )
        for row in rows:
            found[row.token_id].append(row.integration)
    return found


# Every token-authenticated request runs this: its SQL is built once (hub.db.Prepared).
_TOKEN_LOOKUP = Prepared(
    lambda token_hash: (
        ApiToken.select(ApiToken, User, Principal)
        .join(User)
        .join(Principal)
        .where(ApiToken.token_hash == token_hash)
        .limit(1)
    ),
    parameters=1,
)


def user_for_token(plaintext: str) -> tuple[User, ApiToken] | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    rows = _TOKEN_LOOKUP.rows(hash_token(plaintext))
    if not rows:
        return None
    token = instance(ApiToken, rows[0])
    user = instance(User, rows[0], width(ApiToken))
    user.__rel__["principal"] = instance(Principal, rows[0], width(ApiToken) + width(User))
    token.__rel__["user"] = user  # not setattr: peewee would look the principal up again
    if not user.is_active:
        return None
    now = utcnow()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    # Touch at most once a minute: no write on every request.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
    return user, token


def revoke_token(user: User, token_id: int, actor: User | None = None) -> None:
    with write_transaction():
        deleted = ApiToken.delete().where(ApiToken.id == token_id, ApiToken.user == user).execute()
        if not deleted:
            raise NotFound(f"no token {token_id} for {user.name!r}")
        audit.record(
            "token.revoke",
            actor=(actor or user).principal_id,
            target_type="token",
            target_id=token_id,
        )


# -- sign-in -----------------------------------------------------------------------------------


def authenticate(
    username: str,
    password: str,
    remote_addr: str,
    *,
    max_failures: int,
    max_failures_per_address: int,
    window_seconds: int,
) -> User | None:
    """Check a username and password, throttled by recent failures for the name and address.

    Raises :class:`RateLimited` (before checking the password) while too many recent failures
    stand against this name or address; a success clears the name's failures.
    """
    username = username[:255]
    since = utcnow() - dt.timedelta(seconds=window_seconds)
    with database.atomic():
        by_name = LoginFailure.select().where(
            LoginFailure.username == username, LoginFailure.at > since
        )
        by_address = LoginFailure.select().where(
            LoginFailure.remote_addr == remote_addr, LoginFailure.at > since
        )
        for query, limit in ((by_name, max_failures), (by_address, max_failures_per_address)):
            if query.count() >= limit:
                oldest = query.order_by(LoginFailure.at).first()
                wait = (oldest.at - since).total_seconds() if oldest else window_seconds
                raise RateLimited(
                    "too many failed sign-in attempts; try again later",
                    retry_after=max(1, int(wait) + 1),
                )
    user = (
        User.select(User, Principal)
        .join(Principal)
        .where(Principal.name == username, Principal.kind == PRINCIPAL_USER)
        .first()
    )
    if verify_password(user, password) and user is not None and user.is_active:
        LoginFailure.delete().where(LoginFailure.username == username).execute()
        return user
    with write_transaction():
        LoginFailure.create(username=username, remote_addr=remote_addr)
        LoginFailure.delete().where(LoginFailure.at < since).execute()
    return None
