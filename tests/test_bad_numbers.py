"""Numbers out of the database's range and deeply nested JSON are bad input: 400 or 404 naming the
field, never a 500 (SECURITY 32), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re

import pytest

from hub.api.validation import MAX_JSON_DEPTH, decode_cursor, encode_cursor
from hub.errors import ValidationError
from hub.ids import MAX_ID, IdConverter, parse_id

HUGE = str(2**64 + 1)
OUT_OF_RANGE_IDS = [HUGE, str(MAX_ID + 1), "9" * 30, "9" * 5000, "-1", "-" + HUGE, "0", "000"]

OAUTH = {
    "name": "My API",
    "authType": "oauth2",
    "authUri": "https://auth.example.org/authorize",
    "tokenUri": "https://auth.example.org/token",
    "clientId": "client-id",
    "scope": "read",
    "apiBaseUri": "https://api.example.org/v1",
}


def cursor(after) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def deep(levels: int, inner=1) -> object:
    value = inner
    for _ in range(levels):
        value = [value]
    return value


def assert_names(response, status: int, field: str) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.get_data(as_text=True)[:200]
    assert field in response.json["error"]["fields"], response.json


@pytest.fixture
def admin_headers(admin, token_for):
    return token_for("admin")


@pytest.fixture
def api(app, admin_headers):
    """A client whose every request carries an administrator's API token."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = admin_headers["Authorization"]
    return client


@pytest.fixture
def integration(api) -> int:
    response = api.post("/api/integrations", json=OAUTH)
    assert response.status_code == 201, response.json
    return response.json["id"]


# -- ids in paths --------------------------------------------------------------------------


def test_revoking_a_token_by_an_id_out_of_range_is_404_naming_it(api):
    for token_id in OUT_OF_RANGE_IDS:
        assert_names(api.delete(f"/api/tokens/{token_id}"), 404, "token_id")


def test_the_largest_id_is_an_ordinary_unknown_token(api):
    response = api.delete(f"/api/tokens/{MAX_ID}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_an_integration_id_out_of_range_is_404_naming_ref(api, integration):
    for method in ("GET", "PATCH", "DELETE"):
        for ref in OUT_OF_RANGE_IDS:
            response = api.open(f"/api/integrations/{ref}", method=method, json={"name": "x"})
            assert_names(response, 404, "ref")
    assert api.get(f"/api/integrations/{integration}").status_code == 200


def requests_for(rule, argument: str, value: str) -> list[tuple[str, str]]:
    """``(method, path)`` for each method of ``rule`` with ``argument`` set to ``value`` in its
    path (other path arguments are ``1`` for an ``id``, else ``x``)."""

    def other(match: re.Match[str]) -> str:
        if match[2] == argument:
            return value
        return "1" if match[1] == "id:" else "x"

    path = re.sub(r"<([^:>]+:)?([a-z_]+)>", other, rule.rule)
    return [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def routes_taking(app, argument: str, value: str) -> list[tuple[object, str, str]]:
    """``(view, method, path)`` of every route with ``argument`` in its path."""
    return [
        (app.view_functions[rule.endpoint], method, path)
        for rule in app.url_map.iter_rules()
        if argument in rule.arguments
        for method, path in requests_for(rule, argument, value)
    ]


def test_every_api_route_under_an_integration_refuses_an_id_out_of_range(app, api, integration):
    routes = [route for route in routes_taking(app, "ref", "REF") if route[2].startswith("/api/")]
    assert len(routes) > 15
    for view, method, path in routes:
        for ref in (HUGE, "-1", "0"):
            response = api.open(path.replace("REF", ref), method=method)
            checked_first = any(
                getattr(view, name, None) is not None for name in ("request_body", "query_params")
            )
            if checked_first and response.status_code == 400:
                # the body and a required query parameter are checked first
                assert response.json["error"]["fields"], response.json
                continue
            assert_names(response, 404, "ref")


def test_every_page_under_an_integration_refuses_an_id_out_of_range(app, login, alice):
    client = login("alice")
    routes = [route for route in routes_taking(app, "ref", HUGE) if route[2][:5] != "/api/"]
    assert routes
    for _, method, path in routes:
        if method != "GET":  # the forms' POSTs check the form token first (403)
            continue
        response = client.get(path)
        assert response.status_code == 404, path
        if response.is_json:  # some pages answer with a page of their own (the connect popup)
            assert "ref" in response.json["error"]["fields"], path


def test_every_route_with_a_numeric_id_refuses_one_out_of_range(app, login, alice):
    client = login("alice")
    ids = [
        (rule, name)
        for rule in app.url_map.iter_rules()
        for name, converter in rule._converters.items()
        if isinstance(converter, IdConverter)
    ]
    assert {rule.rule for rule, _ in ids} >= {
        "/api/tokens/<id:token_id>",
        "/account/tokens/<id:token_id>/revoke",
        "/connections/<id:integration_id>/row",
    }
    for rule, name in ids:
        for method, path in requests_for(rule, name, "ID"):
            for value in OUT_OF_RANGE_IDS:
                response = client.open(path.replace("ID", value), method=method)
                assert_names(response, 404, name)


def test_the_largest_integration_id_is_an_ordinary_unknown_one(api, integration):
    response = api.get(f"/api/integrations/{MAX_ID}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_a_connections_row_out_of_range_is_404_naming_it(login, alice):
    client = login("alice")
    for integration_id in OUT_OF_RANGE_IDS:
        response = client.get(f"/connections/{integration_id}/row")
        assert_names(response, 404, "integration_id")


def test_revoking_a_token_on_the_account_page_out_of_range_is_404_naming_it(login, alice):
    client = login("alice")
    for token_id in OUT_OF_RANGE_IDS:
        response = client.post(f"/account/tokens/{token_id}/revoke")
        assert_names(response, 404, "token_id")


def test_no_route_takes_a_number_in_its_path_without_the_id_converter(app):
    """werkzeug's int/float converters let any number through to SQL; ids use ``<id:...>``."""
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            kind = type(converter).__name__
            assert kind in (
                "IdConverter",
                "UnicodeConverter",
                "PathConverter",
                "ItemIdConverter",
            ), (
                rule,
                name,
            )


# -- cursors -------------------------------------------------------------------------------

BAD_CURSORS = {
    "huge": cursor(2**70),
    "beyond 64 bits": cursor(MAX_ID + 1),
    "negative": cursor(-5),
    "negative huge": cursor(-(2**70)),
    "zero": cursor(0),
    "float": cursor(1.5),
    "float that is whole": cursor(3.0),
    "infinity": raw_cursor('{"after": Infinity}'),
    "true": cursor(True),
    "string": cursor("7"),
    "null": cursor(None),
    "a list": raw_cursor("[1]"),
    "nested": raw_cursor("[" * 120 + "]" * 120),
    "too long": "A" * 5000,
    "many digits": raw_cursor('{"after": ' + "9" * 5000 + "}"),
    "not base64": "%%%",
}


LISTS = ["/api/tokens", "/api/users", "/api/teams", "/api/integrations", "/api/audit"]


def test_a_bad_cursor_is_400_naming_it_on_every_list(api):
    for path in LISTS:
        for kind, value in BAD_CURSORS.items():
            response = api.get(path, query_string={"cursor": value})
            assert response.status_code == 400, (path, kind, response.json)
            assert "cursor" in response.json["error"]["fields"], (path, kind, response.json)


def test_a_cursor_at_the_largest_id_is_an_empty_page_and_at_the_smallest_a_full_one(api):
    assert api.get("/api/tokens", query_string={"cursor": cursor(MAX_ID)}).json["items"] == []
    assert api.get("/api/audit", query_string={"cursor": cursor(1)}).status_code == 200


def test_a_cursor_written_by_the_hub_reads_back():
    assert decode_cursor(encode_cursor(MAX_ID)) == MAX_ID
    with pytest.raises(ValidationError):
        decode_cursor(cursor(MAX_ID + 1))


def test_the_admin_audit_page_refuses_a_bad_cursor(login, admin):
    response = login("admin").get("/admin/audit", query_string={"cursor": cursor(2**70)})
    assert response.status_code == 400


# -- integer query parameters --------------------------------------------------------------


def test_an_audit_filter_by_an_integration_id_out_of_range_is_400_naming_it(api):
    for value in OUT_OF_RANGE_IDS:
        response = api.get("/api/audit", query_string={"integration": value})
        assert_names(response, 400, "integration")


def test_an_audit_filter_by_the_largest_id_finds_nothing(api):
    response = api.get("/api/audit", query_string={"integration": str(MAX_ID)})
    assert response.status_code == 200 and response.json["items"] == []


def test_the_admin_audit_page_names_an_integration_filter_out_of_range(login, admin):
    response = login("admin").get("/admin/audit", query_string={"integration": HUGE})
    assert response.status_code == 400


def test_a_limit_out_of_range_is_400_naming_it_on_every_list(api):
    for path in LISTS:
        for value in (HUGE, "-1", "0", "9" * 5000):
            assert_names(api.get(path, query_string={"limit": value}), 400, "limit")


def test_a_connections_page_offset_out_of_range_is_400_naming_it(login, alice):
    client = login("alice")
    for offset in (HUGE, str(MAX_ID + 1), "-1", "9" * 5000, "x"):
        response = client.get("/connections", query_string={"offset": offset})
        assert_names(response, 400, "offset")


def test_the_connections_page_at_the_largest_offset_is_empty(login, alice):
    response = login("alice").get("/connections", query_string={"offset": str(MAX_ID)})
    assert response.status_code == 200


# -- deeply nested JSON --------------------------------------------------------------------

BODIES = [
    ("POST", "/api/tokens"),
    ("POST", "/api/integrations"),
    ("PATCH", "/api/integrations/{id}"),
    ("POST", "/api/integrations/{id}/connection"),
    ("PUT", "/api/integrations/{id}/shares/alice"),
    ("POST", "/api/integrations/preview"),
    ("POST", "/api/users"),
    ("POST", "/api/teams"),
    ("PUT", "/api/providers/custom/credentials"),
]


def test_a_body_nested_100000_deep_is_400_naming_body_on_every_route_with_a_body(api, integration):
    for method, path in BODIES:
        response = api.open(
            path.format(id=integration),
            method=method,
            data="[" * 100_000 + "]" * 100_000,
            content_type="application/json",
        )
        assert_names(response, 400, "body")


def test_a_body_that_parses_but_nests_too_deep_is_400_naming_body(api, integration):
    body = {"name": "x", "settings": {"a": deep(MAX_JSON_DEPTH)}}
    for method, path in BODIES:
        response = api.open(path.format(id=integration), method=method, json=body)
        assert_names(response, 400, "body")


def test_nested_settings_and_headers_are_refused_before_they_are_stored(api, integration):
    for field in ("settings", "headers"):
        body = {**OAUTH, "slug": f"deep-{field}", field: {"X-A": deep(MAX_JSON_DEPTH)}}
        assert_names(api.post("/api/integrations", json=body), 400, "body")
    listed = api.get("/api/integrations").json["items"]
    assert [item["id"] for item in listed] == [integration]


def test_nesting_up_to_the_limit_is_judged_by_the_schema_not_refused_as_too_deep(api):
    body = {"name": "x", "extra": deep(MAX_JSON_DEPTH - 1)}  # the object itself is one level
    response = api.post("/api/tokens", json=body)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"extra": "unknown field"}


def test_one_level_more_than_the_limit_is_too_deep(api):
    body = {"name": "x", "extra": deep(MAX_JSON_DEPTH)}
    assert_names(api.post("/api/tokens", json=body), 400, "body")


def test_a_number_with_thousands_of_digits_in_a_body_is_400_naming_body(api):
    response = api.post(
        "/api/tokens",
        data='{"name": "x", "expiresInDays": ' + "9" * 5000 + "}",
        content_type="application/json",
    )
    assert_names(response, 400, "body")


def test_a_token_expiry_out_of_range_is_400_naming_it(api):
    for days in (int(HUGE), -1, 0, 1.5, True):
        response = api.post("/api/tokens", json={"name": "x", "expiresInDays": days})
        assert_names(response, 400, "expiresInDays")


# -- the parsing rules themselves ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (str(MAX_ID), MAX_ID),
        ("007", 7),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("6³", None),
        ("\uff11", None),
        ("9" * 5000, None),
    ],
)
def test_parse_id_takes_ascii_digits_in_range(text, expected):
    assert parse_id(text) == expected
