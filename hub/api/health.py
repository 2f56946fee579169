"""``/healthz``: the process answers and the database is reachable."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify

from hub.db import database

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
