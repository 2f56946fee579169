"""The ``infomaniak`` provider: kDrive and Mail from an Infomaniak account.

Connections are made with OAuth2 (authorization code with PKCE against Infomaniak's login
server) or with a personal API token (``bearer``). Every base URL is a named endpoint, so an
integration can point ``api``, ``mail`` or ``revoke`` elsewhere through ``settings.endpoints``;
revocation goes to ``{endpoints.revoke}``. The ``profilePath`` setting overrides ``profile.path``
for accounts still served by the v1 profile.
"""

from __future__ import annotations

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service, Setting

LOGIN = "https://login.infomaniak.com"


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the Infomaniak provider.

    :return: a one-element list holding the ``infomaniak`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="infomaniak",
            display_name="Infomaniak",
            description="kDrive files and Infomaniak Mail from an Infomaniak account.",
            auth_types=("oauth2", "bearer"),
            icon=Icon.from_package(__name__, "icon.svg"),
            oauth2=OAuth2Settings(
                authorize_url=f"{LOGIN}/authorize",
                token_url=f"{LOGIN}/token",
                scopes=("user_info", "kdrive", "mail"),
                token_auth="form",
                pkce=True,
                # The revoke endpoint, so an integration's override of it takes effect.
                revoke_url="{endpoints.revoke}",
                revoke_method="DELETE",
                # Typical lifetime; Infomaniak omits expires_in for tokens that never expire.
                default_token_lifetime=7200,
            ),
            endpoints={
                "api": "https://api.infomaniak.com",
                "mail": "https://mail.infomaniak.com",
                "revoke": f"{LOGIN}/token",
            },
            api_endpoint="api",
            profile=ProfileLookup(
                endpoint="api",
                path="/2/profile",
                id_field="data.id",
                email_field="data.email",
                name_field="data.display_name",
                unauthorized_hint=(
                    "Infomaniak refused to show the account profile: the user_info scope was "
                    "not granted. Keep user_info in the integration's scope, make sure the "
                    "application registered in the Infomaniak Manager has it, then reconnect."
                ),
            ),
            settings=(
                Setting(
                    "profilePath",
                    "Profile endpoint",
                    type="choice",
                    choices=("/2/profile", "/1/profile"),
                    default="/2/profile",
                    help="where the account id, email and name are read after connecting",
                    overrides="profile.path",
                ),
            ),
            services=(
                Service(
                    "kdrive",
                    "kDrive",
                    description="Files and folders on every kDrive the account can open.",
                ),
                Service(
                    "mail",
                    "Mail",
                    description="Mailboxes, their folders and messages (as .eml files).",
                ),
            ),
            docs_url="https://developer.infomaniak.com",
        )
    ]
