"""The generic ``custom`` provider: any OAuth2, API-key, basic or bearer API.

Every URL comes from the integration itself (``authUri``, ``tokenUri``, ``apiBaseUri``); the
token-endpoint quirks are integration settings, so one provider serves any standard API.
"""

from __future__ import annotations

from hub import hookimpl
from hub.providers import (
    REFRESH_METHODS,
    REVOKE_AUTH_MODES,
    TOKEN_AUTH_MODES,
    Icon,
    OAuth2Settings,
    Provider,
    Setting,
)


@hookimpl(trylast=True)
def hub_register_providers() -> list[Provider]:
    return [
        Provider(
            name="custom",
            display_name="Custom API",
            description="Any OAuth2, API-key, basic or bearer API, configured by hand.",
            auth_types=("oauth2", "apikey", "basic", "bearer"),
            icon=Icon.from_package("hub.builtin", "custom.svg"),
            oauth2=OAuth2Settings(authorize_url=None, token_url=None, pkce=True),
            settings=(
                Setting(
                    "tokenAuth",
                    "Client authentication at the token endpoint",
                    type="choice",
                    choices=TOKEN_AUTH_MODES,
                    default="form",
                    help="form body, HTTP Basic, client id in the query (no secret), JSON body, "
                    "or get: a GET with the client id and secret in the query (only for a server "
                    "that accepts nothing else: the secret lands in its logs)",
                    overrides="oauth2.token_auth",
                ),
                Setting(
                    "refreshMethod",
                    "How a refresh is requested",
                    type="choice",
                    choices=REFRESH_METHODS,
                    default="POST",
                    overrides="oauth2.refresh_method",
                ),
                Setting(
                    "pkce", "Use PKCE (S256)", type="boolean", default=True, overrides="oauth2.pkce"
                ),
                Setting(
                    "revokeUri",
                    "Revocation endpoint (RFC 7009)",
                    type="url",
                    overrides="oauth2.revoke_url",
                ),
                Setting(
                    "revokeAuth",
                    "How the token is revoked",
                    type="choice",
                    choices=REVOKE_AUTH_MODES,
                    default="client",
                    help="client: RFC 7009 form body; bearer: a POST with the token as bearer",
                    overrides="oauth2.revoke_auth",
                ),
                Setting(
                    "issuer",
                    "Expected issuer (iss) on the callback",
                    type="url",
                    overrides="oauth2.issuer",
                ),
                Setting(
                    "issRequired",
                    "The authorization server always sends iss (RFC 9207)",
                    type="boolean",
                    default=False,
                    help="refuse a callback without iss, as its metadata says "
                    "authorization_response_iss_parameter_supported",
                    overrides="oauth2.iss_parameter_supported",
                ),
                Setting(
                    "apiKeyHeader",
                    "Header that carries the API key",
                    type="header",
                    default="X-Api-Key",
                    help="for authType apikey; leave empty to use a query parameter",
                ),
                Setting("apiKeyQuery", "Query parameter that carries the API key"),
            ),
        )
    ]
