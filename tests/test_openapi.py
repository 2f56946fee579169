"""The OpenAPI document: it covers every /api route, and a property-based fuzz of it finds no
server error (SECURITY 27); explicit cases from it send numbers out of the database's range and
deeply nested JSON to every operation that takes them (SECURITY 32)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hub import accounts, create_app, migrations
from hub.api.validation import MAX_JSON_DEPTH
from hub.crypto import generate_key
from hub.db import bind, database
from hub.ids import MAX_ID
from hub.openapi import api_rules, openapi_path
from tests.conftest import PASSWORD

# CI runs a fixed, repeatable set of examples; elsewhere each run explores new ones.
FUZZ_EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "15"))
DERANDOMIZE = os.environ.get("CI") == "true"


def test_the_document_covers_every_api_route_and_method(client):
    document = client.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.1")
    for rule in api_rules(client.application):
        path = openapi_path(rule)
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (method, path)


def test_request_bodies_come_from_the_validation_schemas(client):
    document = client.get("/api/openapi.json").json
    operation = document["paths"]["/api/integrations"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"name", "authType", "connectionMode", "ownerId", "clientSecret"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False


def test_every_operation_has_a_summary(client):
    document = client.get("/api/openapi.json").json
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["summary"] and not operation["summary"].startswith("api."), (
                method,
                path,
            )


# -- fuzzing -----------------------------------------------------------------------------------


def _fuzz_app():
    """An app of its own on a throwaway SQLite database, with a superuser and a team."""
    folder = Path(tempfile.mkdtemp(prefix="hub-fuzz-"))
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
            "SECRET_KEY": "fuzz",
            "ENCRYPTION_KEYS": generate_key(),
            "LOGIN_MAX_FAILURES": 10_000,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 10_000,
        }
    )
    with app.app_context():
        migrations.migrate()
        with database.connection_context():
            accounts.create_user("root", PASSWORD, is_superuser=True)
            accounts.create_user("alice", PASSWORD)
            accounts.create_team("ops", members=["alice"])
    return app


def _token(app) -> str:
    with app.app_context():
        bind(app)
        with database.connection_context():
            return accounts.create_token(accounts.get_user("root"), "fuzz").plaintext


# The schema is loaded when the module is collected, so each operation becomes its own test.
FUZZ_APP = _fuzz_app()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", FUZZ_APP)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=DERANDOMIZE,
)
def test_no_input_makes_the_api_fail(case):
    # A fresh token per example: an example may revoke the token it was sent with.
    headers = {"Authorization": f"Bearer {_token(FUZZ_APP)}"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])


# -- explicit cases: numbers out of range and deeply nested JSON (SECURITY 32) -----------------
# Not left to chance: every operation the document lists gets each of these, so a new route with
# an id, an integer parameter, a cursor or a body is covered the day it is added.

OUT_OF_RANGE = [MAX_ID + 1, 2**64 + 1, 10**30, -1, -(2**63) - 1, 0]


@pytest.fixture
def target(app, make_user, token_for):
    """The app's own document loaded by schemathesis (on this test's engine), and the
    headers of an administrator, who may call every operation."""
    make_user("root", superuser=True)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    return schema, operations, token_for("root")


def _integer_schema(parameter) -> dict | None:
    """The integer branch of a parameter's schema (``integer``, or one arm of ``anyOf``)."""
    schema = parameter.definition["schema"]
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") == "integer":
            return option
    return None


def _minimal(schema: dict) -> object:
    """The smallest value ``schema`` accepts: required properties only, first enum value."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _minimal(schema["anyOf"][0])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _minimal(properties[name]) for name in schema.get("required", [])}
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return "x" * max(1, schema.get("minLength", 1))


def _path_values(operation, **given) -> dict:
    """Every path parameter of ``operation``: ``given`` ones, else 1 for ids and ``x`` for names."""
    return {
        p.name: given.get(p.name, 1 if _integer_schema(p) else "x")
        for p in operation.path_parameters
    }


def _body(operation) -> dict:
    """A minimal valid body and the required query parameters of ``operation`` (so the path is
    what is judged), or none."""
    parts: dict = {}
    bodies = list(operation.body)
    if bodies:
        parts["body"] = _minimal(bodies[0].resolved_schema)
    required = {
        p.name: _minimal(p.definition.get("schema", {})) or "x"
        for p in operation.query
        if p.definition.get("required")
    }
    if required:
        parts["query"] = required
    return parts


def _call(schema, operation, headers, **parts):
    case = schema.make_case(operation=operation, **parts)
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    return case, response


def _assert_names(case, response, field: str, statuses: tuple[int, ...]) -> None:
    where = (case.method, case.formatted_path, case.query, response.status_code)
    assert response.status_code in statuses, (*where, response.text[:300])
    error = json.loads(response.text)["error"]
    assert field in error["fields"], (*where, error)


def test_every_id_and_integer_parameter_declares_its_bounds(target):
    _, operations, _ = target
    checked = 0
    for operation in operations:
        for parameter in [*operation.path_parameters, *operation.query]:
            integer = _integer_schema(parameter)
            if integer is None:
                continue
            checked += 1
            assert "minimum" in integer and "maximum" in integer, (operation.label, parameter.name)
            assert integer["maximum"] <= MAX_ID, (operation.label, parameter.name)
    assert checked > 20


def test_path_ids_out_of_range_are_404_naming_the_parameter(target):
    schema, operations, headers = target
    ids = [(op, p) for op in operations for p in op.path_parameters if _integer_schema(p)]
    assert {p.name for _, p in ids} >= {"ref", "token_id"}
    for operation, parameter in ids:
        for value in OUT_OF_RANGE:
            path = _path_values(operation, **{parameter.name: value})
            case, response = _call(
                schema, operation, headers, path_parameters=path, **_body(operation)
            )
            _assert_names(case, response, parameter.name, (404,))


def test_integer_query_parameters_out_of_range_are_400_naming_the_parameter(target):
    schema, operations, headers = target
    checked = set()
    for operation in operations:
        for parameter in operation.query:
            integer = _integer_schema(parameter)
            if integer is None:
                continue
            checked.add(parameter.name)
            edges = [integer["minimum"] - 1, integer["maximum"] + 1]
            for value in [*edges, *OUT_OF_RANGE]:
                if integer["minimum"] <= value <= integer["maximum"]:
                    continue
                case, response = _call(
                    schema,
                    operation,
                    headers,
                    path_parameters=_path_values(operation),
                    query={parameter.name: str(value)},
                )
                _assert_names(case, response, parameter.name, (400,))
    assert checked >= {"limit", "integration"}


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    *(_cursor(json.dumps({"after": n})) for n in OUT_OF_RANGE),
    _cursor('{"after": 1.5}'),
    _cursor('{"after": true}'),
    _cursor('{"after": "1"}'),
    _cursor("[" * 150 + "]" * 150),
    _cursor('{"after": ' + "9" * 5000 + "}"),
]


def test_bad_cursors_of_the_hubs_own_lists_are_400_naming_cursor(target):
    schema, operations, headers = target
    # Lists under an integration's services page with the provider's cursor, not the hub's.
    lists = [
        op
        for op in operations
        if not op.path_parameters and any(p.name == "cursor" for p in op.query)
    ]
    assert len(lists) >= 5
    for operation in lists:
        for value in BAD_CURSORS:
            case, response = _call(schema, operation, headers, query={"cursor": value})
            _assert_names(case, response, "cursor", (400,))


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_deeply_nested_bodies_are_400_naming_body(target):
    schema, operations, headers = target
    with_body = [op for op in operations if list(op.body)]
    assert len(with_body) >= 8
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    for operation in with_body:
        too_deep = {"x": _nested(MAX_JSON_DEPTH)}  # the object is the first level
        for body in (deep, too_deep):
            case, response = _call(
                schema,
                operation,
                headers,
                path_parameters=_path_values(operation),
                body=body,
                media_type="application/json",
            )
            _assert_names(case, response, "body", (400,))
