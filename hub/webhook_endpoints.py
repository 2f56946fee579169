"""Webhook endpoints: who may register them, their URLs and secrets, tests and redeliveries.

An integration's endpoints are managed by those with ``manage`` access to it (whoever cannot
see it gets 404, a sharee with ``use`` or ``edit`` 403); hub-wide endpoints, which receive the
events of every integration, by administrators only — with an API token, one that holds the
``admin`` scope and is not limited to some integrations. Every change is audited.

An endpoint's URL passes the same checks as every provider URL (:func:`hub.netguard.check_url`
with ``HUB_ALLOW_PRIVATE_ADDRESSES``): https, and no loopback, private or link-local address
unless that setting allows it (and then plain http only to such an address). Its signing secret
is made by the hub, stored encrypted, and shown once: when the endpoint is made or its secret
replaced.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import peewee
from flask import current_app

from hub import access, audit, scopes, webhooks
from hub.addresses import origin
from hub.db import utcnow, write_transaction
from hub.errors import Forbidden, NotFound, ValidationError
from hub.models import Integration, Principal, User, WebhookDelivery, WebhookEndpoint
from hub.netguard import check_url

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: 256 random bits, prefixed so that it is recognised when it leaks."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def checked_url(url: str) -> str:
    """The URL normalised, if the hub may send to it (as for any provider URL)."""
    return check_url(url, "url", allow_private=current_app.config["ALLOW_PRIVATE_ADDRESSES"])


def checked_events(events: Iterable[str]) -> list[str]:
    """Event types, known and each once, in the documented order; at least one."""
    chosen = set()
    for event in events:
        if event not in webhooks.EVENT_TYPES:
            raise ValidationError(
                f"unknown event type {event!r}",
                fields={"events": "one or more of " + ", ".join(webhooks.EVENT_TYPES)},
            )
        chosen.add(event)
    if not chosen:
        raise ValidationError(
            "an endpoint needs at least one event type",
            fields={"events": "one or more of " + ", ".join(webhooks.EVENT_TYPES)},
        )
    return [event for event in webhooks.EVENT_TYPES if event in chosen]


# -- who may manage what ------------------------------------------------------------------------


def require_hub_wide(user: User) -> None:
    """Hub-wide endpoints are for administrators (403 for anyone else); an API token also needs
    the ``admin`` scope, and may not be limited to some integrations."""
    if not user.is_superuser:
        raise Forbidden("hub-wide webhooks are managed by administrators")
    scopes.require("admin")
    if scopes.calling_integrations() is not None:
        raise Forbidden("an API token limited to some integrations cannot manage hub-wide webhooks")


def integration_to_manage(user: User, ref: str | int) -> Integration:
    """The integration named ``ref`` if the caller manages it: 404 when they cannot see it,
    403 when they see it with less than ``manage``."""
    integration, _ = access.find(user, str(ref), need="manage")
    return integration


def find(user: User, webhook_id: int) -> WebhookEndpoint:
    """The endpoint ``webhook_id`` if the caller may manage it; 404 when they may not see it
    (403 for a sharee of its integration without ``manage``, or a token without ``admin``)."""
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == webhook_id)
    missing = NotFound(
        f"no webhook {webhook_id} that you can see", fields={"webhook_id": "unknown"}
    )
    if endpoint is None:
        raise missing
    if endpoint.integration_id is None:
        if not user.is_superuser or scopes.calling_integrations() is not None:
            raise missing
        scopes.require("admin")
        return endpoint
    try:
        endpoint.integration = integration_to_manage(user, endpoint.integration_id)
    except NotFound:
        raise missing from None
    return endpoint


def visible(user: User, integration: Integration | None = None) -> peewee.ModelSelect:
    """The endpoints the caller may manage (only ``integration``'s, when given): those of the
    integrations they manage, and the hub-wide ones for an administrator whose token (if any)
    holds ``admin`` and is not limited."""
    query = WebhookEndpoint.select()
    if integration is not None:
        return query.where(WebhookEndpoint.integration == integration.id)
    managed = access.managed(user).select(Integration.id)
    scope = WebhookEndpoint.integration.in_(managed)
    have = scopes.calling_scopes()
    if (
        user.is_superuser
        and (have is None or "admin" in have)
        and scopes.calling_integrations() is None
    ):
        scope |= WebhookEndpoint.integration.is_null()
    return query.where(scope)


def hub_wide() -> peewee.ModelSelect:
    """The hub-wide endpoints (for pages only administrators open)."""
    return WebhookEndpoint.select().where(WebhookEndpoint.integration.is_null())


# -- changes (audited) --------------------------------------------------------------------------


def _audit(action: str, user: User, endpoint: WebhookEndpoint, **details: Any) -> None:
    audit.record(
        action,
        actor=user.principal_id,
        target_type="webhook",
        target_id=endpoint.id,
        integration=endpoint.integration_id,
        # The URL's origin only: a receiver may carry a token in its path or query.
        details={"origin": origin(endpoint.url), **details},
    )


def create(
    user: User,
    integration: Integration | None,
    *,
    url: str,
    events: Iterable[str],
    description: str = "",
    active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (``integration`` None: hub-wide, checked by the caller with
    :func:`require_hub_wide`); the endpoint and its secret, which is never shown again."""
    url = checked_url(url)
    chosen = checked_events(events)
    secret = new_secret()
    with write_transaction():
        endpoint = WebhookEndpoint.create(
            integration=integration.id if integration is not None else None,
            url=url,
            events=chosen,
            description=description,
            active=active,
            created_by=user.principal_id,
        )
        endpoint.set_secret("secret", secret)
        endpoint.save()
        _audit("webhook.create", user, endpoint, events=chosen, active=active)
    endpoint.integration = integration
    return endpoint, secret


def update(user: User, endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, events, description or active flag (only the keys given)."""
    if "url" in changes:
        changes["url"] = checked_url(changes["url"])
    if "events" in changes:
        changes["events"] = checked_events(changes["events"])
    with write_transaction():
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.updated_at = utcnow()
        endpoint.save()
        _audit("webhook.update", user, endpoint, fields=sorted(changes))
    return endpoint


def rotate_secret(user: User, endpoint: WebhookEndpoint) -> str:
    """Replace the signing secret; the new one, shown this once. Deliveries not yet sent are
    signed with it."""
    secret = new_secret()
    with write_transaction():
        endpoint.set_secret("secret", secret)
        endpoint.updated_at = utcnow()
        endpoint.save()
        _audit("webhook.rotate_secret", user, endpoint)
    return secret


def delete(user: User, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its deliveries and their log."""
    with write_transaction():
        _audit("webhook.delete", user, endpoint)
        endpoint.delete_instance()


def send_test(user: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``ping`` for this endpoint alone (whatever events it asked for, active or not:
    the sender skips inactive endpoints until they are active again)."""
    integration = None
    if endpoint.integration_id is not None:
        integration = Integration.get_by_id(endpoint.integration_id)
    with write_transaction():
        event = webhooks.add(
            webhooks.PING,
            integration,
            {"webhookId": endpoint.id, "message": "a test event from the hub"},
            endpoints=[endpoint],
        )
        assert event is not None
        _audit("webhook.test", user, endpoint, eventId=event.id)
        return WebhookDelivery.get(WebhookDelivery.event == event.id)


def redeliver(user: User, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with a fresh window; it is sent on its
    own, outside its connection's order (the event may be long past)."""
    original = WebhookDelivery.get_or_none(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint == endpoint.id
    )
    if original is None:
        raise NotFound(
            f"webhook {endpoint.id} has no delivery {delivery_id}",
            fields={"delivery_id": "unknown"},
        )
    now = utcnow()
    with write_transaction():
        again = WebhookDelivery.create(
            event=original.event_id,
            endpoint=endpoint.id,
            ordering_key=None,
            next_attempt_at=now,
            deadline=now + webhooks.DELIVERY_WINDOW,
            redelivery_of=original.id,
            created_at=now,
        )
        _audit("webhook.redeliver", user, endpoint, delivery=original.id, redelivery=again.id)
    return again


def creator_name(endpoint: WebhookEndpoint) -> str | None:
    if endpoint.created_by_id is None:
        return None
    found = Principal.get_or_none(Principal.id == endpoint.created_by_id)
    return found.name if found is not None else None
