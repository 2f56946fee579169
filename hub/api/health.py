"""``/healthz``: the process answers and the database is reachable."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, jsonify

from hub import openapi
from hub.db import database
from hub.scopes import PUBLIC, needs

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            database.execute_sql("SELECT 1")
        except Exception as exc:
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return jsonify({"status": "unavailable", "database": "unreachable"}), 503
        return jsonify({"status": "ok", "database": "ok"}), 200


def register_openapi(api: Blueprint) -> None:
    @api.get("/openapi.json")
    @needs(PUBLIC)
    def openapi_document() -> Response:
        """The OpenAPI 3.1 document of this API."""
        state = current_app.extensions["hub"]
        if state.openapi is None:
            state.openapi = openapi.build(current_app)
        return jsonify(state.openapi)
