"""The OpenAPI document: it covers every /api route, and a property-based fuzz of it finds no
server error (SECURITY 27)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hub import accounts, create_app, migrations
from hub.crypto import generate_key
from hub.db import bind, database
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
