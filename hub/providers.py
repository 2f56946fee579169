"""Provider declarations: what a plugin returns from ``hub_register_providers()``.

A provider is plain data (frozen dataclasses) that the core validates when the plugin loads.

URLs are templates. ``{name}`` is filled from the integration's setting ``name`` (or the setting's
declared default) — e.g. ``"{serverUrl}/oauth/allow"`` for a self-hosted server — and
``{endpoints.name}`` from the base URL of the named endpoint, after the integration's
``settings.endpoints`` overrides. Endpoint URLs themselves may use settings, not other endpoints.

A :class:`Setting` may *override* a part of the declaration (``overrides="oauth2.refresh_method"``),
so one provider serves server versions that differ in a detail.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from hub.headers import header_name_problem

AuthType = Literal["oauth2", "apikey", "basic", "bearer"]
TokenAuth = Literal["form", "basic", "query", "json", "get"]
RefreshMethod = Literal["POST", "GET"]
AUTH_TYPES: tuple[str, ...] = ("oauth2", "apikey", "basic", "bearer")
TOKEN_AUTH_MODES: tuple[str, ...] = ("form", "basic", "query", "json", "get")
REFRESH_METHODS: tuple[str, ...] = ("POST", "GET")
REVOKE_METHODS: tuple[str, ...] = ("POST", "DELETE")
REVOKE_AUTH_MODES: tuple[str, ...] = ("client", "bearer")
SETTING_TYPES: tuple[str, ...] = ("string", "url", "boolean", "integer", "choice", "header")

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ICON_TYPES = ("image/svg+xml", "image/png", "image/jpeg", "image/webp")


@dataclass(frozen=True)
class Icon:
    """A provider's default icon. Bundled icons are trusted files of the plugin itself."""

    data: bytes
    media_type: str = "image/svg+xml"

    @classmethod
    def from_package(cls, package: str, filename: str) -> Icon:
        """Read ``filename`` shipped inside ``package`` (type from the extension)."""
        data = resources.files(package).joinpath(filename).read_bytes()
        extension = filename.rsplit(".", 1)[-1].lower()
        media_type = {
            "svg": "image/svg+xml",
            "png": "image/png",
            "jpg": "image/jpeg",
            "jpeg": "image/jpeg",
            "webp": "image/webp",
        }.get(extension, "application/octet-stream")
        return cls(data, media_type)


@dataclass(frozen=True)
class OAuth2Settings:
    """How the OAuth2 authorization-code flow runs for a provider.

    ``authorize_url`` / ``token_url`` may be ``None`` when every integration brings its own
    (the generic ``custom`` provider). ``token_auth`` is how the client authenticates at the
    token endpoint: ``form`` (client_id/secret in the form body), ``basic`` (HTTP Basic),
    ``query`` (the client_id alone in the query string: a secret never goes in a URL),
    ``json`` (a JSON body instead of a form) or ``get`` (Cozy's ``token_mode: get``: the code
    exchange and the refresh are GET requests with every parameter, the client secret included,
    in the query string — which the provider's logs and proxies keep: declare it only for a
    provider that accepts nothing else; the hub never writes such a URL to its own logs).
    """

    authorize_url: str | None
    token_url: str | None
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    token_auth: TokenAuth = "form"
    pkce: bool = True
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    token_params: Mapping[str, str] = field(default_factory=dict)
    refresh_url: str | None = None  # default: token_url
    refresh_method: RefreshMethod = "POST"
    refresh_auth: TokenAuth | None = None  # default: token_auth
    revoke_url: str | None = None  # None: the provider has no revocation
    revoke_method: Literal["POST", "DELETE"] = "POST"
    # How the token to revoke is presented: ``client`` (RFC 7009: the token in a form body, the
    # client authenticated as at the token endpoint) or ``bearer`` (the token as the request's
    # bearer credential, no body: Dropbox's ``POST /2/auth/token/revoke``, Infomaniak's
    # ``DELETE /token``). None: ``bearer`` for DELETE, ``client`` for POST.
    revoke_auth: Literal["client", "bearer"] | None = None
    issuer: str | None = None  # expected ``iss`` on the callback (RFC 9207)
    # The authorization server always sends ``iss`` (RFC 9207's
    # authorization_response_iss_parameter_supported): a callback without it is refused.
    iss_parameter_supported: bool = False
    default_token_lifetime: int | None = 3600  # seconds, when ``expires_in`` is missing
    reauth_hint: str | None = (
        None  # why this provider ends grants, told to users who must reconnect
    )
    # Token-endpoint ``error`` codes that, besides ``invalid_grant``, ``refresh_token_revoked``
    # and ``unauthorized_client``, mean the grant is gone (Microsoft's ``interaction_required``).
    reauth_errors: tuple[str, ...] = ()
    # ``(error, error_description) -> sentence | None``: why the provider refused a refresh, in
    # the plugin's own words (by an AADSTS code, say). The description may echo the request:
    # return a fixed sentence, never the description itself.
    explain_refusal: Callable[[str, str | None], str | None] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "authorize_params", "token_params")

    @property
    def effective_revoke_auth(self) -> str:
        """How the token is presented when revoked: as declared, else by the method."""
        if self.revoke_auth is not None:
            return self.revoke_auth
        return "bearer" if self.revoke_method == "DELETE" else "client"

    @property
    def effective_refresh_auth(self) -> TokenAuth:
        """How the client authenticates on refresh: as declared, else as at the token endpoint —
        except that a GET refresh, having no body, identifies the client in the query (its
        client_id only: the secret is not sent, as it would be written into a URL)."""
        if self.refresh_auth is not None:
            return self.refresh_auth
        if self.refresh_method == "GET" and self.token_auth != "basic":
            return "query"
        return self.token_auth


@dataclass(frozen=True)
class Profile:
    """Who connected: the account at the provider (``external_id`` is required to connect)."""

    external_id: str | None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ProfileRequest:
    """What a provider's own identity function (``ProfileLookup.function``) is given.

    ``token`` is the token endpoint's answer without its credentials (``access_token``,
    ``refresh_token``, ``id_token`` removed: what is left, such as ``account_id`` or
    ``scope``). ``request(method, url, **kwargs)`` sends a request with the new token as a
    bearer, through the hub's transport (addresses checked, timeouts, no redirect followed) and
    returns the response whatever its status. ``endpoints`` are the integration's resolved
    endpoint URLs.
    """

    token: Mapping[str, Any]
    endpoints: Mapping[str, str]
    request: Callable[..., Any]


@dataclass(frozen=True)
class ProfileLookup:
    """Where the connected account's identity is read after connecting, in one of three ways.

    - **A call** (``endpoint`` and ``path``): ``{method} {endpoint base}{path}`` with the new
      token as a bearer, ``body`` sent as JSON when given (a ``POST`` such as Dropbox's
      ``users/get_current_account`` takes ``None``: no body).
    - **The token response** (``from_token=True``): the fields are read from what the token
      endpoint answered (Dropbox's ``account_id``, Infomaniak's ``user_id``); nothing is called.
    - **A function** (``function``): called with a :class:`ProfileRequest`, returns a
      :class:`Profile` (raise a :mod:`hub.errors` error to refuse the connection).

    ``id_field``, ``email_field`` and ``name_field`` are dotted paths into the JSON answer (or
    the token response): ``"data.id"``. ``unauthorized_hint`` explains a 401 to the user.
    """

    endpoint: str | None = None
    path: str | None = None
    id_field: str = "id"
    email_field: str | None = None
    name_field: str | None = None
    unauthorized_hint: str | None = None
    method: Literal["GET", "POST"] = "GET"
    body: Any = None
    from_token: bool = False
    function: Callable[[ProfileRequest], Profile] | None = None


SETTING_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")
# What a setting may override, and the setting type (and, for choices, the values) it needs.
OVERRIDABLE: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "oauth2.token_auth": ("choice", TOKEN_AUTH_MODES),
        "oauth2.refresh_method": ("choice", REFRESH_METHODS),
        "oauth2.refresh_auth": ("choice", TOKEN_AUTH_MODES),
        "oauth2.revoke_method": ("choice", REVOKE_METHODS),
        "oauth2.revoke_auth": ("choice", REVOKE_AUTH_MODES),
        "oauth2.pkce": ("boolean", ()),
        "oauth2.iss_parameter_supported": ("boolean", ()),
        "oauth2.issuer": ("url", ()),
        "oauth2.revoke_url": ("url", ()),
        "profile.path": ("choice", ()),
    }
)


@dataclass(frozen=True)
class Setting:
    """A provider-specific integration setting (kept in the integration's ``settings``).

    ``type`` is one of :data:`SETTING_TYPES`; ``"header"`` is a header name the plugin sends
    (checked like header templates: an HTTP token, never ``Authorization``, ``Cookie``,
    ``Host``, ``Content-Length``, ``Transfer-Encoding``...).

    ``overrides`` names a part of the declaration that this setting's value replaces for the
    integration (one of :data:`OVERRIDABLE`), e.g. ``"oauth2.refresh_method"``.

    ``destination`` marks a setting whose value decides where requests and credentials go and
    that the core cannot see in a URL template — say, a host your code builds URLs from. The
    core already treats URL settings, settings used in endpoint or OAuth2 URL templates and
    overrides of URLs so; changing any of them needs ``manage`` access, and connections made
    for the old address are never sent to the new one.
    """

    name: str
    label: str
    type: str = "string"
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    overrides: str | None = None
    destination: bool = False
    # A regular expression the whole value of a ``string`` setting must match (a tenant id that
    # goes into a URL path): checked when the integration is saved, the ``help`` in the error.
    pattern: str | None = None


@dataclass(frozen=True)
class View:
    """A named entry point of a service, browsed like a folder: "Shared with me", "Recent",
    "Starred". ``browse(ctx, cursor, limit) -> Page`` returns one page of it; its folders open
    with the service's own ``browse``, its files download with its ``download``."""

    name: str
    display_name: str
    browse: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class Service:
    """A browsable part of a provider (``kdrive``, ``mail``, ``drive``, ``files``).

    ``browse`` and ``download`` are the operations the data browser calls; a service that does
    not declare them is listed but cannot be browsed yet. The others are optional
    (:mod:`hub.items` gives their signatures): ``search`` finds items by a query, ``views`` are
    named entry points, ``thumbnail`` returns a small image of an item.
    """

    name: str
    display_name: str
    description: str = ""
    browse: Callable[..., Any] | None = None
    download: Callable[..., Any] | None = None
    search: Callable[..., Any] | None = None
    views: tuple[View, ...] = ()
    thumbnail: Callable[..., Any] | None = None

    def view(self, name: str) -> View | None:
        """The view called ``name``, or ``None``."""
        return next((v for v in self.views if v.name == name), None)


@dataclass(frozen=True)
class Provider:
    """One provider, as returned (in a list) from ``hub_register_providers()``."""

    name: str
    display_name: str
    auth_types: tuple[AuthType, ...]
    description: str = ""
    icon: Icon | None = None
    oauth2: OAuth2Settings | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    api_endpoint: str | None = None  # the endpoint that is the default ``apiBaseUri``
    profile: ProfileLookup | None = None
    services: tuple[Service, ...] = ()
    settings: tuple[Setting, ...] = ()
    docs_url: str | None = None
    # What a user needs to know to authenticate one way, by auth type: where to create a token
    # and which scopes to tick. Shown on the integration form and where credentials are entered.
    auth_help: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self, "endpoints", "auth_help")

    def service(self, name: str) -> Service | None:
        """The service called ``name``, or ``None``."""
        return next((s for s in self.services if s.name == name), None)

    def setting(self, name: str) -> Setting | None:
        """The declared setting called ``name``, or ``None``."""
        return next((s for s in self.settings if s.name == name), None)


def _freeze(instance: object, *names: str) -> None:
    for name in names:
        value = getattr(instance, name)
        if isinstance(value, Mapping) and not isinstance(value, MappingProxyType):
            object.__setattr__(instance, name, MappingProxyType(dict(value)))


class _TemplateFormatter(string.Formatter):
    """Looks ``{endpoints.api}`` up as one key: no attribute access, no indexing."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        return self.get_value(field_name, args, kwargs), field_name


_formatter = _TemplateFormatter()


def render_url(template: str, values: Mapping[str, Any]) -> str:
    """Fill a URL template; a missing value raises ``KeyError`` naming the placeholder."""
    return _formatter.vformat(template, (), values)


def url_placeholders(url: str) -> list[str]:
    """The ``{names}`` a URL template needs (settings, or ``endpoints.<name>``)."""
    return [name for _, name, _, _ in string.Formatter().parse(url) if name]


class ProviderDeclarationError(ValueError):
    """A provider declaration is invalid; the message names the field."""

    def __init__(self, provider: str, field_name: str, problem: str) -> None:
        self.provider = provider
        self.field = field_name
        super().__init__(f"provider {provider!r}: {field_name}: {problem}")


def validate_provider(declaration: object) -> Provider:
    """Check a declaration; raise :class:`ProviderDeclarationError` at the first fault."""
    if not isinstance(declaration, Provider):
        raise ProviderDeclarationError(
            "?", "declaration", f"expected hub.providers.Provider, got {type(declaration).__name__}"
        )
    p = declaration
    name = p.name if isinstance(p.name, str) else repr(p.name)

    def fail(field_name: str, problem: str) -> None:
        raise ProviderDeclarationError(name, field_name, problem)

    if not isinstance(p.name, str) or not NAME_PATTERN.match(p.name):
        fail("name", "must match [a-z][a-z0-9_-]{0,31}")
    if not isinstance(p.display_name, str) or not p.display_name.strip():
        fail("display_name", "must be a non-empty string")
    if not isinstance(p.auth_types, tuple) or not p.auth_types:
        fail("auth_types", f"must be a non-empty tuple of {AUTH_TYPES}")
    for auth_type in p.auth_types:
        if auth_type not in AUTH_TYPES:
            fail("auth_types", f"unknown auth type {auth_type!r}; known: {', '.join(AUTH_TYPES)}")
    if p.icon is not None and (
        not isinstance(p.icon, Icon) or p.icon.media_type not in ICON_TYPES or not p.icon.data
    ):
        fail("icon", f"must be a non-empty hub.providers.Icon of type {', '.join(ICON_TYPES)}")
    setting_names = _validate_settings(p, fail)
    if not isinstance(p.endpoints, Mapping):
        fail("endpoints", "must be a mapping of name to base URL")
    for endpoint, url in p.endpoints.items():
        if not isinstance(endpoint, str) or not NAME_PATTERN.match(endpoint):
            fail("endpoints", f"endpoint name {endpoint!r} must match [a-z][a-z0-9_-]*")
        _check_url(url, f"endpoints.{endpoint}", setting_names, p, fail)
    known = setting_names | {f"endpoints.{e}" for e in p.endpoints}
    for kind, text in p.auth_help.items():
        if kind not in p.auth_types:
            fail("auth_help", f"{kind!r} is not one of the provider's auth_types")
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            fail(f"auth_help.{kind}", "must be a sentence of at most 1000 characters")
    if p.api_endpoint is not None and p.api_endpoint not in p.endpoints:
        fail("api_endpoint", f"{p.api_endpoint!r} is not one of the declared endpoints")
    if "oauth2" in p.auth_types:
        if not isinstance(p.oauth2, OAuth2Settings):
            fail("oauth2", "auth type 'oauth2' needs an OAuth2Settings")
        _validate_oauth2(p.oauth2, known, p, fail)
    elif p.oauth2 is not None:
        fail("oauth2", "OAuth2 settings given but 'oauth2' is not among auth_types")
    if p.profile is not None:
        _validate_profile(p.profile, p, fail)
    for setting in p.settings:
        where = f"settings.{setting.name}.overrides"
        if setting.overrides == "profile.path" and (p.profile is None or p.profile.path is None):
            fail(where, "the provider declares no profile lookup by a call")
        if setting.overrides and setting.overrides.startswith("oauth2."):
            if p.oauth2 is None:
                fail(where, "the provider declares no OAuth2 settings")
            attr = setting.overrides.removeprefix("oauth2.")
            # Every value the setting can take must still give valid OAuth2 settings.
            values = {"choice": setting.choices, "boolean": (True, False)}.get(setting.type, ())
            for value in values:
                _validate_oauth2(replace(p.oauth2, **{attr: value}), known, p, fail)
    _validate_services(p, fail)
    return p


def _validate_settings(p: Provider, fail: Callable[[str, str], None]) -> set[str]:
    names: set[str] = set()
    for setting in p.settings:
        if not isinstance(setting, Setting):
            fail("settings", "every setting must be a hub.providers.Setting")
        where = f"settings.{setting.name}"
        if not isinstance(setting.name, str) or not SETTING_NAME.match(setting.name):
            fail("settings", f"setting name {setting.name!r} must match [a-zA-Z][a-zA-Z0-9_]*")
        if setting.name in names or setting.name == "endpoints":
            fail("settings", f"setting {setting.name!r} is declared twice or reserved")
        if setting.type not in SETTING_TYPES:
            fail(f"{where}.type", f"must be one of {', '.join(SETTING_TYPES)}")
        if setting.type == "choice":
            if not setting.choices:
                fail(f"{where}.choices", "a choice setting needs its choices")
            if setting.default is not None and setting.default not in setting.choices:
                fail(f"{where}.default", f"{setting.default!r} is not one of the choices")
        if setting.type == "header" and setting.default is not None:
            problem = header_name_problem(setting.default)
            if problem is not None:
                fail(f"{where}.default", problem)
        if setting.overrides is not None:
            _validate_override(setting, where, fail)
        if setting.pattern is not None:
            _validate_pattern(setting, where, fail)
        names.add(setting.name)
    targets = [s.overrides for s in p.settings if s.overrides]
    for target in set(targets):
        if targets.count(target) > 1:
            fail("settings", f"more than one setting overrides {target}")
    return names


def _validate_pattern(setting: Setting, where: str, fail: Callable[[str, str], None]) -> None:
    if setting.type != "string":
        fail(f"{where}.pattern", "only a string setting takes a pattern")
    try:
        compiled = re.compile(setting.pattern or "")
    except (re.error, TypeError) as exc:
        fail(f"{where}.pattern", f"is not a regular expression: {exc}")
        return
    if setting.default is not None and not compiled.fullmatch(str(setting.default)):
        fail(f"{where}.default", f"{setting.default!r} does not match the pattern")


def _validate_override(setting: Setting, where: str, fail: Callable[[str, str], None]) -> None:
    if setting.overrides not in OVERRIDABLE:
        fail(f"{where}.overrides", f"must be one of {', '.join(sorted(OVERRIDABLE))}")
    kind, allowed = OVERRIDABLE[setting.overrides]
    if setting.type != kind:
        fail(f"{where}.type", f"a setting that overrides {setting.overrides} must be a {kind}")
    for choice in setting.choices:
        if allowed and choice not in allowed:
            fail(f"{where}.choices", f"{choice!r} is not one of {', '.join(allowed)}")
        if setting.overrides == "profile.path" and not str(choice).startswith("/"):
            fail(f"{where}.choices", f"{choice!r} must start with '/'")


def _validate_oauth2(
    o: OAuth2Settings, known: set[str], p: Provider, fail: Callable[[str, str], None]
) -> None:
    for attr in ("authorize_url", "token_url", "refresh_url", "revoke_url", "issuer"):
        value = getattr(o, attr)
        if value is not None:
            _check_url(value, f"oauth2.{attr}", known, p, fail)
    if o.token_auth not in TOKEN_AUTH_MODES:
        fail("oauth2.token_auth", f"must be one of {', '.join(TOKEN_AUTH_MODES)}")
    if o.refresh_auth is not None and o.refresh_auth not in TOKEN_AUTH_MODES:
        fail("oauth2.refresh_auth", f"must be one of {', '.join(TOKEN_AUTH_MODES)}")
    if o.refresh_method not in REFRESH_METHODS:
        fail("oauth2.refresh_method", f"must be one of {', '.join(REFRESH_METHODS)}")
    if o.refresh_method == "GET" and o.effective_refresh_auth in ("form", "json"):
        fail("oauth2.refresh_auth", "a GET refresh has no body: use 'query' or 'basic'")
    if o.revoke_method not in REVOKE_METHODS:
        fail("oauth2.revoke_method", f"must be one of {', '.join(REVOKE_METHODS)}")
    if o.revoke_auth is not None and o.revoke_auth not in REVOKE_AUTH_MODES:
        fail("oauth2.revoke_auth", f"must be one of {', '.join(REVOKE_AUTH_MODES)}")
    if o.revoke_method == "DELETE" and o.effective_revoke_auth == "client":
        fail("oauth2.revoke_auth", "a DELETE revocation has no body: use 'bearer'")
    if not isinstance(o.scopes, tuple) or not all(isinstance(s, str) and s for s in o.scopes):
        fail("oauth2.scopes", "must be a tuple of non-empty strings")
    if not isinstance(o.reauth_errors, tuple) or not all(
        isinstance(e, str) and e for e in o.reauth_errors
    ):
        fail("oauth2.reauth_errors", "must be a tuple of error codes")
    if o.explain_refusal is not None and not callable(o.explain_refusal):
        fail("oauth2.explain_refusal", "must be callable")
    if o.default_token_lifetime is not None and (
        not isinstance(o.default_token_lifetime, int) or o.default_token_lifetime <= 0
    ):
        fail("oauth2.default_token_lifetime", "must be a positive number of seconds or None")
    for attr in ("authorize_params", "token_params"):
        params = getattr(o, attr)
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            fail(f"oauth2.{attr}", "must map strings to strings")


def _validate_services(p: Provider, fail: Callable[[str, str], None]) -> None:
    seen: set[str] = set()
    for service in p.services:
        if not isinstance(service, Service):
            fail("services", "every service must be a hub.providers.Service")
        if not NAME_PATTERN.match(service.name):
            fail("services", f"service name {service.name!r} must match [a-z][a-z0-9_-]*")
        if service.name in seen:
            fail("services", f"service {service.name!r} is declared twice")
        seen.add(service.name)
        for operation in ("browse", "download", "search", "thumbnail"):
            value = getattr(service, operation)
            if value is not None and not callable(value):
                fail(f"services.{service.name}.{operation}", "must be callable")
        _validate_views(service, fail)


def _validate_views(service: Service, fail: Callable[[str, str], None]) -> None:
    where = f"services.{service.name}.views"
    if not isinstance(service.views, tuple):
        fail(where, "must be a tuple of hub.providers.View")
    names: set[str] = set()
    for view in service.views:
        if not isinstance(view, View):
            fail(where, "every view must be a hub.providers.View")
        if not NAME_PATTERN.match(view.name):
            fail(where, f"view name {view.name!r} must match [a-z][a-z0-9_-]*")
        if view.name in names:
            fail(where, f"view {view.name!r} is declared twice")
        names.add(view.name)
        if not callable(view.browse):
            fail(f"{where}.{view.name}.browse", "must be callable")


def _validate_profile(profile: Any, p: Provider, fail: Callable[[str, str], Any]) -> None:
    if not isinstance(profile, ProfileLookup):
        fail("profile", "must be a hub.providers.ProfileLookup")
    ways = [
        name
        for name, chosen in (
            (
                "a call (endpoint and path)",
                profile.endpoint is not None or profile.path is not None,
            ),
            ("from_token", profile.from_token),
            ("function", profile.function is not None),
        )
        if chosen
    ]
    if len(ways) != 1:
        fail(
            "profile",
            "declare exactly one way to read the identity: a call (endpoint and path), "
            f"from_token=True or a function; got {', '.join(ways) or 'none'}",
        )
    if profile.function is not None and not callable(profile.function):
        fail("profile.function", "must be callable")
    if not profile.id_field:
        fail("profile.id_field", "must name the field holding the account id")
    if profile.endpoint is None and profile.path is None:
        return
    if profile.endpoint not in p.endpoints:
        fail("profile.endpoint", f"{profile.endpoint!r} is not one of the declared endpoints")
    if not isinstance(profile.path, str) or not profile.path.startswith("/"):
        fail("profile.path", "must start with '/'")
    if profile.method not in ("GET", "POST"):
        fail("profile.method", f"must be 'GET' or 'POST', not {profile.method!r}")
    if profile.body is not None and profile.method != "POST":
        fail("profile.body", "a body is sent only with method 'POST'")


def _check_url(
    url: object, field_name: str, known: set[str], p: Provider, fail: Callable[[str, str], None]
) -> None:
    if not isinstance(url, str):
        fail(field_name, "must be a URL string")
        return
    try:
        placeholders = url_placeholders(url)
        render_url(url, {name: "x" for name in placeholders})
    except (ValueError, KeyError, IndexError):
        fail(field_name, f"{url!r} has a malformed {{placeholder}}")
        return
    for placeholder in placeholders:
        if placeholder not in known:
            fail(field_name, f"{{{placeholder}}} is neither a declared setting nor an endpoint")
        setting = p.setting(placeholder)
        if setting is not None and not setting.required and setting.default is None:
            fail(
                field_name, f"{{{placeholder}}} is a setting that is neither required nor defaulted"
            )
    # The scheme and host come either literally or from a URL-valued placeholder at the start.
    if url.startswith("{"):
        head = placeholders[0]
        setting = p.setting(head)
        if not (head.startswith("endpoints.") or (setting is not None and setting.type == "url")):
            fail(field_name, f"{url!r} must start with http(s):// or a URL setting or endpoint")
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        fail(field_name, f"{url!r} is not an absolute http(s) URL")
