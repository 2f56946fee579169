"""The ``microsoft`` provider: OneDrive and SharePoint files through Microsoft Graph.

Connections use OAuth2 (authorization code with PKCE) against the Microsoft identity platform
v2 of the integration's ``tenant``; refresh tokens rotate and the hub keeps each new one. Graph
has no token revocation endpoint, so disconnecting only forgets the tokens (a user removes the
app's access at https://myapps.microsoft.com or https://account.live.com/consent/Manage).
The hub runs the protocol from this declaration; the plugin brings browsing
(:mod:`hub_microsoft.folders`), downloads that follow Graph's redirect without the token
(:mod:`hub_microsoft.downloads`), OneDrive's search, "Shared with me" and "Recent" views and
thumbnails (:mod:`hub_microsoft.finding`), the identity lookup (:mod:`hub_microsoft.identity`)
and the sentences for refused refreshes (:mod:`hub_microsoft.refusals`).
"""

from __future__ import annotations

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service, Setting
from hub_microsoft import downloads, finding, folders
from hub_microsoft.identity import identify
from hub_microsoft.refusals import explain_refusal
from hub_microsoft.tenants import TENANT

#: The hub plugin API versions this plugin works with.
HUB_PLUGIN_API = ">=1.0,<2"

SCOPES = ("offline_access", "User.Read", "Files.Read.All", "Sites.Read.All")
REAUTH_HINT = (
    "Microsoft ends a connection after 90 days unused, when the password changes, when consent "
    "is withdrawn, or when the organisation starts requiring multi-factor sign-in."
)
AUTH_HELP = {
    "oauth2": (
        "Register an app in the Microsoft Entra admin center (App registrations > New "
        "registration; accounts in any organizational directory and personal Microsoft "
        "accounts, unless a tenant is set). Add a Web redirect URI equal to the hub's public "
        "URL followed by /oauth2/callback, create a client secret under Certificates & "
        "secrets, and add the delegated Microsoft Graph permissions offline_access, User.Read, "
        "Files.Read.All and Sites.Read.All."
    ),
    "bearer": (
        "Paste a Microsoft Graph access token that has Files.Read.All and Sites.Read.All, "
        "e.g. from Graph Explorer; it lasts about an hour and is not refreshed."
    ),
}


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the Microsoft provider.

    :return: a one-element list holding the ``microsoft`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="microsoft",
            display_name="Microsoft OneDrive and SharePoint",
            description="Files in OneDrive, shared with the user, and in SharePoint sites.",
            auth_types=("oauth2", "bearer"),
            icon=Icon.from_package(__name__, "icon.svg"),
            oauth2=OAuth2Settings(
                # Through the login endpoint, so HUB_MICROSOFT_ENDPOINTS (a national cloud, a
                # stand-in server) moves them with the rest; authUri / tokenUri still win.
                authorize_url="{endpoints.login}/{tenant}/oauth2/v2.0/authorize",
                token_url="{endpoints.login}/{tenant}/oauth2/v2.0/token",
                scopes=SCOPES,
                token_auth="form",
                pkce=True,
                # Graph has no revocation endpoint for these tokens.
                revoke_url=None,
                default_token_lifetime=3600,
                reauth_hint=REAUTH_HINT,
                # AADSTS50076/50079 (multi-factor, conditional access) come as
                # interaction_required: the grant cannot be used without the user either.
                reauth_errors=("interaction_required",),
                explain_refusal=explain_refusal,
            ),
            endpoints={
                "login": "https://login.microsoftonline.com",
                "graph": "https://graph.microsoft.com",
                # Whose origin download redirects may also go to (see hub_microsoft.downloads).
                "downloads": "https://files.1drv.com",
            },
            api_endpoint="graph",
            profile=ProfileLookup(function=identify),
            settings=(
                Setting(
                    "tenant",
                    "Tenant",
                    default="common",
                    help=(
                        "common (work, school and personal accounts), organizations, consumers, "
                        "or your directory's id or domain (contoso.onmicrosoft.com)"
                    ),
                    destination=True,
                    # A segment of the login URLs' path: only the shapes Microsoft documents.
                    pattern=TENANT.pattern,
                ),
            ),
            services=(
                Service(
                    "onedrive",
                    "OneDrive",
                    description="The user's OneDrive, and the items others shared with them.",
                    browse=folders.onedrive_browse,
                    download=downloads.onedrive_download,
                    search=finding.search,
                    views=finding.VIEWS,
                    thumbnail=finding.thumbnail,
                ),
                Service(
                    "sharepoint",
                    "SharePoint",
                    description="Document libraries of the SharePoint sites the user can reach.",
                    browse=folders.sharepoint_browse,
                    download=downloads.sharepoint_download,
                ),
            ),
            docs_url="https://learn.microsoft.com/graph/api/resources/onedrive",
            auth_help=AUTH_HELP,
        )
    ]
