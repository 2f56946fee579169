"""The ``google`` provider: files in Google Drive, including shared drives.

Connections use OAuth2 with PKCE. Google only hands out a refresh token on a consent screen, so
every authorization asks for offline access and forces consent; scopes granted earlier are kept.
The default scopes include ``profile``, without which userinfo carries no name.
The hub runs the protocol from this declaration; the plugin brings the ``drive`` service's
browse and download operations (:mod:`hub_google.folders`, :mod:`hub_google.downloads`, with
native files exported by :mod:`hub_google.exports` and :mod:`hub_google.links`), search and the
"Shared with me", "Starred" and "Recent" views (:mod:`hub_google.finding`) and thumbnails
(:mod:`hub_google.thumbnails`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from hub import hookimpl
from hub.errors import ReauthRequired
from hub.providers import Icon, OAuth2Settings, ProfileLookup, Provider, Service, View
from hub_google import downloads, finding, folders, thumbnails

#: The hub plugin API versions this plugin works with (checked against
#: ``hub.plugins.PLUGIN_API_VERSION`` when the hub loads it).
HUB_PLUGIN_API = ">=1.0,<2"

REAUTH_HINT = (
    "Google ends a connection when access is removed in the Google account, when it has not "
    "been used for six months, and after 7 days while the app's OAuth consent screen is in "
    "testing."
)

Operation = TypeVar("Operation", bound=Callable[..., Any])


def explained(operation: Operation) -> Operation:
    """Wrap a service operation so that a lost grant says why Google may have ended it."""

    @functools.wraps(operation)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except ReauthRequired as exc:
            if REAUTH_HINT in exc.message:  # the core already told (OAuth2Settings.reauth_hint)
                raise
            raise ReauthRequired(
                f"{exc.message}. {REAUTH_HINT}", fields=exc.fields, headers=exc.headers
            ) from None

    return run  # type: ignore[return-value]


@hookimpl
def hub_register_providers() -> list[Provider]:
    """Declare the Google Drive provider.

    :return: a one-element list holding the ``google`` :class:`hub.providers.Provider`.
    """
    return [
        Provider(
            name="google",
            display_name="Google Drive",
            description="Files in My Drive and in the shared drives of a Google account.",
            auth_types=("oauth2",),
            icon=Icon.from_package(__name__, "icon.svg"),
            oauth2=OAuth2Settings(
                # Through endpoints, so HUB_GOOGLE_ENDPOINTS (or an integration's
                # settings.endpoints) moves them with the rest; authUri / tokenUri still win.
                authorize_url="{endpoints.accounts}/o/oauth2/v2/auth",
                token_url="{endpoints.oauth2}/token",
                # ``profile`` brings the account's name into userinfo; without it the name is
                # always empty.
                scopes=(
                    "openid",
                    "email",
                    "profile",
                    "https://www.googleapis.com/auth/drive.readonly",
                ),
                token_auth="form",
                pkce=True,
                authorize_params={
                    "access_type": "offline",
                    # Without a consent screen a reconnect brings no new refresh token.
                    "prompt": "consent",
                    "include_granted_scopes": "true",
                },
                # Under the revoke endpoint, so an integration's override of it takes effect.
                revoke_url="{endpoints.revoke}/revoke",
                revoke_method="POST",
                # Google's `iss` is its accounts origin; a moved accounts endpoint (a staging
                # server) is expected to send its own.
                issuer="{endpoints.accounts}",
                default_token_lifetime=3599,
                reauth_hint=REAUTH_HINT,
            ),
            endpoints={
                "accounts": "https://accounts.google.com",
                "oauth2": "https://oauth2.googleapis.com",
                "drive": "https://www.googleapis.com",
                "userinfo": "https://openidconnect.googleapis.com",
                # Its own name (not "oauth2"), as integrations already override it by this name.
                "revoke": "https://oauth2.googleapis.com",
            },
            api_endpoint="drive",
            profile=ProfileLookup(
                endpoint="userinfo",
                path="/v1/userinfo",
                id_field="sub",
                email_field="email",
                name_field="name",
                unauthorized_hint=(
                    "Google's userinfo needs the openid and email scopes (and profile for the "
                    "account's name): keep them in the integration's scope"
                ),
            ),
            services=(
                Service(
                    "drive",
                    "Drive",
                    description="My Drive, shared drives and files shared with you.",
                    browse=explained(folders.browse),
                    download=explained(downloads.download),
                    search=explained(finding.search),
                    views=tuple(
                        View(v.name, v.display_name, explained(v.browse), v.description)
                        for v in finding.VIEWS
                    ),
                    thumbnail=explained(thumbnails.thumbnail),
                ),
            ),
            docs_url="https://developers.google.com/drive/api",
        )
    ]
