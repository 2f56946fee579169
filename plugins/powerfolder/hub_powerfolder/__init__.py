"""The ``powerfolder`` provider: files on a self-hosted PowerFolder server.

Every URL hangs off the integration's required ``serverUrl`` setting: the declared URLs are
templates such as ``"{serverUrl}/oauth/allow"`` that the hub fills from the integration's
settings. The server's OAuth2 differs from the usual flow in two ways that the declaration
states: the code is exchanged with a JSON body, and the documented refresh is a GET with query
parameters. Both vary between server versions: the token URL is ``"{serverUrl}{tokenPath}"``,
so the ``tokenPath`` setting picks the path, and the ``refreshMethod`` setting overrides
``oauth2.refresh_method`` (a POST refresh then authenticates like the token request, with a JSON
body). Username and password (``basic``) work as well.

The ``files`` service (:mod:`hub_powerfolder.files`) lists the account's folders, then WebDAV
collections, and downloads by WebDAV ``GET``. ``hub powerfolder register-client``
(:mod:`hub_powerfolder.admin`) stores the hub's OAuth client on a server, as an administrator.
"""

from __future__ import annotations

import click

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, Provider, Service, Setting
from hub_powerfolder import admin, files

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
                authorize_url=f"{SERVER}/oauth/allow",
                # tokenPath has a default, so the template always fills.
                token_url=SERVER + "{tokenPath}",
                # No default scopes: the server documents none, so scope is sent only if set.
                scopes=(),
                token_auth="json",
                pkce=False,
                # refresh_auth stays None: a GET refresh authenticates in the query string, and
                # a POST refresh (refreshMethod setting) like the token request, with JSON.
                refresh_method="GET",
                default_token_lifetime=86400,
            ),
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
                    choices=("/oauth", "/oauth/token"),
                    default="/oauth",
                    help="/oauth as documented; /oauth/token on servers that current clients use",
                ),
                Setting(
                    "refreshMethod",
                    "How a refresh is requested",
                    type="choice",
                    choices=("GET", "POST"),
                    default="GET",
                    help="GET with query parameters as documented, or POST with a JSON body",
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
