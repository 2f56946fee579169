"""``/oauth2/*``: the one callback for every provider, the one-time start link, the done page."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from hub import authorize
from hub.access import require
from hub.api.connect import provider_of, session_nonce
from hub.auth import optional_current
from hub.errors import HubError

oauth = Blueprint("oauth", __name__, url_prefix="/oauth2")
RESULT_KEY = "hub_oauth_result"


@oauth.get("/callback")
def callback() -> Response:
    """Finish a flow. The code is used once and the page that tells the opener comes from a
    redirect, so the code never stays in a URL that is shown or kept in history."""
    user = optional_current()
    try:
        done = authorize.finish(
            request.args,
            user,
            session.get("hub_oauth_nonce"),
            current_app.extensions["hub"].registry,
        )
    except HubError as exc:
        integration = getattr(exc, "integration", None)
        return result_page(False, exc.message, integration.id if integration else None, "/", 400)
    session[RESULT_KEY] = {
        "ok": True,
        "message": f"{done.integration.name} is connected",
        "integrationId": done.integration.id,
        "returnTo": done.return_to,
    }
    return redirect(url_for("oauth.done"), code=303)


@oauth.get("/done")
def done() -> Response:
    result = session.pop(RESULT_KEY, None)
    if result is None:
        return redirect(url_for("web.index"))
    return result_page(
        result["ok"], result["message"], result["integrationId"], result["returnTo"], 200
    )


@oauth.get("/start")
def start() -> Response:
    """Open a one-time connect link made for an API client, in a signed-in browser."""
    user = optional_current()
    if user is None:
        return redirect(url_for("web.login", next=request.full_path))
    try:
        integration, return_to = authorize.redeem_link(request.args.get("link", ""), user)
        level = require(user, integration, "use")
        url = authorize.start(
            provider_of(integration),
            integration,
            user,
            level,
            session_nonce=session_nonce(),
            return_to=return_to,
        )
    except HubError as exc:
        return result_page(False, exc.message, None, "/", 400)
    return redirect(url, code=302)


def result_page(
    ok: bool, message: str, integration_id: int | None, return_to: str, status: int
) -> Response:
    nonce = secrets.token_urlsafe(16)
    public = urlsplit(current_app.config["PUBLIC_URL"])
    body = render_template(
        "oauth_done.html",
        ok=ok,
        message=message,
        integration_id=integration_id,
        return_to=authorize.safe_return_to(return_to),
        target_origin=f"{public.scheme}://{public.netloc}",
        nonce=nonce,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return response
