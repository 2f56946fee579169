"""The ``infomaniak`` declaration: what the hub learns from the plugin about Infomaniak."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from importlib import metadata

import pytest

import hub_infomaniak
from hub.providers import render_url, validate_provider
from hub.testing import assert_safe_icon
from hub_infomaniak.scopes import unknown_scopes

SVG = "{http://www.w3.org/2000/svg}"


def profile_path_setting(provider):
    found = provider.setting("profilePath")
    assert found is not None, "no setting 'profilePath'"
    return found


def test_plugin_declares_one_provider_named_infomaniak():
    declared = hub_infomaniak.hub_register_providers()

    assert [p.name for p in declared] == ["infomaniak"]


def test_declaration_passes_validation():
    (declared,) = hub_infomaniak.hub_register_providers()

    assert validate_provider(declared) is declared


def test_distribution_declares_the_entry_point():
    points = metadata.entry_points(group="hub.plugins", name="infomaniak")

    assert [p.value for p in points] == ["hub_infomaniak"]


def test_registry_loads_the_plugin_as_ok(registry):
    info = registry.plugins["infomaniak"]

    assert (info.status, info.reason) == ("ok", None)


def test_registry_registers_the_provider(registry):
    assert registry.providers["infomaniak"].display_name == "Infomaniak"


def test_the_personal_token_comes_first_then_oauth2(provider):
    """A new integration without an authType is a personal-token one: the path that works."""
    assert provider.auth_types == ("bearer", "oauth2")


def test_the_description_says_which_scopes_to_tick_for_a_personal_token(provider):
    assert "user_info, drive, workspace:mail" in provider.description
    assert "manager.infomaniak.com" in provider.description


def test_authorizes_at_the_login_server(provider):
    assert provider.oauth2.authorize_url == "https://login.infomaniak.com/authorize"


def test_exchanges_codes_at_the_login_server_token_url(provider):
    assert provider.oauth2.token_url == "https://login.infomaniak.com/token"


def test_default_scopes_are_infomaniaks_real_names(provider):
    assert provider.oauth2.scopes == ("user_info", "drive", "workspace:mail")


def test_no_default_scope_is_unknown_to_infomaniak(provider):
    assert unknown_scopes(provider.oauth2.scopes) == []


@pytest.mark.parametrize("scope", ["kdrive", "mail", "drive.readonly"])
def test_names_infomaniak_does_not_have_are_unknown(scope):
    assert unknown_scopes(["user_info", scope]) == [scope]


def test_token_requests_are_form_encoded(provider):
    assert provider.oauth2.token_auth == "form"


def test_uses_pkce(provider):
    assert provider.oauth2.pkce is True


def test_refresh_is_posted_to_the_token_url(provider):
    oauth2 = provider.oauth2

    assert (oauth2.refresh_url, oauth2.refresh_method) == (None, "POST")


def test_revocation_is_a_delete(provider):
    assert provider.oauth2.revoke_method == "DELETE"


def test_revoke_url_is_the_revoke_endpoint(provider):
    assert provider.oauth2.revoke_url == "{endpoints.revoke}"


def test_revoke_url_resolves_to_the_login_server_token_url_by_default(provider):
    values = {"endpoints.revoke": provider.endpoints["revoke"]}

    assert render_url(provider.oauth2.revoke_url, values) == "https://login.infomaniak.com/token"


def test_revoke_url_follows_an_overridden_revoke_endpoint(provider):
    values = {"endpoints.revoke": "https://login.example.test/token"}

    assert render_url(provider.oauth2.revoke_url, values) == "https://login.example.test/token"


def test_token_without_expires_in_gets_no_guessed_lifetime(provider):
    # Infomaniak leaves expires_in out of tokens that never expire.
    assert provider.oauth2.default_token_lifetime is None


def test_authorization_asks_for_offline_access(provider):
    assert dict(provider.oauth2.authorize_params) == {"access_type": "offline"}


def test_endpoints_default_to_infomaniak_hosts(provider):
    assert dict(provider.endpoints) == {
        "api": "https://api.infomaniak.com",
        "mail": "https://mail.infomaniak.com",
        "revoke": "https://login.infomaniak.com/token",
    }


def test_api_endpoint_is_the_proxy_target(provider):
    assert provider.api_endpoint == "api"


def test_profile_is_read_from_the_v2_profile_envelope(provider):
    profile = provider.profile

    assert (profile.endpoint, profile.path) == ("api", "/2/profile")
    assert (profile.id_field, profile.email_field, profile.name_field) == (
        "data.id",
        "data.email",
        "data.display_name",
    )


def test_profile_refusal_is_explained_by_the_user_info_scope(provider):
    assert "user_info" in provider.profile.unauthorized_hint


def test_profile_path_setting_offers_v2_and_v1(provider):
    setting = profile_path_setting(provider)

    assert (setting.type, setting.choices) == ("choice", ("/2/profile", "/1/profile"))


def test_profile_path_setting_defaults_to_the_declared_profile_path(provider):
    assert profile_path_setting(provider).default == provider.profile.path == "/2/profile"


def test_profile_path_setting_overrides_the_profile_path(provider):
    assert profile_path_setting(provider).overrides == "profile.path"


def test_every_profile_path_choice_keeps_the_declaration_valid(provider):
    for path in profile_path_setting(provider).choices:
        profile = dataclasses.replace(provider.profile, path=path)
        overridden = dataclasses.replace(provider, profile=profile)

        assert validate_provider(overridden) is overridden


def test_services_are_kdrive_and_mail(provider):
    assert [(s.name, s.display_name) for s in provider.services] == [
        ("kdrive", "kDrive"),
        ("mail", "Mail"),
    ]


def test_every_service_can_be_browsed_and_downloaded(provider):
    assert all(s.browse is not None and s.download is not None for s in provider.services)


def test_every_service_is_described(provider):
    assert all(s.description for s in provider.services)


def test_icon_is_an_svg_document(provider):
    root = ET.fromstring(provider.icon.data)

    assert (provider.icon.media_type, root.tag) == ("image/svg+xml", f"{SVG}svg")


def test_icon_is_safe_to_serve(provider):
    assert_safe_icon(provider.icon)


def test_the_token_form_says_which_scopes_to_tick(provider):
    help_text = provider.auth_help["bearer"]
    assert "user_info, drive, workspace:mail" in help_text
    assert "manager.infomaniak.com" in help_text
    assert "identity-only" in provider.auth_help["oauth2"]
