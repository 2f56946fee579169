"""JSON shapes of the hub's resources (camelCase, timestamps in RFC 3339, never a secret)."""

from __future__ import annotations

from typing import Any

from hub.accounts import token_integrations
from hub.db import isoformat
from hub.models import ApiToken, Integration, Membership, Principal, Team, User, UserSession


def user(row: User, *, private: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.principal_id,
        "name": row.principal.name,
        "displayName": row.principal.display_name,
    }
    if private:
        data.update(
            email=row.email,
            isSuperuser=row.is_superuser,
            isActive=row.is_active,
            createdAt=isoformat(row.principal.created_at),
        )
    return data


def memberships_of(row: User) -> list[dict[str, Any]]:
    query = (
        Membership.select(Membership, Team, Principal)
        .join(Team)
        .join(Principal)
        .where(Membership.user == row)
        .order_by(Principal.name)
    )
    return [{"team": m.team.principal.name, "role": m.role} for m in query]


def team(row: Team) -> dict[str, Any]:
    members = (
        Membership.select(Membership, User, Principal)
        .join(User)
        .join(Principal)
        .where(Membership.team == row)
        .order_by(Principal.name)
    )
    return {
        "id": row.principal_id,
        "slug": row.principal.name,
        "name": row.principal.display_name,
        "description": row.description,
        "members": [{"user": m.user.principal.name, "role": m.role} for m in members],
        "createdAt": isoformat(row.principal.created_at),
    }


def token(row: ApiToken, reaches: list[Integration] | None = None) -> dict[str, Any]:
    """A token (never its value). ``scopes`` null: every right of its user; ``integrations``
    null: every integration its user can reach, else the natural ids of those it is limited to
    (``reaches``)."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "integrations": (
            [f"{i.owner.name}:{i.slug}" for i in reaches or ()] if row.limited else None
        ),
        "createdAt": isoformat(row.created_at),
        "lastUsedAt": isoformat(row.last_used_at),
        "expiresAt": isoformat(row.expires_at),
    }


def tokens(rows: list[ApiToken]) -> list[dict[str, Any]]:
    """Several tokens, the integrations of the limited ones looked up at once."""
    reaches = token_integrations(rows)
    return [token(row, reaches.get(row.id)) for row in rows]


def session(row: UserSession, current: UserSession | None = None) -> dict[str, Any]:
    """A browser session (never its key); ``current`` marks the one of the calling browser."""
    return {
        "id": row.id,
        "createdAt": isoformat(row.created_at),
        "lastSeenAt": isoformat(row.last_seen_at),
        "userAgent": row.user_agent,
        "current": current is not None and current.id == row.id,
    }


def principal(row: Principal) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "name": row.name, "displayName": row.display_name}
