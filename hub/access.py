"""Who may do what with an integration (DESIGN §6).

Levels: ``use`` < ``edit`` < ``manage``. Owners — the owning user, or any member of the owning
team — and superusers have ``manage``; everyone else has the highest level shared with them or
with one of their teams. Whoever has no level cannot see the integration and gets 404, never
403, so names do not leak.
"""

from __future__ import annotations

from collections.abc import Iterable

import peewee

from hub.accounts import team_ids_of
from hub.errors import Forbidden, NotFound
from hub.models import ACCESS_LEVELS, Integration, Principal, Share, User

RANK = {level: rank for rank, level in enumerate(ACCESS_LEVELS, start=1)}


def principal_ids(user: User) -> list[int]:
    """The user's own principal and those of every team they belong to."""
    return [user.principal_id, *team_ids_of(user)]


def higher(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if RANK[a] >= RANK[b] else b


def levels_for(user: User, integrations: Iterable[Integration]) -> dict[int, str | None]:
    """The caller's level on each integration, in at most two queries whatever their number."""
    rows = list(integrations)
    if user.is_superuser:
        return {row.id: "manage" for row in rows}
    # The caller's own integrations need no membership lookup: the common case, one query less.
    levels: dict[int, str | None] = {
        row.id: "manage" if row.owner_id == user.principal_id else None for row in rows
    }
    others = [row for row in rows if levels[row.id] is None]
    if not others:
        return levels
    ids = principal_ids(user)
    for row in others:
        if row.owner_id in ids:
            levels[row.id] = "manage"
    pending = [row.id for row in others if levels[row.id] is None]
    if pending:
        shares = Share.select(Share.integration, Share.access).where(
            Share.integration.in_(pending), Share.principal.in_(ids)
        )
        for share in shares:
            levels[share.integration_id] = higher(levels[share.integration_id], share.access)
    return levels


def level_for(user: User, integration: Integration) -> str | None:
    return levels_for(user, [integration])[integration.id]


def require(user: User, integration: Integration, level: str) -> str:
    """The caller's level, if at least ``level``: 404 when they cannot see it, else 403."""
    return check(level_for(user, integration), level, integration_ref(integration))


def check(have: str | None, need: str, ref: str) -> str:
    if have is None:
        raise not_found(ref)
    if RANK[have] < RANK[need]:
        raise Forbidden(f"this needs {need} access to the integration; you have {have}")
    return have


def visible(user: User, query: peewee.ModelSelect) -> peewee.ModelSelect:
    """Restrict an integration query to what ``user`` can see."""
    if user.is_superuser:
        return query
    ids = principal_ids(user)
    shared = Share.select(Share.integration).where(Share.principal.in_(ids))
    return query.where(Integration.owner.in_(ids) | Integration.id.in_(shared))


def find(user: User, ref: str, need: str = "use") -> tuple[Integration, str]:
    """The integration named by a numeric id or a natural id ``owner:slug``, with the caller's
    level: 404 when it does not exist or the caller cannot see it, 403 when the caller sees it
    with less than ``need``."""
    integration = lookup(ref)
    if integration is None:
        raise not_found(ref)
    return integration, check(level_for(user, integration), need, ref)


def lookup(ref: str) -> Integration | None:
    query = Integration.select(Integration, Principal).join(
        Principal, on=(Integration.owner == Principal.id)
    )
    if ref.isascii() and ref.isdigit():  # "6³" is a digit to str.isdigit, not to int()
        return query.where(Integration.id == int(ref)).first() if len(ref) < 19 else None
    owner, sep, slug = ref.partition(":")
    if not sep or not owner or not slug:
        return None
    return query.where(Principal.name == owner, Integration.slug == slug).first()


def integration_ref(integration: Integration) -> str:
    return str(integration.id)


def not_found(ref: str) -> NotFound:
    return NotFound(f"no integration {ref!r} that you can see")


def can_own(user: User, owner: Principal) -> bool:
    """Whether ``user`` may make ``owner`` the owner of an integration."""
    return user.is_superuser or owner.id in principal_ids(user)
