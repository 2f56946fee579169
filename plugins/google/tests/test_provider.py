"""The ``google`` declaration: what the hub learns from the plugin about Google Drive.

What every provider must satisfy (a valid declaration, a safe icon, the entry point installed)
is checked by the hub's contract suite in ``test_contract.py``; here are Google's specifics."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from packaging.specifiers import SpecifierSet

import hub_google
from hub.plugins import PLUGIN_API_VERSION
from hub.providers import Provider, render_url, url_placeholders

SVG = "{http://www.w3.org/2000/svg}"


def rendered(provider: Provider, template: str, **endpoints: str) -> str:
    """``template`` filled with the declared endpoints, ``endpoints`` overriding some."""
    values = {f"endpoints.{k}": v for k, v in {**provider.endpoints, **endpoints}.items()}
    return render_url(template, values)


def test_plugin_declares_one_provider_named_google():
    declared = hub_google.hub_register_providers()

    assert [p.name for p in declared] == ["google"]


def test_plugin_supports_this_hubs_plugin_api():
    assert SpecifierSet(hub_google.HUB_PLUGIN_API).contains(PLUGIN_API_VERSION)


def test_registry_loads_the_plugin_as_ok(registry):
    info = registry.plugins["google"]

    assert (info.status, info.reason) == ("ok", None)


def test_registry_registers_the_provider(registry):
    assert registry.providers["google"].display_name == "Google Drive"


def test_auth_type_is_oauth2_only(provider):
    assert provider.auth_types == ("oauth2",)


def test_authorizes_at_google_accounts(provider):
    assert rendered(provider, provider.oauth2.authorize_url) == (
        "https://accounts.google.com/o/oauth2/v2/auth"
    )


def test_exchanges_codes_at_the_google_token_url(provider):
    assert rendered(provider, provider.oauth2.token_url) == "https://oauth2.googleapis.com/token"


def test_authorize_and_token_urls_follow_their_endpoints(provider):
    moved = {"accounts": "https://accounts.google.test", "oauth2": "https://oauth2.google.test"}

    assert (
        rendered(provider, provider.oauth2.authorize_url, **moved),
        rendered(provider, provider.oauth2.token_url, **moved),
    ) == ("https://accounts.google.test/o/oauth2/v2/auth", "https://oauth2.google.test/token")


def test_default_scopes_are_openid_email_profile_and_drive_readonly(provider):
    assert provider.oauth2.scopes == (
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/drive.readonly",
    )


def test_token_requests_are_form_encoded(provider):
    assert provider.oauth2.token_auth == "form"


def test_uses_pkce(provider):
    assert provider.oauth2.pkce is True


def test_authorization_asks_for_offline_access_with_forced_consent(provider):
    assert dict(provider.oauth2.authorize_params) == {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }


def test_refresh_is_posted_to_the_token_url(provider):
    oauth2 = provider.oauth2

    assert (oauth2.refresh_url, oauth2.refresh_method) == (None, "POST")


def test_revocation_is_posted(provider):
    assert provider.oauth2.revoke_method == "POST"


def test_revoke_url_lies_under_the_revoke_endpoint(provider):
    assert provider.oauth2.revoke_url == "{endpoints.revoke}/revoke"


def test_revoke_url_resolves_to_google_revoke_by_default(provider):
    values = {"endpoints.revoke": provider.endpoints["revoke"]}

    assert render_url(provider.oauth2.revoke_url, values) == "https://oauth2.googleapis.com/revoke"


def test_revoke_url_follows_an_overridden_revoke_endpoint(provider):
    values = {"endpoints.revoke": "https://oauth2.example.test"}

    assert render_url(provider.oauth2.revoke_url, values) == "https://oauth2.example.test/revoke"


def test_every_oauth2_url_is_written_through_an_endpoint(provider):
    oauth2 = provider.oauth2
    urls = [oauth2.authorize_url, oauth2.token_url, oauth2.revoke_url]

    assert [name for url in urls for name in url_placeholders(url)] == [
        "endpoints.accounts",
        "endpoints.oauth2",
        "endpoints.revoke",
    ]


def test_the_endpoints_themselves_are_literal(provider):
    urls = list(provider.endpoints.values())

    assert [name for url in urls for name in url_placeholders(url)] == []


def test_expects_google_accounts_as_issuer(provider):
    """The issuer is the accounts endpoint: https://accounts.google.com unless moved."""
    assert provider.oauth2.issuer == "{endpoints.accounts}"
    assert provider.endpoints["accounts"] == "https://accounts.google.com"


def test_token_without_expires_in_lasts_just_under_an_hour(provider):
    assert provider.oauth2.default_token_lifetime == 3599


def test_endpoints_default_to_google_hosts(provider):
    assert dict(provider.endpoints) == {
        "accounts": "https://accounts.google.com",
        "oauth2": "https://oauth2.googleapis.com",
        "drive": "https://www.googleapis.com",
        "userinfo": "https://openidconnect.googleapis.com",
        "revoke": "https://oauth2.googleapis.com",
    }


def test_drive_endpoint_is_the_proxy_target(provider):
    assert provider.api_endpoint == "drive"


def test_profile_is_read_from_openid_userinfo(provider):
    profile = provider.profile

    assert (profile.endpoint, profile.path) == ("userinfo", "/v1/userinfo")
    assert (profile.id_field, profile.email_field, profile.name_field) == ("sub", "email", "name")


def test_service_is_drive(provider):
    assert [(s.name, s.display_name) for s in provider.services] == [("drive", "Drive")]


def test_every_service_is_described(provider):
    assert all(s.description for s in provider.services)


def test_icon_is_an_svg_document(provider):
    root = ET.fromstring(provider.icon.data)

    assert (provider.icon.media_type, root.tag) == ("image/svg+xml", f"{SVG}svg")


def test_drive_can_be_browsed_and_downloaded_from(provider):
    drive = provider.service("drive")

    assert (drive.browse is not None, drive.download is not None) == (True, True)
