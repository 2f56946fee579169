"""What an API token may do: scopes, and the integrations it is limited to.

A token made with scopes may call only the API routes whose scope it holds; one made with a list
of integrations reaches only those (any other is 404 to it, as if it did not exist, and lists leave
the others out). A token made without scopes — every token made before scopes existed — carries
all the rights of its user, as does a browser session.

Every route under ``/api/`` declares what it needs with :func:`needs`, right under its route
decorator::

    @api.get("/integrations/<ref>/services/<service>/items")
    @needs("data")
    @signed_in
    def list_items(...): ...

``hub.create_app`` refuses to start when an API route declares nothing (:func:`check_routes`), so a
new route cannot be left open to every token by forgetting it. Besides the scopes there are three
requirements that are not scopes: :data:`PUBLIC` (no sign-in at all: login, the OpenAPI document),
:data:`ANY_TOKEN` (any signed-in caller, whatever the token's scopes: who am I, revoke this token)
and :data:`ALL_RIGHTS` (a session or a token without scopes: the caller's sessions and tokens).

A scoped token is refused everywhere outside ``/api/`` (the web pages), except ``/metrics`` for an
``admin`` token: the pages are for people, and a page would be a way around the scopes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request

from hub.errors import Forbidden, ValidationError

F = TypeVar("F", bound=Callable[..., Any])

SCOPES: dict[str, str] = {
    "integrations:read": "see integrations, their services, shares, icons, connection status and "
    "the connections of those you manage; the providers, users and teams",
    "integrations:write": "create, change and delete integrations; share them; set their icons",
    "connections:write": "connect, disconnect and refresh connections; set a connection's metadata",
    "data": "browse, preview, download and call the provider through the proxy",
    "credentials:read": "read a connection's credentials where an integration allows it",
    "webhooks:manage": "register, change and delete webhooks; read their deliveries",
    "admin": "administration, for administrators: users, teams, provider clients, the audit log "
    "and metrics",
}

PUBLIC = "public"
ANY_TOKEN = "any"
ALL_RIGHTS = "all"
REQUIREMENTS = frozenset({PUBLIC, ANY_TOKEN, ALL_RIGHTS, *SCOPES})

ATTRIBUTE = "hub_scope"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"

    def __init__(self, message: str, *, scope: str) -> None:
        # RFC 6750 section 3: what a client library reads to know which scope to ask for.
        challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
        super().__init__(message, fields={"scope": scope}, headers={"WWW-Authenticate": challenge})
        self.scope = scope


def needs(requirement: str) -> Callable[[F], F]:
    """Declare what an API route needs of the calling token: a scope of :data:`SCOPES`, or
    :data:`PUBLIC`, :data:`ANY_TOKEN` or :data:`ALL_RIGHTS`."""
    if requirement not in REQUIREMENTS:
        raise ValueError(f"unknown scope {requirement!r}; known: {', '.join(sorted(REQUIREMENTS))}")

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, requirement)
        return view

    return mark


def requirement_of(view: Callable[..., Any]) -> str | None:
    return getattr(view, ATTRIBUTE, None)


def check_routes(app: Flask) -> None:
    """Refuse to start when an API route does not say what it needs."""
    missing = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        and requirement_of(app.view_functions[rule.endpoint]) is None
    )
    if missing:
        raise RuntimeError(
            "these API routes do not declare the scope they need (hub.scopes.needs): "
            + ", ".join(missing)
        )


def parse(values: Iterable[str], field: str = "scopes") -> list[str]:
    """Scope names given by a person or a program, checked and in a stable order; an unknown name
    is refused naming it and the known ones."""
    chosen = []
    for value in values:
        if not isinstance(value, str) or value not in SCOPES:
            raise ValidationError(
                f"unknown scope {value!r}",
                fields={field: "one or more of " + ", ".join(SCOPES)},
            )
        if value not in chosen:
            chosen.append(value)
    if not chosen:
        raise ValidationError(
            "a token with scopes needs at least one",
            fields={field: "one or more of " + ", ".join(SCOPES)},
        )
    return [name for name in SCOPES if name in chosen]


# -- the calling token ---------------------------------------------------------------------------


def calling_scopes() -> frozenset[str] | None:
    """The scopes of the token this request is authenticated with; None when the caller has all
    the rights of their user (a session, a token without scopes, or no request at all)."""
    if not has_request_context():
        return None
    token = g.get("api_token")
    if token is None or token.scopes is None:
        return None
    return frozenset(token.scopes)


def calling_integrations() -> frozenset[int] | None:
    """The integrations the calling token is limited to; None when it is not limited."""
    if not has_request_context():
        return None
    token = g.get("api_token")
    if token is None or not token.limited:
        return None
    if "hub_token_integrations" not in g:
        from hub.models import ApiTokenIntegration

        rows = ApiTokenIntegration.select(ApiTokenIntegration.integration).where(
            ApiTokenIntegration.token == token.id
        )
        g.hub_token_integrations = frozenset(row.integration_id for row in rows)
    return g.hub_token_integrations


def reaches(integration_id: int) -> bool:
    """Whether the calling token may reach this integration."""
    allowed = calling_integrations()
    return allowed is None or integration_id in allowed


def require(scope: str) -> None:
    """403 naming ``scope`` when the calling token lacks it (for checks inside a view, such as
    hub-wide webhooks needing ``admin`` besides ``webhooks:manage``)."""
    have = calling_scopes()
    if have is not None and scope not in have:
        raise InsufficientScope(
            f"this API token lacks the scope {scope} (it has {', '.join(sorted(have))})",
            scope=scope,
        )


def enforce() -> None:
    """Before each request: hold a scoped token to what the route declares."""
    if calling_scopes() is None:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if request.path.startswith("/api/") and view is not None:
        requirement = requirement_of(view)
    elif request.endpoint == "metrics":
        requirement = PUBLIC if current_app.config["METRICS"] else "admin"
    else:
        raise InsufficientScope(
            "an API token with scopes can call only the API (/api/...)", scope=ALL_RIGHTS
        )
    if requirement in (PUBLIC, ANY_TOKEN):
        return
    if requirement == ALL_RIGHTS or requirement is None:
        raise InsufficientScope(
            "this needs a token with all the rights of its user (one made without scopes) "
            "or a browser session",
            scope=ALL_RIGHTS,
        )
    require(requirement)


def check_subset(
    scopes: Collection[str] | None,
    integration_ids: Collection[int] | None,
) -> None:
    """A token made by a scoped or limited token may not reach further than the token making it."""
    have = calling_scopes()
    if have is not None:
        if scopes is None:
            raise InsufficientScope(
                "a token with scopes can only make tokens with some of its own scopes",
                scope=ALL_RIGHTS,
            )
        extra = sorted(set(scopes) - have)
        if extra:
            raise InsufficientScope(
                f"this API token cannot give scopes it lacks: {', '.join(extra)}", scope=extra[0]
            )
    limit = calling_integrations()
    if limit is not None and (integration_ids is None or not set(integration_ids) <= limit):
        raise Forbidden(
            "a token limited to some integrations can only make tokens limited to some of them",
            fields={"integrations": "some of the integrations of the token making it"},
        )
