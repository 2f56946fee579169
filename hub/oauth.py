"""The OAuth2 authorization-code flow for every provider, driven by its declaration.

oauthlib builds the authorization URL and the token requests and validates token responses;
the hub sends them itself (:mod:`hub.transport`) so that the token endpoint's client
authentication (form body, HTTP Basic, query string or JSON body), a GET refresh, and plain http
to an *allowed* private address are decided per provider and per request — never by switching
oauthlib's transport check off for the whole process.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from flask import current_app
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error, WebApplicationClient

from hub.addresses import OAuthUrls, effective_oauth2, endpoints_of, oauth_urls, redirect_uri
from hub.clients import check_destinations, config_prefix, hub_client
from hub.crypto import Secret
from hub.db import utcnow
from hub.errors import ConfigurationError, HubError, UpstreamFailed
from hub.models import Integration
from hub.netguard import check_url
from hub.providers import OAuth2Settings, Profile, ProfileLookup, ProfileRequest, Provider
from hub.transport import send

log = logging.getLogger(__name__)

STATE_BYTES = 32  # 256 bits
TRANSACTION_LIFETIME = dt.timedelta(minutes=10)


class TokenError(Exception):
    """The token endpoint answered with an OAuth error (``invalid_grant``, ...).

    ``description`` is the provider's own text: it may echo the request, secrets included, so
    it is never shown to users nor put in the exception's text (:func:`error_sentence`,
    :func:`redact`).
    """

    def __init__(self, error: str, description: str | None, status: int | None) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(safe_error_code(error))


# -- provider errors, as people see them (SECURITY 34) -----------------------------------------

_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
#: What an OAuth error code means, for the user in front of the page (RFC 6749 4.1.2.1, 5.2;
#: OpenID Connect Core 3.1.2.6).
ERROR_SENTENCES: Mapping[str, str] = MappingProxyType(
    {
        "access_denied": "access was declined at the provider",
        "invalid_request": "the provider found the request malformed",
        "invalid_client": "the provider did not accept the OAuth client (check its id and secret)",
        "invalid_grant": "the provider no longer accepts this grant (expired, used or revoked)",
        "unauthorized_client": "the OAuth client is not allowed to do this at the provider",
        "unsupported_grant_type": "the provider does not support this kind of grant",
        "unsupported_response_type": "the provider does not support this kind of sign-in",
        "invalid_scope": "the provider does not accept the requested scopes",
        "server_error": "the provider had an internal error",
        "temporarily_unavailable": "the provider is temporarily unavailable",
        "login_required": "signing in at the provider is required",
        "consent_required": "consent at the provider is required",
        "interaction_required": "the provider needs you to act in its pages",
    }
)


def safe_error_code(code: object) -> str:
    """The provider's error code if it looks like one, else ``provider_error``."""
    text = str(code) if code is not None else ""
    return text if _ERROR_CODE.match(text) else "provider_error"


def error_sentence(code: object) -> str:
    """``code (sentence)``: what a user is told of a provider's OAuth error — never the
    provider's own description."""
    safe = safe_error_code(code)
    return f"{safe} ({ERROR_SENTENCES.get(safe, 'the provider refused')})"


def redact(text: str | None, secrets: Iterable[str | None], limit: int = 1000) -> str | None:
    """``text`` with every occurrence of each secret (as sent, and as form- or URL-encoded)
    replaced by ``[redacted]``: for provider text kept for administrators."""
    if text is None:
        return None
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            text = text.replace(form, "[redacted]")
    return text[:limit]


@dataclass(frozen=True)
class OAuthClient:
    """Everything needed to run OAuth2 for one integration, with every default resolved."""

    provider: Provider
    settings: OAuth2Settings
    authorize_url: str
    token_url: str
    refresh_url: str
    revoke_url: str | None
    client_id: str
    client_secret: Secret | None
    scopes: tuple[str, ...]
    endpoints: dict[str, str]
    profile: ProfileLookup | None

    @property
    def name(self) -> str:
        return self.provider.display_name


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def resolve(provider: Provider, integration: Integration) -> OAuthClient:
    """The effective OAuth2 configuration; a clear error if anything needed is missing, or if
    the hub's own client would be sent somewhere it may not go (:mod:`hub.clients`)."""
    oauth2, profile = effective_oauth2(provider, integration)
    urls = oauth_urls(provider, integration)
    client_id, client_secret = client_credentials(provider, integration, urls)
    declared = provider.oauth2.token_auth if provider.oauth2 else None
    in_url = "get" in (oauth2.token_auth, oauth2.effective_refresh_auth)
    if in_url and declared != "get" and not integration.client_id:
        # The hub's own client goes in a URL only to a provider that declares it must.
        raise ConfigurationError(
            f"the hub's OAuth client for {provider.display_name} is never sent in a URL: "
            "give the integration its own clientId and clientSecret to use tokenAuth get",
            fields={"settings.tokenAuth": "get needs the integration's own client"},
            code="client_not_allowed",
        )
    scopes = tuple(integration.scope.split()) if integration.scope else oauth2.scopes
    return OAuthClient(
        provider=provider,
        settings=oauth2,
        authorize_url=urls.authorize,
        token_url=urls.token,
        refresh_url=urls.refresh,
        revoke_url=urls.revoke,
        client_id=client_id,
        client_secret=client_secret,
        scopes=scopes,
        endpoints=endpoints_of(provider, integration),
        profile=profile,
    )


def client_credentials(
    provider: Provider, integration: Integration, urls: OAuthUrls
) -> tuple[str, Secret | None]:
    """The integration's own client, else the hub-wide one (``HUB_<PROVIDER>_CLIENT_ID/SECRET``,
    else the one an administrator stored) when ``urls`` may receive it; none at all is a clear
    error before any redirect."""
    if integration.client_id:
        return integration.client_id, integration.get_secret("client_secret")
    client = hub_client(provider)
    if client is None:
        prefix = config_prefix(provider)
        raise ConfigurationError(
            f"no OAuth client is configured for {provider.display_name}: set clientId on the "
            f"integration, HUB_{prefix}_CLIENT_ID / HUB_{prefix}_CLIENT_SECRET, or store one with "
            f"PUT /api/providers/{provider.name}/credentials",
            code="client_not_configured",
        )
    check_destinations(provider, integration, urls, client.approved_origins)
    return client.client_id, client.client_secret


# -- authorization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    code_verifier: str | None


def authorization(client: OAuthClient) -> Authorization:
    """A fresh authorization URL with its ``state`` and PKCE verifier (S256, never plain)."""
    state = secrets.token_urlsafe(STATE_BYTES)
    params: dict[str, Any] = dict(client.settings.authorize_params)
    verifier = None
    if client.settings.pkce:
        verifier = secrets.token_urlsafe(64)
        challenge = hashlib.sha256(verifier.encode("ascii")).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(challenge).decode().rstrip("=")
        params["code_challenge_method"] = "S256"
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri(),
        "state": state,
    }
    scope = client.settings.scope_separator.join(client.scopes)
    if scope:
        query["scope"] = scope
    query.update(params)
    # The hub checks the address itself (http only for allowed private addresses): oauthlib's
    # own check would refuse every http URL, or need switching off for the whole process.
    check_url(
        client.authorize_url, "authUri", allow_private=current_app.config["ALLOW_PRIVATE_ADDRESSES"]
    )
    url = add_params_to_uri(client.authorize_url, list(query.items()))
    return Authorization(url=url, state=state, code_verifier=verifier)


# -- token endpoint --------------------------------------------------------------------------


def exchange_code(client: OAuthClient, code: str, code_verifier: str | None) -> dict[str, Any]:
    """Trade an authorization code for tokens."""
    extra: dict[str, Any] = {}
    if code_verifier:
        extra["code_verifier"] = code_verifier
    body = WebApplicationClient(client.client_id).prepare_request_body(
        code=code, redirect_uri=redirect_uri(), include_client_id=False, **extra
    )
    return _token_request(client, client.token_url, body, "POST", client.settings.token_auth)


def refresh(client: OAuthClient, refresh_token: Secret) -> dict[str, Any]:
    """Trade a refresh token for new tokens, as the provider wants it (POST or GET)."""
    body = WebApplicationClient(client.client_id).prepare_refresh_body(
        refresh_token=refresh_token.reveal()
    )
    return _token_request(
        client,
        client.refresh_url,
        body,
        client.settings.refresh_method,
        client.settings.effective_refresh_auth,
    )


def client_token(client: OAuthClient) -> dict[str, Any]:
    """A token for the client itself (RFC 6749 §4.4, ``grant_type=client_credentials``): no
    user, no refresh token; the client authenticates as the provider declares (form, basic,
    JSON), as for every other token request."""
    scope = client.settings.scope_separator.join(client.scopes)
    body = BackendApplicationClient(client.client_id).prepare_request_body(
        scope=scope or None, include_client_id=False
    )
    return _token_request(client, client.token_url, body, "POST", client.settings.token_auth)


def _token_request(
    client: OAuthClient, url: str, body: str, method: str, auth_mode: str
) -> dict[str, Any]:
    params = dict(_form_pairs(body))
    params.update(client.settings.token_params)
    credentials = {"client_id": client.client_id}
    if client.client_secret is not None:
        credentials["client_secret"] = client.client_secret.reveal()
    kwargs: dict[str, Any] = {"headers": {"Accept": "application/json"}}
    if auth_mode == "get":
        # Cozy's token_mode "get": everything in the query, the secret too (see TokenAuth).
        method = "GET"
        params.update(credentials)
    elif auth_mode == "basic":
        kwargs["auth"] = _basic(client)
    elif auth_mode == "query":
        # RFC 6749 §2.3.1: client credentials never go in a URL, which proxies and server logs
        # keep. The query identifies the client; a provider that also wants its secret is
        # declared with `basic`, `form` or `json`.
        url = _with_query(url, {"client_id": client.client_id})
    else:
        params.update(credentials)
    if method == "GET":
        url = _with_query(url, params)
    elif auth_mode == "json":
        kwargs["json"] = params
    else:
        kwargs["data"] = params
    response = send(method, url, provider=client.name, **kwargs)
    return parse_token_response(client, response.status_code, response.headers, response.text)


def parse_token_response(
    client: OAuthClient, status: int, headers: Any, text: str
) -> dict[str, Any]:
    """Validate a token endpoint answer; :class:`TokenError` for OAuth errors, else
    :class:`UpstreamFailed` for anything that is not a usable token response."""
    content_type = headers.get("Content-Type", "")
    try:
        data = json.loads(text)
    except ValueError:
        kind = (
            "an HTML page" if "html" in content_type or text.lstrip().startswith("<") else "no JSON"
        )
        raise UpstreamFailed(
            f"{client.name}'s token endpoint answered {status} with {kind} instead of a token"
        ) from None
    if not isinstance(data, dict):
        raise UpstreamFailed(
            f"{client.name}'s token endpoint answered a JSON {type(data).__name__}"
        )
    if "error" in data:
        raise TokenError(str(data["error"]), _text(data.get("error_description")), status)
    if status >= 400:
        raise UpstreamFailed(f"{client.name}'s token endpoint answered {status}")
    try:
        token = WebApplicationClient(client.client_id).parse_request_body_response(json.dumps(data))
    except OAuth2Error as exc:
        raise TokenError(exc.error, exc.description, status) from None
    except (ValueError, Warning) as exc:
        raise UpstreamFailed(f"{client.name}'s token answer is not usable: {exc}") from None
    return dict(token)


def expires_at(client: OAuthClient, token: dict[str, Any]) -> dt.datetime | None:
    """When the access token expires: ``expires_in``, else the provider's default lifetime."""
    lifetime = token.get("expires_in")
    try:
        seconds = int(lifetime) if lifetime is not None else client.settings.default_token_lifetime
    except (TypeError, ValueError):
        seconds = client.settings.default_token_lifetime
    return None if seconds is None else utcnow() + dt.timedelta(seconds=seconds)


# -- profile and revocation ------------------------------------------------------------------


#: Token-response fields a provider's identity function never sees: the credentials themselves.
TOKEN_CREDENTIALS = frozenset({"access_token", "refresh_token", "id_token"})


def lookup_profile(client: OAuthClient, token: Mapping[str, Any]) -> Profile:
    """Who connected, as the provider's :class:`ProfileLookup` says to read it: a call with the
    new token, the token response itself, or the provider's own function."""
    lookup = client.profile
    if lookup is None:
        return Profile(None, None, None)
    access_token = Secret(str(token["access_token"]))
    if lookup.function is not None:
        return _profile_from_function(client, lookup, token, access_token)
    data = token if lookup.from_token else _profile_answer(client, lookup, access_token)
    where = "token response" if lookup.from_token else "profile"
    external_id = _dotted(data, lookup.id_field)
    if external_id is None:
        raise UpstreamFailed(f"{client.name}'s {where} has no {lookup.id_field}")
    return Profile(
        external_id=str(external_id),
        email=_text(_dotted(data, lookup.email_field)),
        name=_text(_dotted(data, lookup.name_field)),
    )


def _profile_answer(client: OAuthClient, lookup: ProfileLookup, access_token: Secret) -> Any:
    assert lookup.endpoint is not None and lookup.path is not None
    kwargs: dict[str, Any] = {} if lookup.body is None else {"json": lookup.body}
    response = _send_as(
        client,
        access_token,
        lookup.method,
        client.endpoints[lookup.endpoint] + lookup.path,
        **kwargs,
    )
    if response.status_code == 401:
        hint = lookup.unauthorized_hint or "the token was refused"
        raise UpstreamFailed(f"{client.name} refused the profile lookup (401): {hint}")
    if response.status_code >= 400:
        raise UpstreamFailed(f"{client.name}'s profile lookup answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise UpstreamFailed(f"{client.name}'s profile lookup did not answer JSON") from None


def _profile_from_function(
    client: OAuthClient, lookup: ProfileLookup, token: Mapping[str, Any], access_token: Secret
) -> Profile:
    assert lookup.function is not None
    request = ProfileRequest(
        token={k: v for k, v in token.items() if k not in TOKEN_CREDENTIALS},
        endpoints=dict(client.endpoints),
        request=lambda method, url, **kwargs: _send_as(client, access_token, method, url, **kwargs),
    )
    try:
        profile = lookup.function(request)
    except HubError:
        raise
    except Exception as exc:  # the plugin's fault: say whose, keep the hub up
        log.exception("%s: the identity function failed", client.name)
        raise UpstreamFailed(
            f"{client.name}'s identity lookup failed ({type(exc).__name__})"
        ) from None
    if not isinstance(profile, Profile) or not profile.external_id:
        raise UpstreamFailed(
            f"{client.name}'s identity lookup returned no account id (a hub.providers.Profile "
            "with external_id)"
        )
    return Profile(str(profile.external_id), _text(profile.email), _text(profile.name))


def _send_as(
    client: OAuthClient, access_token: Secret, method: str, url: str, **kwargs: Any
) -> Any:
    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    headers["Authorization"] = f"Bearer {access_token.reveal()}"
    return send(method, url, provider=client.name, headers=headers, **kwargs)


def revoke(client: OAuthClient, token: Secret, hint: str) -> bool:
    """Revoke a token at the provider as it declares: RFC 7009 (the token in a form body, the
    client authenticated), or the token as the bearer of a body-less POST or DELETE."""
    if client.revoke_url is None:
        return False
    method = client.settings.revoke_method
    if client.settings.effective_revoke_auth == "bearer":
        response = send(
            method,
            client.revoke_url,
            provider=client.name,
            headers={"Authorization": f"Bearer {token.reveal()}"},
        )
    else:
        data = {"token": token.reveal(), "token_type_hint": hint}
        kwargs: dict[str, Any] = {"data": data}
        if client.settings.token_auth == "basic":
            kwargs["auth"] = _basic(client)
        else:
            data["client_id"] = client.client_id
            if client.client_secret is not None:
                data["client_secret"] = client.client_secret.reveal()
        response = send("POST", client.revoke_url, provider=client.name, **kwargs)
    return response.status_code < 400


# -- helpers -----------------------------------------------------------------------------------


def _basic(client: OAuthClient) -> tuple[str, str]:
    # RFC 6749 2.3.1: both parts form-urlencoded before Basic encoding.
    secret = client.client_secret.reveal() if client.client_secret else ""
    return quote_plus(client.client_id), quote_plus(secret)


def _form_pairs(body: str) -> list[tuple[str, str]]:
    return parse_qsl(body, keep_blank_values=True)


def _with_query(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _dotted(data: Any, path: str | None) -> Any:
    if not path:
        return None
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:1000]
