"""Provider declarations: validation names the provider and the field at fault."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.providers import (
    Icon,
    OAuth2Settings,
    ProfileLookup,
    Provider,
    ProviderDeclarationError,
    Service,
    Setting,
    render_url,
    validate_provider,
)

OAUTH = OAuth2Settings(
    authorize_url="https://auth.example.org/authorize", token_url="https://auth.example.org/token"
)


def provider(**changes) -> Provider:
    base = Provider(
        name="example",
        display_name="Example",
        auth_types=("oauth2", "bearer"),
        oauth2=OAUTH,
        endpoints={"api": "https://api.example.org"},
        api_endpoint="api",
        profile=ProfileLookup(endpoint="api", path="/me", id_field="id"),
        services=(Service("files", "Files"),),
    )
    return replace(base, **changes)


def refused(declaration, field: str) -> str:
    with pytest.raises(ProviderDeclarationError) as caught:
        validate_provider(declaration)
    assert caught.value.field == field, str(caught.value)
    assert "'example'" in str(caught.value) or caught.value.provider != "example"
    return str(caught.value)


def test_a_complete_declaration_is_valid():
    assert validate_provider(provider()).name == "example"


def test_something_else_than_a_provider_is_refused():
    with pytest.raises(ProviderDeclarationError, match=r"expected hub\.providers\.Provider"):
        validate_provider({"name": "example"})


@pytest.mark.parametrize("name", ["", "Example", "with space", "9lives", "x" * 33])
def test_a_bad_name_is_refused(name):
    with pytest.raises(ProviderDeclarationError, match="name"):
        validate_provider(provider(name=name))


def test_an_empty_display_name_is_refused():
    refused(provider(display_name="  "), "display_name")


def test_an_unknown_auth_type_is_refused():
    assert "ntlm" in refused(provider(auth_types=("oauth2", "ntlm")), "auth_types")


def test_no_auth_type_is_refused():
    refused(provider(auth_types=()), "auth_types")


def test_oauth2_needs_its_settings():
    refused(provider(oauth2=None), "oauth2")


def test_oauth2_settings_without_the_auth_type_are_refused():
    refused(provider(auth_types=("bearer",)), "oauth2")


def test_a_relative_token_url_is_refused():
    refused(provider(oauth2=replace(OAUTH, token_url="/token")), "oauth2.token_url")


def test_an_unknown_token_auth_mode_is_refused():
    refused(provider(oauth2=replace(OAUTH, token_auth="header")), "oauth2.token_auth")


def test_a_get_refresh_with_a_json_body_is_refused():
    oauth = replace(OAUTH, refresh_method="GET", refresh_auth="json")
    refused(provider(oauth2=oauth), "oauth2.refresh_auth")


def test_a_get_refresh_sends_credentials_in_the_query_unless_basic():
    assert replace(OAUTH, refresh_method="GET").effective_refresh_auth == "query"
    basic = replace(OAUTH, refresh_method="GET", token_auth="basic")
    assert basic.effective_refresh_auth == "basic"
    assert OAUTH.effective_refresh_auth == "form"


def test_a_non_positive_default_lifetime_is_refused():
    oauth = replace(OAUTH, default_token_lifetime=0)
    refused(provider(oauth2=oauth), "oauth2.default_token_lifetime")


def test_scopes_must_be_a_tuple_of_strings():
    refused(provider(oauth2=replace(OAUTH, scopes="a b")), "oauth2.scopes")


def test_the_api_endpoint_must_be_declared():
    refused(provider(api_endpoint="nope"), "api_endpoint")


def test_the_profile_endpoint_must_be_declared():
    profile = ProfileLookup(endpoint="nope", path="/me", id_field="id")
    refused(provider(profile=profile), "profile.endpoint")


def test_a_profile_path_must_be_absolute():
    profile = ProfileLookup(endpoint="api", path="me", id_field="id")
    refused(provider(profile=profile), "profile.path")


def test_a_service_declared_twice_is_refused():
    services = (Service("files", "Files"), Service("files", "Again"))
    refused(provider(services=services), "services")


def test_a_service_operation_must_be_callable():
    refused(provider(services=(Service("files", "Files", browse="nope"),)), "services.files.browse")


def test_an_icon_of_an_unknown_type_is_refused():
    refused(provider(icon=Icon(b"GIF89a", "image/gif")), "icon")


def test_a_url_template_must_name_declared_settings():
    oauth = replace(OAUTH, authorize_url="{serverUrl}/authorize")
    assert "serverUrl" in refused(provider(oauth2=oauth), "oauth2.authorize_url")


def test_a_url_template_may_start_with_a_url_setting():
    oauth = replace(OAUTH, authorize_url="{serverUrl}/oauth/allow")
    settings = (Setting("serverUrl", "Server", type="url", required=True),)
    assert validate_provider(provider(oauth2=oauth, settings=settings))


def test_a_url_template_cannot_start_with_a_plain_setting():
    oauth = replace(OAUTH, token_url="{tokenPath}")
    settings = (Setting("tokenPath", "Token path", default="/token"),)
    refused(provider(oauth2=oauth, settings=settings), "oauth2.token_url")


def test_a_placeholder_setting_needs_a_value_or_a_default():
    oauth = replace(OAUTH, token_url="https://auth.example.org{tokenPath}")
    settings = (Setting("tokenPath", "Token path"),)
    refused(provider(oauth2=oauth, settings=settings), "oauth2.token_url")


def test_a_malformed_template_is_refused():
    refused(provider(oauth2=replace(OAUTH, token_url="https://x.example/{}")), "oauth2.token_url")


def test_a_url_template_may_use_an_endpoint():
    oauth = replace(OAUTH, revoke_url="{endpoints.api}/revoke")
    assert validate_provider(provider(oauth2=oauth))


def test_render_url_fills_settings_and_endpoints():
    url = render_url("{endpoints.api}/x/{tenant}", {"endpoints.api": "https://a", "tenant": "t"})
    assert url == "https://a/x/t"


def test_render_url_names_a_missing_value():
    with pytest.raises(KeyError, match="serverUrl"):
        render_url("{serverUrl}/x", {})


def test_a_choice_setting_needs_choices():
    refused(provider(settings=(Setting("mode", "Mode", type="choice"),)), "settings.mode.choices")


def test_a_choice_default_must_be_a_choice():
    setting = Setting("mode", "Mode", type="choice", choices=("a", "b"), default="c")
    refused(provider(settings=(setting,)), "settings.mode.default")


def test_a_setting_cannot_override_an_unknown_part():
    setting = Setting("x", "X", type="choice", choices=("a",), overrides="oauth2.token_url")
    refused(provider(settings=(setting,)), "settings.x.overrides")


def test_an_override_must_offer_only_valid_values():
    setting = Setting(
        "auth", "Auth", type="choice", choices=("form", "kerberos"), overrides="oauth2.token_auth"
    )
    refused(provider(settings=(setting,)), "settings.auth.choices")


def test_an_override_must_have_the_right_type():
    setting = Setting("pkce", "PKCE", type="string", overrides="oauth2.pkce")
    refused(provider(settings=(setting,)), "settings.pkce.type")


def test_every_overriding_choice_must_give_valid_oauth2_settings():
    oauth = replace(OAUTH, refresh_auth="json")
    setting = Setting(
        "refresh",
        "Refresh",
        type="choice",
        choices=("POST", "GET"),
        overrides="oauth2.refresh_method",
    )
    refused(provider(oauth2=oauth, settings=(setting,)), "oauth2.refresh_auth")


def test_two_settings_cannot_override_the_same_part():
    settings = (
        Setting("a", "A", type="boolean", overrides="oauth2.pkce"),
        Setting("b", "B", type="boolean", overrides="oauth2.pkce"),
    )
    refused(provider(settings=settings), "settings")


def test_declared_mappings_cannot_be_changed_afterwards():
    declared = provider()
    with pytest.raises(TypeError):
        declared.endpoints["api"] = "https://evil.example"


def test_help_for_an_auth_type_the_provider_lacks_is_refused():
    message = refused(provider(auth_help={"basic": "Use your password."}), "auth_help")
    assert "'basic' is not one of the provider's auth_types" in message


def test_empty_auth_help_is_refused():
    refused(provider(auth_help={"bearer": "  "}), "auth_help.bearer")


def test_auth_help_is_shown_by_auth_type():
    declared = validate_provider(provider(auth_help={"bearer": "Create a token in Settings."}))
    assert declared.auth_help["bearer"] == "Create a token in Settings."


@pytest.mark.parametrize(
    "setting, field",
    [
        (Setting("tenant", "Tenant", type="url", pattern="x"), "settings.tenant.pattern"),
        (Setting("tenant", "Tenant", pattern="(unclosed"), "settings.tenant.pattern"),
        (
            Setting("tenant", "Tenant", pattern="[a-z]+", default="Common"),
            "settings.tenant.default",
        ),
    ],
)
def test_an_unusable_setting_pattern_is_refused(setting, field):
    refused(provider(settings=(setting,)), field)
