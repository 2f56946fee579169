"""Administration of users and teams over the API (administrators only), with the rules and the
audit of the admin pages: deactivate, reactivate and delete users; delete teams; list members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub import accounts
from hub.api import render
from hub.api.validation import PageQuery, page, query
from hub.auth import current, superuser_only
from hub.db import isoformat
from hub.models import Membership, Principal, User
from hub.scopes import needs


def render_member(row: Membership) -> dict[str, Any]:
    """A team member: name, display name, role and when they joined."""
    return {
        "user": row.user.principal.name,
        "displayName": row.user.principal.display_name,
        "role": row.role,
        "joinedAt": isoformat(row.created_at),
    }


def register(api: Blueprint) -> None:
    @api.post("/users/<name>/deactivate")
    @needs("admin")
    @superuser_only
    def deactivate_user(name: str) -> Response:
        """Deactivate a user: their sessions end, sign-in and API tokens are refused
        (administrators only; not yourself, not the last active administrator)."""
        user = accounts.get_user(name)
        accounts.set_active(user, False, actor=current())
        return jsonify(render.user(user))

    @api.post("/users/<name>/reactivate")
    @needs("admin")
    @superuser_only
    def reactivate_user(name: str) -> Response:
        """Let a deactivated user sign in and use their API tokens again (administrators only)."""
        user = accounts.get_user(name)
        accounts.set_active(user, True, actor=current())
        return jsonify(render.user(user))

    @api.delete("/users/<name>")
    @needs("admin")
    @superuser_only
    def delete_user(name: str) -> tuple[str, int]:
        """Delete a user (administrators only); 409 while they own integrations, for yourself
        and for the last active administrator."""
        accounts.delete_user(accounts.get_user(name), actor=current())
        return "", 204

    @api.delete("/teams/<slug>")
    @needs("admin")
    @superuser_only
    def delete_team(slug: str) -> tuple[str, int]:
        """Delete a team (administrators only); 409 while it owns integrations."""
        accounts.delete_team(accounts.get_team(slug), actor=current())
        return "", 204

    @api.get("/teams/<slug>/members")
    @needs("integrations:read")
    @superuser_only
    @query(PageQuery)
    def list_team_members(slug: str, params: PageQuery) -> Response:
        """A team's members with their roles, paged (administrators only)."""
        team = accounts.get_team(slug)
        rows = (
            Membership.select(Membership, User, Principal)
            .join(User)
            .join(Principal)
            .where(Membership.team == team)
        )
        return jsonify(page(rows, Membership.id, params, render_member))
