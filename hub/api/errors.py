"""The one place where errors become HTTP: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hub.errors import HubError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def register(app: Flask) -> None:
    app.register_error_handler(HubError, _hub_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def error_response(
    status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None
) -> Response:
    if _wants_html():
        body = render_template("error.html", status=status, code=code, message=message)
        response = Response(body, status=status, mimetype="text/html")
    else:
        response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _wants_html() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _hub_error(exc: HubError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _csrf_error(exc: CSRFError) -> Response:
    return error_response(403, "csrf_failed", f"the form expired or was forged: {exc.description}")


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        limit = request.max_content_length
        message = f"the request body is larger than {limit} bytes" if limit else exc.description
    response = error_response(status, HTTP_CODES.get(status, "http_error"), message)
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception) -> Response:
    # Never echo the exception: it may carry a secret. The log has the traceback.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the hub failed to answer; the error was logged")
