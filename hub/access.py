"""Who may do what with an integration (DESIGN §6).

Levels: ``use`` < ``edit`` < ``manage``. Owners — the owning user, or any member of the owning
team — and superusers have ``manage``; everyone else has the highest level shared with them or
with one of their teams. Whoever has no level cannot see the integration and gets 404, never
403, so names do not leak.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import peewee

from hub import scopes
from hub.accounts import team_ids_of
from hub.db import Prepared, instance, width
from hub.errors import Forbidden, NotFound
from hub.ids import parse_id
from hub.models import ACCESS_LEVELS, Integration, Membership, Principal, Share, User

RANK = {level: rank for rank, level in enumerate(ACCESS_LEVELS, start=1)}


def principal_ids(user: User) -> list[int]:
    """The user's own principal and those of every team they belong to."""
    return [user.principal_id, *team_ids_of(user)]


def levels_for(user: User, integrations: Iterable[Integration]) -> dict[int, str | None]:
    """The caller's level on each integration, in at most one query whatever their number."""
    rows = list(integrations)
    # The caller's own integrations need no lookup: the common case.
    levels = {row.id: _level(user, row.owner_id, False, None) for row in rows}
    pending = [row.id for row in rows if levels[row.id] is None]
    if pending:
        owner_team, share_rank = _level_columns(user.principal_id)
        query = Integration.select(Integration.id, Integration.owner, owner_team, share_rank).where(
            Integration.id.in_(pending)
        )
        for integration_id, owner_id, team, rank in query.tuples():
            levels[integration_id] = _level(user, owner_id, team, rank)
    return levels


def _level_columns(caller: Any) -> tuple[peewee.Node, peewee.Node]:
    """Two columns of an integration query that decide the caller's level (see :func:`_level`):
    whether a team of the caller owns it, and the highest rank shared with the caller or their
    teams. The one place these rules are written in SQL, for :func:`find` and :func:`levels_for`.
    """
    teams = Membership.select(Membership.team).where(Membership.user == caller)
    rank = peewee.Case(Share.access, [(level, RANK[level]) for level in ACCESS_LEVELS])
    share_rank = Share.select(peewee.fn.MAX(rank)).where(
        Share.integration == Integration.id,
        (Share.principal == caller) | Share.principal.in_(teams),
    )
    return Integration.owner.in_(teams).alias("owner_team"), share_rank.alias("share_rank")


def _level(user: User, owner_id: int, owner_team: Any, share_rank: int | None) -> str | None:
    """Owners (the user, or a member of the owning team) and superusers manage; anyone else has
    the highest level shared with them or their teams, or none."""
    if user.is_superuser or owner_id == user.principal_id or owner_team:
        return "manage"
    return ACCESS_LEVELS[share_rank - 1] if share_rank else None


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


def visible(user: User) -> peewee.ModelSelect:
    """The integrations ``user`` can see, each with its owner's principal loaded (only those
    the calling API token reaches, when it is limited to some: :mod:`hub.scopes`)."""
    query = Integration.select(Integration, Principal).join(
        Principal, on=(Integration.owner == Principal.id)
    )
    reached = scopes.calling_integrations()
    if reached is not None:
        query = query.where(Integration.id.in_(sorted(reached)))
    if user.is_superuser:
        return query
    ids = principal_ids(user)
    shared = Share.select(Share.integration).where(Share.principal.in_(ids))
    return query.where(Integration.owner.in_(ids) | Integration.id.in_(shared))


def managed(user: User) -> peewee.ModelSelect:
    """The integrations ``user`` manages (as owner, member of the owning team, through a
    ``manage`` share, or as a superuser), among those the calling API token reaches."""
    query = visible(user)
    if user.is_superuser:
        return query
    ids = principal_ids(user)
    shared = Share.select(Share.integration).where(
        Share.principal.in_(ids), Share.access == "manage"
    )
    return query.where(Integration.owner.in_(ids) | Integration.id.in_(shared))


def find(user: User, ref: str, need: str = "use") -> tuple[Integration, str]:
    """The integration named by a numeric id or a natural id ``owner:slug``, with the caller's
    level: 404 when it does not exist or the caller cannot see it, 403 when the caller sees it
    with less than ``need``. One query, whatever the caller's teams and shares (the same rules
    as :func:`levels_for`, in SQL)."""
    key = parse_ref(ref)
    if key is None:
        raise NotFound(
            f"no integration {ref!r} that you can see",
            fields={"ref": "neither an id (1 to 2^63-1) nor a natural id owner:slug"},
        )
    rows = _FIND[len(key) - 1].rows(user.principal_id, *key)
    if not rows or not scopes.reaches(rows[0][0]):
        raise not_found(ref)
    row = rows[0]
    integration = instance(Integration, row)
    integration.__rel__["owner"] = instance(Principal, row, width(Integration))
    owner_team, share_rank = row[width(Integration) + width(Principal) :]
    level = _level(user, integration.owner_id, owner_team, share_rank)
    return integration, check(level, need, ref)


def parse_ref(ref: str) -> tuple[int] | tuple[str, str] | None:
    """``(id,)`` for a numeric id, ``(owner, slug)`` for a natural id, None for neither."""
    if ref.isascii() and ref.isdigit():
        number = parse_id(ref)
        return None if number is None else (number,)
    owner, sep, slug = ref.partition(":")
    if not sep or not owner or not slug:
        return None
    return owner, slug


def _find_query(by_name: bool) -> Prepared:
    def build(caller: Any, *key: Any) -> peewee.ModelSelect:
        owner_team, share_rank = _level_columns(caller)
        where = (
            (Principal.name == key[0]) & (Integration.slug == key[1])
            if by_name
            else Integration.id == key[0]
        )
        return (
            Integration.select(
                Integration,
                Principal,
                owner_team,
                share_rank,
            )
            .join(Principal, on=(Integration.owner == Principal.id))
            .where(where)
            .limit(1)
        )

    return Prepared(build, parameters=3 if by_name else 2)


_FIND = (_find_query(by_name=False), _find_query(by_name=True))


def integration_ref(integration: Integration) -> str:
    return str(integration.id)


def not_found(ref: str) -> NotFound:
    if scopes.calling_integrations() is not None:
        return NotFound(f"no integration {ref!r} that this API token reaches")
    return NotFound(f"no integration {ref!r} that you can see")


def can_own(user: User, owner: Principal) -> bool:
    """Whether ``user`` may make ``owner`` the owner of an integration."""
    return user.is_superuser or owner.id in principal_ids(user)
