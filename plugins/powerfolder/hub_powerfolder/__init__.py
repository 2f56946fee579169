"""The ``powerfolder`` provider: files on a self-hosted PowerFolder server.

Every URL hangs off the integration's required ``serverUrl`` setting: it is the ``server``
endpoint, and the OAuth2 URLs are templates on that endpoint (``"{endpoints.server}/oauth/allow"``)
that the hub fills from the integration's settings. An operator's ``HUB_POWERFOLDER_ENDPOINTS``
(``{"server": "https://pf.example.org"}``) or an integration's ``settings.endpoints`` therefore
moves the WebDAV calls, the folder API and the token requests together.

Tokens are requested the way the one public working client does it (Krassmus/PowerfolderPlugin,
``controllers/oauth.php`` and ``classes/OAuth.class.php``): a POST of a JSON body with
``"format": "json"`` to ``{serverUrl}/oauth/token``, for the code and for every refresh. Older
servers documented in PowerFolder's wiki take the code at ``{serverUrl}/oauth`` and refresh with
``GET {serverUrl}/oauth?grant_type=refresh_token&client_id=..&refresh_token=..``; the
``tokenPath`` and ``refreshMethod`` settings select that. Such a GET refresh carries the client
id alone: the hub never writes a client secret into a URL. Username and password (``basic``)
work as well.

The ``files`` service (:mod:`hub_powerfolder.files`) lists the top-level folders (WebDAV for a
bearer token, the folder API for username and password), then WebDAV collections, and downloads
by WebDAV ``GET``. ``hub powerfolder register-client`` (:mod:`hub_powerfolder.admin`) stores the
hub's OAuth client on a server, as an administrator.
"""

from __future__ import annotations

import click

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, Provider, Service, Setting
from hub_powerfolder import admin, files

#: The plugin API versions this plugin is written for (``hub.plugins.PLUGIN_API_VERSION``): the
#: hub refuses to load it under another major version rather than fail on first use.
HUB_PLUGIN_API = ">=1.0,<2"

SERVER = "{serverUrl}"


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the PowerFolder provider.

    :return: a one-element list holding the ``powerfolder`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="powerfolder",
            display_name="PowerFolder",
            description="Folders and files on a self-hosted PowerFolder server.",
            auth_types=("oauth2", "basic"),
            icon=Icon.from_package(__name__, "icon.svg"),
            oauth2=OAuth2Settings(
                # Through the endpoint, not {serverUrl} itself: an operator's
                # HUB_POWERFOLDER_ENDPOINTS (or an integration's settings.endpoints) then moves
                # the token requests together with the WebDAV calls, never one without the other.
                authorize_url="{endpoints.server}/oauth/allow",
                # tokenPath has a default, so the template always fills.
                token_url="{endpoints.server}{tokenPath}",
                # No default scopes: the server documents none, so scope is sent only if set.
                scopes=(),
                token_auth="json",
                # The working client asks for a JSON answer in every token request's body; on a
                # GET refresh the hub puts it in the query, next to the documented parameters.
                token_params={"format": "json"},
                pkce=False,
                # refresh_auth stays None: a POST refresh authenticates like the code exchange
                # (JSON body); a GET refresh sends the client id alone in the query, as the
                # wiki shows it, because the core never puts a client secret into a URL.
                refresh_method="POST",
                default_token_lifetime=86400,
            ),
            # The one endpoint every other URL derives from; it is the integration's server.
            endpoints={"server": SERVER},
            api_endpoint="server",
            settings=(
                Setting(
                    "serverUrl",
                    "Server URL",
                    type="url",
                    required=True,
                    help="the address of your PowerFolder server, e.g. https://pf.example.org",
                ),
                Setting(
                    "tokenPath",
                    "Token endpoint path",
                    type="choice",
                    choices=("/oauth/token", "/oauth"),
                    default="/oauth/token",
                    help="/oauth/token, as current servers and clients use it; /oauth for "
                    "older servers that follow the wiki",
                ),
                Setting(
                    "refreshMethod",
                    "How a refresh is requested",
                    type="choice",
                    choices=("POST", "GET"),
                    default="POST",
                    help="POST with a JSON body, as current servers expect; GET with query "
                    "parameters (client id, no secret) for older servers that follow the wiki",
                    overrides="oauth2.refresh_method",
                ),
            ),
            services=(
                Service(
                    "files",
                    "Files",
                    description="The folders shared with the account and the files in them.",
                    browse=files.browse,
                    download=files.download,
                ),
            ),
        )
    ]


@hookimpl
def hub_register_commands(cli: click.Group) -> None:
    """Add ``hub powerfolder register-client``: store the hub's OAuth client on a server.

    :param cli: the top-level ``hub`` click group.
    """
    cli.add_command(admin.powerfolder)
