"""The ``dropbox`` provider: folders and files in a Dropbox account.

Connections use OAuth2 with PKCE. Dropbox hands out a refresh token only when the
authorization asks for ``token_access_type=offline``; its refresh answers carry no new refresh
token, so the hub keeps the one it has. Disconnecting revokes the grant with
``POST /2/auth/token/revoke``, the access token as bearer and no body. A token generated in
the Dropbox App Console may be used instead (``bearer``); it is short-lived.

Every URL goes through the endpoints ``www`` (the authorization page), ``api`` (RPC calls and
the token endpoint) and ``content`` (downloads), so ``HUB_DROPBOX_ENDPOINTS`` or an
integration's ``settings.endpoints`` moves them. The ``files`` service browses and downloads
(:mod:`hub_dropbox.files`), searches and shows thumbnails of pictures
(:mod:`hub_dropbox.finding`); how Dropbox is called and its errors read, in
:mod:`hub_dropbox.api`.
"""

from __future__ import annotations

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service

from .files import browse, download
from .finding import search, thumbnail

#: The plugin API versions this plugin is written for (the hub refuses it outside them).
HUB_PLUGIN_API = ">=1.0,<2"

#: The scopes asked for by default: who connected, and reading folders and files.
SCOPES = ("account_info.read", "files.metadata.read", "files.content.read")

AUTH_HELP = {
    "oauth2": (
        "Create an app in the Dropbox App Console (dropbox.com/developers/apps): Scoped access, "
        "Full Dropbox (or App folder). On its Permissions tab tick account_info.read, "
        "files.metadata.read and files.content.read and save. On its Settings tab add the "
        "redirect URI HUB_PUBLIC_URL + /oauth2/callback, and copy the App key and App secret "
        "as the client id and secret."
    ),
    "bearer": (
        "In the Dropbox App Console, open your app (Scoped access, with account_info.read, "
        "files.metadata.read and files.content.read ticked on its Permissions tab) and press "
        "Generate under 'Generated access token' on its Settings tab. Such a token is "
        "short-lived (about four hours) and cannot be refreshed: use OAuth2 for lasting access."
    ),
}


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the Dropbox provider.

    :return: a one-element list holding the ``dropbox`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="dropbox",
            display_name="Dropbox",
            description="Folders and files in a Dropbox account, shared folders included.",
            auth_types=("oauth2", "bearer"),
            oauth2=OAuth2Settings(
                authorize_url="{endpoints.www}/oauth2/authorize",
                token_url="{endpoints.api}/oauth2/token",
                scopes=SCOPES,
                scope_separator=" ",
                token_auth="form",
                pkce=True,
                # Without it Dropbox issues a short-lived access token and no refresh token.
                authorize_params={"token_access_type": "offline"},
                revoke_url="{endpoints.api}/2/auth/token/revoke",
                revoke_method="POST",
                revoke_auth="bearer",
                # Dropbox's short-lived access tokens last four hours (expires_in 14400).
                default_token_lifetime=14400,
            ),
            endpoints={
                "www": "https://www.dropbox.com",
                "api": "https://api.dropboxapi.com",
                "content": "https://content.dropboxapi.com",
            },
            api_endpoint="api",
            # An RPC call without argument: POST with no body (and so no Content-Type), as
            # Dropbox's JavaScript SDK sends it.
            profile=ProfileLookup(
                "api",
                "/2/users/get_current_account",
                "account_id",
                email_field="email",
                name_field="name.display_name",
                method="POST",
                unauthorized_hint="Dropbox's get_current_account needs account_info.read",
            ),
            icon=Icon.from_package(__name__, "icon.svg"),
            services=(
                Service(
                    "files",
                    "Files",
                    description="Folders and files, with shared folders where they are mounted.",
                    browse=browse,
                    download=download,
                    search=search,
                    thumbnail=thumbnail,
                ),
            ),
            docs_url="https://www.dropbox.com/developers/documentation/http/documentation",
            auth_help=AUTH_HELP,
        )
    ]
