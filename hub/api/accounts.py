"""Administration: ``/api/tokens``, ``/api/users``, ``/api/teams`` and team members."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pydantic
from flask import Blueprint, Response, g, jsonify

from hub import access, accounts, scopes
from hub.api import render
from hub.api.session import sign_out_everywhere
from hub.api.validation import ApiModel, PageQuery, body, page, query
from hub.auth import current, signed_in, superuser_only
from hub.db import isoformat, utcnow
from hub.errors import Forbidden, NotFound, ValidationError
from hub.models import (
    PRINCIPAL_TEAM,
    PRINCIPAL_USER,
    ApiToken,
    Integration,
    Principal,
    Team,
    User,
)
from hub.scopes import ALL_RIGHTS, ANY_TOKEN, SCOPES, needs


class TokenCreate(ApiModel):
    name: str = pydantic.Field(min_length=1, max_length=accounts.MAX_TOKEN_NAME_LENGTH)
    expires_in_days: int | None = pydantic.Field(default=None, ge=1, le=3650)
    # RFC 3339, e.g. 2027-01-31T00:00:00Z; instead of expiresInDays.
    expires_at: str | None = pydantic.Field(default=None, max_length=64)
    # Absent or null: every right of the user. Else some of hub.scopes.SCOPES.
    scopes: list[str] | None = pydantic.Field(default=None, max_length=len(SCOPES))
    # Absent or null: every integration the user can reach. Else ids or natural ids.
    integrations: list[str] | None = pydantic.Field(default=None, max_length=500)

    def create(self, user: User) -> accounts.NewToken:
        expires = self.expiry()
        reached = None
        if self.integrations == []:
            raise ValidationError(
                "a token limited to integrations needs at least one",
                fields={"integrations": "ids or natural ids owner:slug; leave out for all"},
            )
        if self.integrations is not None:
            reached = [_integration_for_token(user, ref) for ref in self.integrations]
        scopes.check_subset(self.scopes, None if reached is None else [i.id for i in reached])
        calling = g.get("api_token")
        outlives = (
            calling is not None
            and calling.expires_at is not None
            and (expires is None or expires > calling.expires_at)
        )
        if outlives:
            raise Forbidden(
                "a token cannot make one that outlives it",
                fields={"expiresAt": f"at the latest {isoformat(calling.expires_at)}"},
            )
        return accounts.create_token(
            user, self.name, expires_at=expires, scopes=self.scopes, integrations=reached
        )

    def expiry(self) -> dt.datetime | None:
        if self.expires_in_days and self.expires_at:
            raise ValidationError(
                "give expiresInDays or expiresAt, not both",
                fields={"expiresAt": "leave out when expiresInDays is given"},
            )
        if self.expires_in_days:
            return utcnow() + dt.timedelta(days=self.expires_in_days)
        if self.expires_at:
            return accounts.parse_expiry(self.expires_at, field="expiresAt")
        return None


def _integration_for_token(user: User, ref: str) -> Integration:
    try:
        integration, _ = access.find(user, ref)
    except NotFound as exc:
        raise ValidationError(exc.message, fields={"integrations": exc.message}) from None
    return integration


class UserCreate(ApiModel):
    name: str
    password: str
    email: str | None = pydantic.Field(default=None, max_length=accounts.MAX_EMAIL_LENGTH)
    display_name: str = pydantic.Field(default="", max_length=accounts.MAX_DISPLAY_NAME_LENGTH)
    is_superuser: bool = False

    def create(self, actor: User) -> User:
        return accounts.create_user(
            self.name,
            self.password,
            email=self.email,
            display_name=self.display_name,
            is_superuser=self.is_superuser,
            actor=actor,
        )


class TeamCreate(ApiModel):
    slug: str
    name: str = pydantic.Field(default="", max_length=accounts.MAX_DISPLAY_NAME_LENGTH)
    description: str = pydantic.Field(default="", max_length=accounts.MAX_DESCRIPTION_LENGTH)
    members: list[str] = pydantic.Field(default_factory=list, max_length=500)

    def create(self, actor: User) -> Team:
        return accounts.create_team(
            self.slug,
            display_name=self.name,
            description=self.description,
            members=self.members,
            actor=actor,
        )


class MemberPut(ApiModel):
    role: Literal["member", "admin"] = "member"


def register(api: Blueprint) -> None:
    # -- tokens: always the caller's own --------------------------------------------------

    @api.get("/tokens")
    @needs(ALL_RIGHTS)
    @signed_in
    @query(PageQuery)
    def list_tokens(params: PageQuery) -> Response:
        """The caller's API tokens (never the token values)."""
        rows = ApiToken.select().where(ApiToken.user == current())
        return jsonify(page(rows, ApiToken.id, params, render.token, render_all=render.tokens))

    @api.post("/tokens")
    @needs(ANY_TOKEN)
    @signed_in
    @body(TokenCreate)
    def create_token(payload: TokenCreate) -> tuple[Response, int]:
        """A new API token for the caller; ``token`` is shown in this answer only."""
        new = payload.create(current())
        data = render.tokens([new.token])[0]
        data["token"] = new.plaintext
        return jsonify(data), 201

    @api.delete("/tokens/<id:token_id>")
    @needs(ALL_RIGHTS)
    @signed_in
    def revoke_token(token_id: int) -> tuple[str, int]:
        """Revoke one of the caller's tokens."""
        accounts.revoke_token(current(), token_id)
        return "", 204

    @api.delete("/tokens")
    @needs(ANY_TOKEN)
    @signed_in
    def revoke_calling_token() -> tuple[str, int]:
        """Revoke the token this request is authenticated with."""
        token = g.get("api_token")
        if token is None:
            raise ValidationError(
                "this request is not authenticated with an API token",
                fields={"Authorization": "send the token to revoke, or DELETE /api/tokens/{id}"},
            )
        accounts.revoke_token(current(), token.id)
        return "", 204

    # -- users ----------------------------------------------------------------------------

    @api.get("/users")
    @needs("integrations:read")
    @signed_in
    @query(PageQuery)
    def list_users(params: PageQuery) -> Response:
        """Every user; administrators also see emails and flags."""
        private = current().is_superuser
        rows = User.select(User, Principal).join(Principal)
        return jsonify(
            page(rows, User.principal, params, lambda u: render.user(u, private=private))
        )

    @api.post("/users")
    @needs("admin")
    @superuser_only
    @body(UserCreate)
    def create_user(payload: UserCreate) -> tuple[Response, int]:
        """Create a local user (administrators only)."""
        return jsonify(render.user(payload.create(current()))), 201

    @api.get("/users/<name>")
    @needs("integrations:read")
    @signed_in
    def get_user(name: str) -> Response:
        """One user."""
        caller = current()
        user = accounts.get_user(name)
        data = render.user(user, private=caller.is_superuser or caller.id == user.id)
        return jsonify(data)

    @api.delete("/users/<name>/sessions")
    @needs("admin")
    @superuser_only
    def end_user_sessions(name: str) -> tuple[str, int]:
        """Sign a user out everywhere: end every browser session they have (administrators
        only; their API tokens stay)."""
        sign_out_everywhere(accounts.get_user(name), actor=current())
        return "", 204

    # -- teams ----------------------------------------------------------------------------

    @api.get("/teams")
    @needs("integrations:read")
    @signed_in
    @query(PageQuery)
    def list_teams(params: PageQuery) -> Response:
        """Every team with its members."""
        rows = Team.select(Team, Principal).join(Principal)
        return jsonify(page(rows, Team.principal, params, render.team))

    @api.post("/teams")
    @needs("admin")
    @superuser_only
    @body(TeamCreate)
    def create_team(payload: TeamCreate) -> tuple[Response, int]:
        """Create a team (administrators only)."""
        return jsonify(render.team(payload.create(current()))), 201

    @api.get("/teams/<slug>")
    @needs("integrations:read")
    @signed_in
    def get_team(slug: str) -> Response:
        """One team with its members."""
        return jsonify(render.team(accounts.get_team(slug)))

    @api.put("/teams/<slug>/members/<name>")
    @needs("admin")
    @signed_in
    @body(MemberPut)
    def put_member(slug: str, name: str, payload: MemberPut) -> Response:
        """Add a user to a team or change their role (team admins and administrators)."""
        team = _team_for_admin(slug)
        membership = accounts.set_membership(team, accounts.get_user(name), payload.role, current())
        return jsonify({"team": slug, "user": name, "role": membership.role})

    @api.delete("/teams/<slug>/members/<name>")
    @needs("admin")
    @signed_in
    def delete_member(slug: str, name: str) -> tuple[str, int]:
        """Remove a user from a team (team admins and administrators)."""
        team = _team_for_admin(slug)
        accounts.remove_membership(team, accounts.get_user(name), current())
        return "", 204

    @api.get("/principals/<name>")
    @needs("integrations:read")
    @signed_in
    def get_principal(name: str) -> Response:
        """A user or team by name (the one namespace owners and shares use)."""
        principal = accounts.find_principal(name)
        if principal is None or principal.kind not in (PRINCIPAL_USER, PRINCIPAL_TEAM):
            raise NotFound(f"no user or team named {name!r}")
        return jsonify(render.principal(principal))


def _team_for_admin(slug: str) -> Team:
    team = accounts.get_team(slug)
    if not accounts.is_team_admin(current(), team):
        raise Forbidden(f"only an admin of team {slug!r} can change its members")
    return team
