"""The account page: who you are, your teams, and your API tokens (shown once, revocable)."""

from __future__ import annotations

import datetime as dt

from flask import request
from werkzeug.wrappers import Response

from hub import accounts
from hub.api import render
from hub.db import utcnow
from hub.errors import HubError, ValidationError
from hub.models import ApiToken, User
from hub.web import done, failed, form_errors, page, render_page, web

EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
]


def _account_page(user: User, **context: object) -> str:
    tokens = ApiToken.select().where(ApiToken.user == user).order_by(ApiToken.created_at.desc())
    return render_page(
        "account.html",
        tokens=[render.token(t) for t in tokens],
        teams=render.memberships_of(user),
        expiry_choices=EXPIRY_CHOICES,
        **context,
    )


@web.get("/account")
@page
def account(user: User) -> str:
    return _account_page(user, errors={}, new_token=None)


@web.post("/account/tokens")
@page
def create_token(user: User) -> str | tuple[str, int]:
    """Create an API token and show it once, on the answer to this form only."""
    name = request.form.get("name", "").strip()
    days = request.form.get("expiresInDays", "")
    try:
        if not name:
            raise ValidationError("give the token a name", fields={"name": "required"})
        if len(name) > 100:
            raise ValidationError("the name is too long", fields={"name": "at most 100 characters"})
        if days and days not in {value for value, _ in EXPIRY_CHOICES}:
            raise ValidationError(
                "choose an expiry from the list", fields={"expiresInDays": "unknown choice"}
            )
        expires = utcnow() + dt.timedelta(days=int(days)) if days else None
        new = accounts.create_token(user, name, expires_at=expires)
    except HubError as exc:
        return _account_page(user, errors=form_errors(exc), new_token=None, name=name), 400
    return _account_page(user, errors={}, new_token=new.plaintext, new_token_name=name)


@web.post("/account/tokens/<int:token_id>/revoke")
@page
def revoke_token(user: User, token_id: int) -> Response:
    try:
        accounts.revoke_token(user, token_id)
    except HubError as exc:
        return failed(exc, "web.account")
    return done("The token was revoked; programs using it can no longer sign in.", "web.account")
