"""The account page: who you are, your teams, your API tokens (shown once, revocable) and where
you are signed in (with "sign out everywhere")."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from werkzeug.wrappers import Response

from hub import access, accounts, sessions
from hub.api import render
from hub.api.accounts import TokenCreate
from hub.api.session import sign_out_everywhere
from hub.api.validation import parse
from hub.errors import HubError
from hub.models import ApiToken, Integration, User, UserSession
from hub.scopes import SCOPES
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
    this = getattr(current_user, "session", None)
    open_sessions = sessions.live(user).order_by(UserSession.last_seen_at.desc())
    reachable = access.visible(user).order_by(Integration.name, Integration.id)
    context.setdefault("chosen", {"scopes": [], "integrations": []})
    return render_page(
        "account.html",
        tokens=render.tokens(list(tokens)),
        sessions=[render.session(s, this) for s in open_sessions],
        teams=render.memberships_of(user),
        expiry_choices=EXPIRY_CHOICES,
        scope_choices=SCOPES,
        integration_choices=[(f"{i.owner.name}:{i.slug}", i.name) for i in reachable],
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
    data: dict[str, object] = {"name": name}
    days = request.form.get("expiresInDays", "")
    if days:
        data["expiresInDays"] = int(days) if days.isascii() and days.isdigit() else days
    chosen = {
        "scopes": request.form.getlist("scopes"),
        "integrations": request.form.getlist("integrations"),
    }
    # "Some" rights or integrations with none ticked is a token that can do nothing: refused.
    if request.form.get("rights") == "some":
        data["scopes"] = chosen["scopes"]
    if request.form.get("reach") == "some":
        data["integrations"] = chosen["integrations"]
    try:
        new = parse(TokenCreate, data, where="form").create(user)
    except HubError as exc:
        page_again = _account_page(
            user, errors=form_errors(exc), new_token=None, name=name, chosen=chosen
        )
        return page_again, 400
    return _account_page(user, errors={}, new_token=new.plaintext, new_token_name=name)


@web.post("/account/tokens/<id:token_id>/revoke")
@page
def revoke_token(user: User, token_id: int) -> Response:
    try:
        accounts.revoke_token(user, token_id)
    except HubError as exc:
        return failed(exc, "web.account")
    return done("The token was revoked; programs using it can no longer sign in.", "web.account")


@web.post("/account/sessions/end")
@page
def end_sessions(user: User) -> Response:
    """Sign out everywhere: every browser of this user, this one included, must sign in again."""
    sign_out_everywhere(user, actor=user)
    return done("You were signed out everywhere; your API tokens still work.", "web.login")
