"""The ``infomaniak`` provider: kDrive and Mail from an Infomaniak account.

Connections are made first with a personal API token (``bearer``), created in the
Infomaniak Manager with the scopes ``user_info``, ``drive`` and ``workspace:mail`` ticked; that is
the path that reaches kDrive and Mail. OAuth2 (authorization code with PKCE against Infomaniak's
login server) asks for the same scopes by their real names (:mod:`hub_infomaniak.scopes`); OAuth
applications created in the Manager may only get identity tokens.

Every base URL is a named endpoint, so an integration can point ``api``, ``mail`` or ``revoke``
elsewhere through ``settings.endpoints`` (and the login server through the integration's
``authUri`` / ``tokenUri``); revocation goes to ``{endpoints.revoke}``. The ``profilePath``
setting overrides ``profile.path`` for accounts still served by the v1 profile.

The services live in their own modules: :mod:`hub_infomaniak.kdrive` (drives, folders, files),
with search, views and thumbnails in :mod:`hub_infomaniak.kdrive_find`, and
:mod:`hub_infomaniak.mail` (mailboxes, folders, messages as ``.eml``), with search and
attachments in :mod:`hub_infomaniak.mail_find`; all call Infomaniak through
:mod:`hub_infomaniak.envelope`, which maps its errors to the hub's.
"""

from __future__ import annotations

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service, Setting, View
from hub_infomaniak import kdrive, kdrive_find, mail, mail_find
from hub_infomaniak.scopes import DEFAULT_SCOPES, TOKEN_PAGE

LOGIN = "https://login.infomaniak.com"
TOKEN_HELP = (
    f"Connect with a personal API token: create it at {TOKEN_PAGE} (Manager → API tokens) with "
    f"the scopes {', '.join(DEFAULT_SCOPES)} ticked, then paste it as the connection's token."
)


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the Infomaniak provider.

    :return: a one-element list holding the ``infomaniak`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="infomaniak",
            display_name="Infomaniak",
            description=f"kDrive files and Infomaniak Mail of an Infomaniak account. {TOKEN_HELP}",
            # The personal token first: it is what reaches kDrive and Mail for a third party
            # (the default authType of a new integration); OAuth2 for those whose application
            # Infomaniak grants the drive and workspace:mail scopes.
            auth_types=("bearer", "oauth2"),
            auth_help={
                "bearer": (
                    f"Create a personal API token at {TOKEN_PAGE} (Manager → API tokens) with "
                    f"the scopes {', '.join(DEFAULT_SCOPES)} ticked, and paste it here. It "
                    "reaches kDrive and Mail."
                ),
                "oauth2": (
                    "Only for an OAuth application that Infomaniak grants the scopes "
                    f"{', '.join(DEFAULT_SCOPES)}: applications created in the Manager may get "
                    "identity-only tokens, which kDrive and Mail refuse. Prefer a personal token."
                ),
            },
            icon=Icon.from_package(__name__, "icon.svg"),
            oauth2=OAuth2Settings(
                authorize_url=f"{LOGIN}/authorize",
                token_url=f"{LOGIN}/token",
                scopes=DEFAULT_SCOPES,
                token_auth="form",
                pkce=True,
                # Ask for a refresh token, so the connection outlives the ~2 h access token.
                authorize_params={"access_type": "offline"},
                # The revoke endpoint, so an integration's override of it takes effect.
                revoke_url="{endpoints.revoke}",
                revoke_method="DELETE",
                # Infomaniak omits expires_in for tokens that never expire: such a token is not
                # refreshed ahead of time (a guessed lifetime would mark one without a refresh
                # token as needing reauthorisation); a 401 still triggers a refresh.
                default_token_lifetime=None,
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
                    "application registered in the Infomaniak Manager has it, then reconnect. "
                    f"Or {TOKEN_HELP[0].lower()}{TOKEN_HELP[1:]}"
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
                    description=(
                        "Files and folders on every kDrive the account can open "
                        "(needs the drive scope)."
                    ),
                    browse=kdrive.browse,
                    download=kdrive.download,
                    search=kdrive_find.search,
                    views=(
                        View(
                            "shared",
                            "Shared with me",
                            browse=kdrive_find.shared_with_me,
                            description="What others shared with you, on any drive",
                        ),
                        View(
                            "recent",
                            "Recent",
                            browse=kdrive_find.recent,
                            description="The files last modified, drive by drive",
                        ),
                        View(
                            "favorites",
                            "Favorites",
                            browse=kdrive_find.favorites,
                            description="What you marked as a favorite, drive by drive",
                        ),
                    ),
                    thumbnail=kdrive_find.thumbnail,
                ),
                Service(
                    "mail",
                    "Mail",
                    description=(
                        "Mailboxes, their folders and messages as .eml files; a message opens "
                        "to its attachments (needs the workspace:mail scope)."
                    ),
                    browse=mail.browse,
                    download=mail.download,
                    search=mail_find.search,
                ),
            ),
            docs_url="https://developer.infomaniak.com",
        )
    ]
