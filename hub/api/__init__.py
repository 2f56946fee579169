"""The JSON API under ``/api``: one blueprint, one module per area."""

from __future__ import annotations

from flask import Blueprint, Flask

from hub.api import errors


def init_app(app: Flask) -> None:
    from hub.api import (
        accounts,
        admin_users,
        audit_log,
        connect,
        data,
        health,
        integration_connections,
        integrations,
        providers,
        session,
        sharing,
        webhooks,
    )

    api = Blueprint("api", __name__, url_prefix="/api")
    modules = (
        session,
        accounts,
        admin_users,
        providers,
        integrations,
        sharing,
        integration_connections,
        connect,
        data,
        audit_log,
        webhooks,
    )
    for module in modules:
        module.register(api)
    health.register_openapi(api)
    app.register_blueprint(api)
    health.register(app)
    errors.register(app)
    app.extensions["csrf"].exempt(api)
