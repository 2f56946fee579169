"""The JSON API under ``/api``: one blueprint, one module per area."""

from __future__ import annotations

from flask import Blueprint, Flask

from hub.api import errors


def init_app(app: Flask) -> None:
    from hub.api import (
        accounts,
        audit_log,
        connect,
        data,
        health,
        integrations,
        providers,
        session,
        sharing,
    )

    api = Blueprint("api", __name__, url_prefix="/api")
    for module in (session, accounts, providers, integrations, sharing, connect, data, audit_log):
        module.register(api)
    health.register_openapi(api)
    app.register_blueprint(api)
    health.register(app)
    errors.register(app)
    app.extensions["csrf"].exempt(api)
