"""The `dropbox` provider for Integration Hub."""

from __future__ import annotations

from hub import hookimpl
from hub.providers import Icon, OAuth2Settings, Provider, Service

from .files import browse, download

#: The plugin API versions this plugin is written for (the hub refuses it outside them).
HUB_PLUGIN_API = ">=1.0,<2"


@hookimpl
def hub_register_providers() -> list[Provider]:
    return [
        Provider(
            name="dropbox",
            display_name="Dropbox",
            description="Files in Dropbox.",
            auth_types=("oauth2", "bearer"),
            oauth2=OAuth2Settings(
                authorize_url="{endpoints.login}/oauth/authorize",
                token_url="{endpoints.login}/oauth/token",
                scopes=("files.read",),
            ),
            endpoints={
                "api": "https://api.dropbox.example",
                "login": "https://login.dropbox.example",
            },
            api_endpoint="api",
            icon=Icon.from_package("hub_dropbox", "icon.svg"),
            services=(Service("files", "Files", browse=browse, download=download),),
        )
    ]
