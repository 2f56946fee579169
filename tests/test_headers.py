"""Custom header templates: syntax, validation at save, expansion per request (SECURITY 19)."""

from __future__ import annotations

import sys
from dataclasses import replace
from importlib import metadata

import pytest

from hub import plugins as plugin_module
from hub.errors import HubError, ValidationError
from hub.headers import (
    FORBIDDEN_HEADERS,
    HeaderContext,
    HeaderRefused,
    HeaderTemplateError,
    HeaderVariable,
    expand_headers,
    template_variables,
    validate_headers,
)
from hub.plugins import ENTRY_POINT_GROUP, PluginRegistry

CONTEXT = HeaderContext(
    user_id=7,
    user_name="Ada Lovelace",
    user_email="ada@example.org",
    tenant_id="acme",
    integration_slug="drive",
    integration_owner="engineering",
    connection_external_id="ext-42",
)


@pytest.fixture(scope="module")
def variables() -> dict[str, HeaderVariable]:
    """The core variables, collected the way the hub collects them."""
    return PluginRegistry(entry_points=[]).header_variables


def refused_field(headers, variables) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        validate_headers(headers, variables)
    [(field, reason)] = caught.value.fields.items()
    return field, reason


# -- template syntax --------------------------------------------------------------------------


def test_template_variables_lists_each_variable_once_in_order():
    template = "${user.email} ${tenant.id} ${user.email}"
    assert template_variables(template) == ["user.email", "tenant.id"]


def test_a_template_without_variables_has_none():
    assert template_variables("plain text") == []


def test_a_double_dollar_brace_is_a_literal_and_not_a_variable():
    assert template_variables("$${user.email}") == []


def test_a_lone_dollar_is_literal():
    assert template_variables("costs $5 or $ {x} or $") == []


def test_an_unterminated_variable_is_an_error():
    with pytest.raises(HeaderTemplateError, match="unterminated"):
        template_variables("Bearer ${user.email")


def test_a_variable_name_with_a_space_is_an_error():
    with pytest.raises(HeaderTemplateError, match="invalid variable name"):
        template_variables("${user email}")


def test_an_empty_variable_name_is_an_error():
    with pytest.raises(HeaderTemplateError, match="invalid variable name"):
        template_variables("${}")


# -- validation at save -----------------------------------------------------------------------


def test_valid_headers_are_returned_with_names_as_given(variables):
    headers = {"X-User": "${user.email}", "X-Tenant": "tenant=${tenant.id}"}
    assert validate_headers(headers, variables) == headers


def test_an_empty_object_is_valid(variables):
    assert validate_headers({}, variables) == {}


@pytest.mark.parametrize("value", [None, [], "X-User: a", 3])
def test_something_else_than_an_object_is_refused(variables, value):
    field, _ = refused_field(value, variables)
    assert field == "headers"


def test_more_than_fifty_headers_are_refused(variables):
    headers = {f"X-H{i}": "v" for i in range(51)}
    field, reason = refused_field(headers, variables)
    assert (field, reason) == ("headers", "at most 50 headers")


def test_fifty_headers_are_accepted(variables):
    headers = {f"X-H{i}": "v" for i in range(50)}
    assert len(validate_headers(headers, variables)) == 50


@pytest.mark.parametrize("name", sorted(FORBIDDEN_HEADERS))
def test_each_forbidden_header_is_refused(variables, name):
    field, reason = refused_field({name: "x"}, variables)
    assert field == f"headers.{name}"
    assert "cannot be set" in reason


@pytest.mark.parametrize("name", ["AUTHORIZATION", "Transfer-Encoding", "CoOkIe", "HOST"])
def test_forbidden_headers_are_refused_in_any_case(variables, name):
    field, reason = refused_field({name: "x"}, variables)
    assert field == f"headers.{name}"
    assert "cannot be set" in reason


@pytest.mark.parametrize(
    "name",
    ["X User", "X-User:", "X:Evil", "X-Üser", "X-User\r\n", "X\x00", "", "(X)", "X/Y", "X@Y"],
)
def test_a_name_that_is_not_a_token_is_refused(variables, name):
    field, _ = refused_field({name: "x"}, variables)
    assert field == f"headers.{name}"


def test_a_name_longer_than_100_characters_is_refused(variables):
    field, reason = refused_field({"X" * 101: "x"}, variables)
    assert field.startswith("headers.XXX")
    assert "1 to 100" in reason


def test_a_name_of_100_characters_is_accepted(variables):
    assert validate_headers({"X" * 100: "x"}, variables)


def test_names_differing_only_in_case_are_refused(variables):
    field, reason = refused_field({"X-User": "a", "x-user": "b"}, variables)
    assert field == "headers.x-user"
    assert "more than once" in reason


def test_a_template_that_is_not_a_string_is_refused(variables):
    field, reason = refused_field({"X-Count": 3}, variables)
    assert (field, reason) == ("headers.X-Count", "the template must be a string")


def test_a_template_longer_than_4096_characters_is_refused(variables):
    field, reason = refused_field({"X-Long": "a" * 4097}, variables)
    assert field == "headers.X-Long"
    assert "4096" in reason


def test_a_template_of_4096_characters_is_accepted(variables):
    assert validate_headers({"X-Long": "a" * 4096}, variables)


@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\t", "\x7f", "\x85", "\u2028", "\u2029"])
def test_a_template_with_a_control_character_is_refused(variables, char):
    field, reason = refused_field({"X-User": f"a{char}b"}, variables)
    assert field == "headers.X-User"
    assert "control character" in reason


def test_an_unknown_variable_is_refused_with_the_known_ones_listed(variables):
    field, reason = refused_field({"X-User": "${user.mail}"}, variables)
    assert field == "headers.X-User"
    assert reason.startswith("unknown variable ${user.mail}; known: ")
    assert "${user.email}" in reason
    assert "${connection.externalId}" in reason


def test_an_unterminated_variable_is_refused_at_save(variables):
    field, reason = refused_field({"X-User": "${user.email"}, variables)
    assert field == "headers.X-User"
    assert "unterminated" in reason


def test_every_problem_is_reported_at_once(variables):
    with pytest.raises(ValidationError) as caught:
        validate_headers({"Cookie": "x", "X-A": "${nope}", "X-Fine": "ok"}, variables)
    assert set(caught.value.fields) == {"headers.Cookie", "headers.X-A"}
    assert "headers.Cookie" in caught.value.message


def test_the_core_variables_are_all_known(variables):
    template = " ".join(f"${{{name}}}" for name in variables)
    assert validate_headers({"X-All": template}, variables)
    assert set(variables) >= {
        "user.email",
        "user.name",
        "user.id",
        "tenant.id",
        "integration.slug",
        "integration.owner",
        "connection.externalId",
    }


# -- expansion per request --------------------------------------------------------------------


def test_each_core_variable_expands_from_the_context(variables):
    headers = {
        "X-Email": "${user.email}",
        "X-Name": "${user.name}",
        "X-Id": "${user.id}",
        "X-Tenant": "${tenant.id}",
        "X-Slug": "${integration.slug}",
        "X-Owner": "${integration.owner}",
        "X-External": "${connection.externalId}",
    }
    assert expand_headers(headers, CONTEXT, variables) == {
        "X-Email": "ada@example.org",
        "X-Name": "Ada Lovelace",
        "X-Id": "7",
        "X-Tenant": "acme",
        "X-Slug": "drive",
        "X-Owner": "engineering",
        "X-External": "ext-42",
    }


def test_literal_text_around_variables_is_kept_exactly(variables):
    headers = {"X-User": "  user=${user.id}; tenant=${tenant.id}  "}
    assert expand_headers(headers, CONTEXT, variables) == {"X-User": "  user=7; tenant=acme  "}


def test_a_double_dollar_brace_expands_to_a_literal_dollar_brace(variables):
    headers = {"X-Literal": "$${user.email}"}
    assert expand_headers(headers, CONTEXT, variables) == {"X-Literal": "${user.email}"}


def test_a_lone_dollar_expands_to_itself(variables):
    headers = {"X-Price": "$5 $ ${tenant.id}$"}
    assert expand_headers(headers, CONTEXT, variables) == {"X-Price": "$5 $ acme$"}


def test_a_variable_resolving_to_none_expands_to_empty(variables):
    context = replace(CONTEXT, user_id=None, connection_external_id=None)
    headers = {"X-Id": "[${user.id}]", "X-External": "${connection.externalId}"}
    assert expand_headers(headers, context, variables) == {"X-Id": "[]", "X-External": ""}


def test_a_plugin_defined_variable_expands(variables):
    region = HeaderVariable("plugin.region", "the plugin's region", lambda c: f"eu-{c.tenant_id}")
    extended = {**variables, region.name: region}
    headers = {"X-Region": "${plugin.region}"}
    assert validate_headers(headers, extended) == headers
    assert expand_headers(headers, CONTEXT, extended) == {"X-Region": "eu-acme"}


def test_a_plugin_defined_variable_is_unknown_without_its_plugin(variables):
    field, _ = refused_field({"X-Region": "${plugin.region}"}, variables)
    assert field == "headers.X-Region"


def test_a_variable_removed_since_saving_refuses_the_header(variables):
    with pytest.raises(HeaderRefused, match=r"X-Region: variable \$\{plugin.region\}"):
        expand_headers({"X-Region": "${plugin.region}"}, CONTEXT, variables)


def test_a_variable_resolving_to_something_else_than_a_string_is_refused(variables):
    number = HeaderVariable("plugin.number", "a buggy plugin", lambda c: 3)  # type: ignore[arg-type,return-value]
    with pytest.raises(HeaderRefused, match="resolved to int"):
        expand_headers({"X-N": "${plugin.number}"}, CONTEXT, {"plugin.number": number})


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.org\r\nX-Evil: 1",
        "ada@example.org\nX-Evil: 1",
        "ada@example.org\rX-Evil: 1",
        "ada@example.org\x00",
        "ada@example.org\u2028X-Evil: 1",
        "ada@example.org\u2029",
        "ada@example.org\x85",
        "ada@example.org\x7f",
        "ada\x1b[31m@example.org",
        "ada\t@example.org",
    ],
)
def test_an_expanded_value_with_a_control_character_is_refused(variables, email):
    context = replace(CONTEXT, user_email=email)
    with pytest.raises(HeaderRefused) as caught:
        expand_headers({"X-User": "${user.email}"}, context, variables)
    assert caught.value.status == 400
    assert caught.value.code == "header_refused"
    assert "X-User" in caught.value.message


def test_a_refused_value_is_never_in_the_error(variables):
    context = replace(CONTEXT, user_email="secret-data\r\nX-Evil: 1")
    with pytest.raises(HeaderRefused) as caught:
        expand_headers({"X-User": "${user.email}"}, context, variables)
    assert "secret-data" not in str(caught.value)
    assert "X-Evil" not in str(caught.value.to_dict())


def test_header_refused_is_a_hub_error():
    assert issubclass(HeaderRefused, HubError)


def test_non_ascii_text_is_refused_as_a_header_value(variables):
    # RFC 9110 field values are ASCII in practice; clients would mangle anything else.
    context = replace(CONTEXT, user_name="Zoë Åström")
    with pytest.raises(HeaderRefused, match="outside ASCII"):
        expand_headers({"X-Name": "${user.name}"}, context, variables)


def test_an_expanded_value_longer_than_8192_characters_is_refused(variables):
    context = replace(CONTEXT, user_name="n" * 8000)
    with pytest.raises(HeaderRefused, match="X-Name: the value is longer than 8192"):
        expand_headers({"X-Name": "${user.name} ${user.name}"}, context, variables)


def test_an_expanded_value_of_8192_characters_is_accepted(variables):
    context = replace(CONTEXT, user_name="n" * 8192)
    assert len(expand_headers({"X-Name": "${user.name}"}, context, variables)["X-Name"]) == 8192


def test_a_stored_forbidden_name_is_refused_at_expansion(variables):
    with pytest.raises(HeaderRefused, match="Authorization"):
        expand_headers({"Authorization": "Bearer ${user.id}"}, CONTEXT, variables)


def test_a_stored_invalid_name_is_refused_at_expansion(variables):
    with pytest.raises(HeaderRefused, match="not a valid header name"):
        expand_headers({"X-User\r\nX-Evil": "1"}, CONTEXT, variables)


def test_a_stored_unterminated_template_is_refused_at_expansion(variables):
    with pytest.raises(HeaderRefused, match="X-User: the stored template is invalid"):
        expand_headers({"X-User": "${user.email"}, CONTEXT, variables)


def test_a_value_outside_ascii_is_refused_with_the_header_named():
    from hub.headers import HeaderContext, HeaderRefused, expand_headers
    from hub.plugins import PluginRegistry

    variables = PluginRegistry(entry_points=[]).header_variables
    context = HeaderContext(
        user_id=1,
        user_name="张伟",
        user_email="zw@example.org",
        tenant_id="",
        integration_slug="api",
        integration_owner="ops",
        connection_external_id=None,
    )
    with pytest.raises(HeaderRefused, match="X-Name") as refused:
        expand_headers({"X-Name": "${user.name}"}, context, variables)
    assert "张伟" not in str(refused.value)


# -- a plugin's variables, end to end -----------------------------------------------------------

DOMAIN_PLUGIN = """
from hub import hookimpl
from hub.headers import HeaderVariable


@hookimpl
def hub_register_header_variables():
    return [
        HeaderVariable(
            "user.domain",
            "the domain of the signed-in user's email",
            lambda c: c.user_email.partition("@")[2] if c.user_email else None,
        ),
        # A plugin cannot redefine the core's variables: this one is ignored.
        HeaderVariable("user.email", "a forged email", lambda c: "mallory@evil.example"),
    ]
"""


@pytest.fixture
def domain_app(make_app, monkeypatch, tmp_path):
    """A hub with a plugin, installed through its entry point, that adds ``${user.domain}``."""
    (tmp_path / "hub_domain_variables.py").write_text(DOMAIN_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hub_domain_variables", raising=False)
    point = metadata.EntryPoint(
        name="domain", value="hub_domain_variables", group=ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
    return make_app(ALLOW_PRIVATE_ADDRESSES=True)


def test_a_plugins_variable_reaches_the_provider_and_the_cores_cannot_be_forged(
    domain_app, make_user, upstream
):
    make_user("alice", email="alice@team.example.org")
    client = domain_app.test_client()
    client.post("/api/login", json={"username": "alice", "password": "correct horse battery"})
    ref = client.post(
        "/api/integrations",
        json={
            "name": "Echo",
            "authType": "bearer",
            "apiBaseUri": upstream.base,
            "headers": {"X-Domain": "${user.domain}", "X-Email": "${user.email}"},
        },
    ).json["id"]
    client.post(f"/api/integrations/{ref}/connection", json={"token": "t"})
    upstream.answer("whoami", json={})

    assert client.get(f"/api/integrations/{ref}/proxy/whoami").status_code == 200

    seen = upstream.seen[0].headers
    assert (seen["X-Domain"], seen["X-Email"]) == ("team.example.org", "alice@team.example.org")
