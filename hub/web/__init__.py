"""Server-rendered pages: sign-in and the start page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_login import logout_user
from werkzeug.wrappers import Response

from hub.auth import optional_current
from hub.errors import NotAuthenticated, RateLimited

web = Blueprint("web", __name__, template_folder="templates", static_folder="static")


def init_app(app: Flask) -> None:
    from hub.web.oauth import oauth

    app.register_blueprint(web)
    app.register_blueprint(oauth)


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in; anything else (another host, ``//``) goes home."""
    if not target:
        return url_for("web.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.index")
    if "\\" in target:
        return url_for("web.index")
    return target


@web.get("/")
def index() -> str | Response:
    user = optional_current()
    if user is None:
        return redirect(url_for("web.login"))
    return render_template("index.html", user=user)


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
    return render_template("login.html", error=error, username=username), status


@web.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("web.login"))
