"""The ``powerfolder`` declaration: a self-hosted server whose URLs hang off ``serverUrl``."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

import hub_powerfolder
from hub.addresses import OAuthUrls, oauth_urls
from hub.models import Integration
from hub.providers import Provider, url_placeholders, validate_provider

SVG = "{http://www.w3.org/2000/svg}"
SERVER_URL = "https://pf.example.org"


def urls_of(provider: Provider, **settings: Any) -> OAuthUrls:
    """The OAuth2 URLs the hub resolves for an integration on ``SERVER_URL`` (``settings``
    changed), the way it resolves them for a connection."""
    integration = Integration(
        provider="powerfolder", auth_type="oauth2", settings={"serverUrl": SERVER_URL, **settings}
    )
    return oauth_urls(provider, integration)


def setting(provider, name):
    found = provider.setting(name)
    assert found is not None, f"no setting {name!r}"
    return found


def test_plugin_declares_one_provider_named_powerfolder():
    declared = hub_powerfolder.hub_register_providers()

    assert [p.name for p in declared] == ["powerfolder"]


def test_registry_loads_the_plugin_as_ok(registry):
    info = registry.plugins["powerfolder"]

    assert (info.status, info.reason) == ("ok", None)


def test_registry_registers_the_provider(registry):
    assert registry.providers["powerfolder"].display_name == "PowerFolder"


def test_auth_types_are_oauth2_and_basic(provider):
    assert provider.auth_types == ("oauth2", "basic")


def test_the_server_endpoint_is_the_server_url(provider):
    assert dict(provider.endpoints) == {"server": "{serverUrl}"}


def test_the_server_endpoint_is_the_only_endpoint_and_the_proxy_target(provider):
    assert (list(provider.endpoints), provider.api_endpoint) == (["server"], "server")


def test_the_oauth_urls_are_written_on_the_server_endpoint(provider):
    oauth2 = provider.oauth2

    assert (oauth2.authorize_url, oauth2.token_url) == (
        "{endpoints.server}/oauth/allow",
        "{endpoints.server}{tokenPath}",
    )


def test_no_oauth_url_names_the_server_url_setting_itself(provider):
    # Only the endpoint does: an endpoint override then moves every URL, not just the API.
    oauth2 = provider.oauth2
    templates = [oauth2.authorize_url, oauth2.token_url, oauth2.refresh_url, oauth2.revoke_url]

    assert not [t for t in templates if t and "serverUrl" in url_placeholders(t)]


def test_authorize_url_resolves_under_the_server_url(provider):
    assert urls_of(provider).authorize == f"{SERVER_URL}/oauth/allow"


def test_token_url_resolves_to_oauth_token_with_the_default_token_path(provider):
    assert urls_of(provider).token == f"{SERVER_URL}/oauth/token"


def test_token_url_resolves_to_oauth_when_the_token_path_says_so(provider):
    urls = urls_of(provider, tokenPath="/oauth")

    assert (urls.token, urls.refresh) == (f"{SERVER_URL}/oauth", f"{SERVER_URL}/oauth")


def test_a_server_under_a_path_keeps_it_in_every_oauth_url(provider):
    urls = urls_of(provider, serverUrl=f"{SERVER_URL}/powerfolder")

    assert (urls.authorize, urls.token) == (
        f"{SERVER_URL}/powerfolder/oauth/allow",
        f"{SERVER_URL}/powerfolder/oauth/token",
    )


def test_a_server_url_with_a_trailing_slash_makes_no_double_slash(provider):
    urls = urls_of(provider, serverUrl=f"{SERVER_URL}/")

    assert (urls.authorize, urls.token) == (
        f"{SERVER_URL}/oauth/allow",
        f"{SERVER_URL}/oauth/token",
    )


def test_an_integrations_server_endpoint_moves_the_oauth_urls_too(provider):
    moved = "https://pf-internal.example.org"

    urls = urls_of(provider, endpoints={"server": moved})

    assert (urls.authorize, urls.token) == (f"{moved}/oauth/allow", f"{moved}/oauth/token")


def test_url_placeholders_are_the_server_url_the_token_path_and_the_endpoint(provider):
    oauth2 = provider.oauth2
    urls = [oauth2.authorize_url, oauth2.token_url, *provider.endpoints.values()]

    assert {name for url in urls for name in url_placeholders(url)} == {
        "serverUrl",
        "tokenPath",
        "endpoints.server",
    }


def test_every_url_placeholder_setting_is_required_or_has_a_default(provider):
    oauth2 = provider.oauth2
    urls = [oauth2.authorize_url, oauth2.token_url, *provider.endpoints.values()]
    names = {name for url in urls for name in url_placeholders(url)}
    placeholders = {provider.setting(n) for n in names if not n.startswith("endpoints.")}

    assert all(s.required or s.default is not None for s in placeholders)


def test_server_url_setting_is_a_required_url(provider):
    server_url = setting(provider, "serverUrl")

    assert (server_url.label, server_url.type, server_url.required) == ("Server URL", "url", True)


def test_server_url_setting_explains_itself(provider):
    assert setting(provider, "serverUrl").help


def test_token_requests_carry_a_json_body(provider):
    assert provider.oauth2.token_auth == "json"


def test_does_not_use_pkce(provider):
    assert provider.oauth2.pkce is False


def test_token_requests_ask_for_a_json_answer(provider):
    assert dict(provider.oauth2.token_params) == {"format": "json"}


def test_refresh_is_a_post_to_the_token_url(provider):
    oauth2 = provider.oauth2

    assert (oauth2.refresh_method, oauth2.refresh_url) == ("POST", None)


def test_refresh_auth_is_left_to_the_refresh_method(provider):
    assert provider.oauth2.refresh_auth is None


def test_post_refresh_authenticates_with_a_json_body(provider):
    assert provider.oauth2.effective_refresh_auth == "json"


def test_get_refresh_identifies_the_client_in_the_query_string(provider):
    got = dataclasses.replace(provider.oauth2, refresh_method="GET")

    assert got.effective_refresh_auth == "query"


def test_has_no_revocation(provider):
    assert provider.oauth2.revoke_url is None


def test_token_without_expires_in_lasts_a_day(provider):
    assert provider.oauth2.default_token_lifetime == 86400


def test_token_path_setting_offers_oauth_and_oauth_token(provider):
    token_path = setting(provider, "tokenPath")

    assert (token_path.type, token_path.choices) == ("choice", ("/oauth/token", "/oauth"))


def test_token_path_setting_defaults_to_the_path_current_clients_use(provider):
    assert setting(provider, "tokenPath").default == "/oauth/token"


def test_token_path_setting_takes_effect_through_the_token_url_not_an_override(provider):
    assert setting(provider, "tokenPath").overrides is None


def test_refresh_method_setting_offers_get_and_post(provider):
    refresh_method = setting(provider, "refreshMethod")

    assert (refresh_method.type, refresh_method.choices) == ("choice", ("POST", "GET"))


def test_refresh_method_setting_defaults_to_the_declared_refresh_method(provider):
    assert setting(provider, "refreshMethod").default == provider.oauth2.refresh_method == "POST"


def test_refresh_method_setting_overrides_the_oauth2_refresh_method(provider):
    assert setting(provider, "refreshMethod").overrides == "oauth2.refresh_method"


def test_every_refresh_method_choice_keeps_the_declaration_valid(provider):
    for method in setting(provider, "refreshMethod").choices:
        oauth2 = dataclasses.replace(provider.oauth2, refresh_method=method)
        overridden = dataclasses.replace(provider, oauth2=oauth2)

        assert validate_provider(overridden) is overridden


def test_declares_no_profile_lookup(provider):
    assert provider.profile is None


def test_service_is_files(provider):
    assert [(s.name, s.display_name) for s in provider.services] == [("files", "Files")]


def test_every_service_is_described(provider):
    assert all(s.description for s in provider.services)


def test_icon_is_an_svg_document(provider):
    root = ET.fromstring(provider.icon.data)

    assert (provider.icon.media_type, root.tag) == ("image/svg+xml", f"{SVG}svg")


def test_the_files_service_can_be_browsed_and_downloaded(provider):
    files = provider.service("files")

    assert (files.browse, files.download) == (
        hub_powerfolder.files.browse,
        hub_powerfolder.files.download,
    )


def test_the_plugin_adds_a_command_to_the_hub(registry):
    implementations = registry.hook.hub_register_commands.get_hookimpls()

    assert "powerfolder" in [i.plugin_name for i in implementations]
