"""Server-rendered pages: sign-in, connections, integration forms, sharing, sources, account, admin.

Pages are Jinja templates over the same domain functions the JSON API uses. Every state-changing
form carries Flask-WTF's CSRF token (``CSRFProtect`` checks every POST outside ``/api``); forms
post, then redirect (post/redirect/get) with a flashed message, or re-render with errors next to
their fields. ``static/hub.js`` adds what needs a script: the connect popup, live status badges,
copy buttons, "load more" and dates and sizes in the viewer's locale. No asset comes from
another origin (see :func:`_page_headers`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from hub.auth import optional_current
from hub.authorize import safe_return_to
from hub.errors import HubError, NotAuthenticated, NotFound, RateLimited, ValidationError
from hub.models import User

web = Blueprint("web", __name__, template_folder="templates", static_folder="static")

# Pages load their own script, styles and images only; nothing may frame them.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    from hub.web import (  # noqa: F401
        account,
        admin,
        connections,
        forms,
        sharing,
        sources,
        webhooks,
    )
    from hub.web.oauth import oauth

    app.register_blueprint(web)
    app.register_blueprint(oauth)


@web.after_request
def _page_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page for signed-in users: strangers are sent to sign in, then back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(current_user.user, *args, **kwargs)

    return wrapper


def admin_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page for administrators; anyone else gets the 404 page (the area is not advertised)."""

    @page
    @wraps(view)
    def wrapper(user: User, *args: Any, **kwargs: Any) -> Any:
        if not user.is_superuser:
            raise NotFound("this page does not exist")
        return view(user, *args, **kwargs)

    return wrapper


def render_page(template: str, **context: Any) -> str:
    context.setdefault("user", optional_current())
    return render_template(template, **context)


def sentence(text: str) -> str:
    """An error message (written in lower case for the API) as a sentence on a page."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?", ")")) else ".")


def form_errors(exc: HubError) -> dict[str, str]:
    """The field messages of an error, or the message under ``_`` for the whole form."""
    fields = dict(exc.fields)
    if not fields or not isinstance(exc, ValidationError):
        fields.setdefault("_", sentence(exc.message))
    return fields


def done(message: str, endpoint: str, **values: Any) -> Response:
    """Post/redirect/get: flash what happened and go to a page."""
    flash(message, "ok")
    return redirect(url_for(endpoint, **values), code=303)


def failed(exc: HubError, endpoint: str, **values: Any) -> Response:
    flash(sentence(exc.message), "error")
    return redirect(url_for(endpoint, **values), code=303)


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in; anything else (another host, ``//``) goes home."""
    return safe_return_to(target, default=url_for("web.index"))


@web.get("/")
def index() -> Response:
    if optional_current() is None:
        return redirect(url_for("web.login"))
    return redirect(url_for("web.connections"))


@web.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    from hub.api.session import sign_in

    error = None
    status = 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            sign_in(username, request.form.get("password", ""))
        except NotAuthenticated as exc:
            error, status = exc.message, 401
        except RateLimited as exc:
            error, status = exc.message, 429
        else:
            return redirect(safe_next(request.args.get("next")))
    return render_page("login.html", error=error, username=username), status


@web.post("/logout")
def logout() -> Response:
    from hub.api.session import sign_out

    sign_out()
    return redirect(url_for("web.login"))
