"""The OpenAPI document, generated from the routes and the pydantic schemas they validate with.

Nothing is written twice: a route's request body and query parameters are the models its
``@body`` / ``@query`` decorators validate with, its summary is its docstring, and its path
parameters come from the URL rule. apispec assembles and checks the document.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

import hub
from hub import scopes
from hub.ids import MAX_ID

REF = "#/components/schemas/{model}"
DATABASE_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
CONVERTER_TYPES = {"id": DATABASE_ID, "path": {"type": "string"}}
# Path parameters that are not a converter of their own, by name: an integration is named by
# its id or by its natural id ``owner:slug`` (:func:`hub.access.parse_ref`).
NAMED_PARAMETERS = {
    "ref": {"anyOf": [DATABASE_ID, {"type": "string", "pattern": "^[^:]+:.+$"}]},
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
SUCCESS = {"POST": "201", "DELETE": "204"}


def build(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Integration Hub API",
        version=hub.__version__,
        openapi_version="3.1.0",
        info={
            "description": "Connect, share and browse the services your team uses. "
            "Authenticate with a session cookie (POST /api/login) or an API token "
            "(Authorization: Bearer)."
        },
        servers=[{"url": app.config["PUBLIC_URL"]}],
    )
    spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token. A token made with scopes calls only the operations "
            "whose scope it holds (x-hub-scope; 'any': every token, 'all': a token without "
            "scopes or a session); one limited to integrations reaches only those. Scopes: "
            + "; ".join(f"{name}: {text}" for name, text in scopes.SCOPES.items()),
        },
    )
    spec.components.security_scheme(
        "sessionCookie",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": app.config.get("SESSION_COOKIE_NAME", "session"),
        },
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    rules = sorted(api_rules(app), key=lambda rule: rule.rule)
    models = _models(app, rules)
    for name, schema in _schemas(models).items():
        spec.components.schema(name, schema)
    for path, rule_group in _by_path(rules).items():
        operations: dict[str, Any] = {}
        for rule in rule_group:
            view = app.view_functions[rule.endpoint]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                operations[method.lower()] = _operation(rule, view, method)
        spec.path(path=path, operations=operations, parameters=_path_parameters(rule_group[0]))
    return spec.to_dict()


def api_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]


def openapi_path(rule: Rule) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>", r"{\1}", rule.rule)


def _by_path(rules: list[Rule]) -> dict[str, list[Rule]]:
    grouped: dict[str, list[Rule]] = {}
    for rule in rules:
        grouped.setdefault(openapi_path(rule), []).append(rule)
    return grouped


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    parameters = []
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.removesuffix("Converter").lower()
        default = NAMED_PARAMETERS.get(name, {"type": "string", "minLength": 1})
        schema = dict(CONVERTER_TYPES.get(kind, default))
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _models(app: Flask, rules: list[Rule]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        model = getattr(view, "request_body", None)
        if model is not None:
            found[model.__name__] = model
    return list(found.values())


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    if not models:
        return {}
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    return dict(top.get("$defs", {}))


def _operation(rule: Rule, view: Any, method: str) -> dict[str, Any]:
    doc = (view.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else rule.endpoint
    operation: dict[str, Any] = {
        "operationId": f"{rule.endpoint.removeprefix('api.')}_{method.lower()}",
        "summary": summary,
        "tags": [rule.rule.split("/")[2]],
        "responses": _responses(method),
    }
    if doc and len(doc.splitlines()) > 1:
        operation["description"] = doc
    model = getattr(view, "request_body", None)
    if model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    query_model = getattr(view, "query_params", None)
    if query_model is not None:
        operation["parameters"] = _query_parameters(query_model)
    requirement = scopes.requirement_of(view)
    operation["x-hub-scope"] = requirement
    if requirement != scopes.PUBLIC:
        named = [requirement] if requirement in scopes.SCOPES else []
        operation["security"] = [{"bearerAuth": named}, {"sessionCookie": []}]
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(method: str) -> dict[str, Any]:
    error = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    success = SUCCESS.get(method, "200")
    responses: dict[str, Any] = {"2XX": {"description": "success"}}
    if success == "204":
        responses["2XX"] = {"description": "done, no content"}
    for status in ("400", "401", "403", "404", "409", "429"):
        responses[status] = error
    return responses
