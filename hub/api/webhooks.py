"""``/api/webhooks``: outgoing webhooks — endpoints, their delivery log, tests and redeliveries.

An endpoint belongs to one integration (managed by those with ``manage`` access to it) or to
the whole hub (administrators). Its signing secret is in the answer that makes it (and in the
one that replaces it), never anywhere else.
"""

from __future__ import annotations

from typing import Any, Literal

import peewee
import pydantic
from flask import Blueprint, Response, current_app, jsonify

from hub import webhook_endpoints as endpoints
from hub import webhook_sender, webhooks
from hub.api.validation import ApiModel, PageQuery, body, page, query
from hub.auth import current, signed_in
from hub.db import isoformat
from hub.errors import ValidationError
from hub.ids import DatabaseId
from hub.models import (
    Integration,
    Principal,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from hub.scopes import needs

EventType = Literal[webhooks.EVENT_TYPES]  # type: ignore[valid-type]
Url = pydantic.Field(max_length=2048)
Description = pydantic.Field(default="", max_length=500)
Events = pydantic.Field(min_length=1, max_length=len(webhooks.EVENT_TYPES))
ATTEMPTS_SHOWN = 10  # of each delivery, the latest


class WebhookCreate(ApiModel):
    """A new endpoint: for an integration (its id or natural id), or hub-wide without one."""

    url: str = Url
    events: list[EventType] = Events
    description: str = Description
    active: bool = True
    integration: DatabaseId | str | None = pydantic.Field(default=None)


class WebhookPatch(ApiModel):
    url: str | None = pydantic.Field(default=None, max_length=2048)
    events: list[EventType] | None = pydantic.Field(
        default=None, min_length=1, max_length=len(webhooks.EVENT_TYPES)
    )
    description: str | None = pydantic.Field(default=None, max_length=500)
    active: bool | None = None


class WebhookQuery(PageQuery):
    """``limit``, ``cursor``, and an integration (id or natural id) to list the endpoints of."""

    integration: str | None = pydantic.Field(default=None, max_length=200)


class DeliveryQuery(PageQuery):
    status: Literal["pending", "delivered", "failed"] | None = None


def render(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """An endpoint as the API shows it; ``secret`` only in the answer that made it."""
    integration = None
    if endpoint.integration_id is not None:
        row = endpoint.integration
        integration = {"id": row.id, "naturalId": f"{row.owner.name}:{row.slug}"}
    data = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "active": endpoint.active,
        "scope": "hub" if integration is None else "integration",
        "integration": integration,
        "createdBy": endpoints.creator_name(endpoint),
        "createdAt": isoformat(endpoint.created_at),
        "updatedAt": isoformat(endpoint.updated_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def render_delivery(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    """A delivery with its latest attempts (status, latency, error: never a secret)."""
    return {
        "id": row.id,
        "eventId": row.event_id,
        "eventType": row.event.type,
        "status": row.status,
        "attempts": row.attempts,
        "nextAttemptAt": isoformat(row.next_attempt_at) if row.status == "pending" else None,
        "deadline": isoformat(row.deadline),
        "deliveredAt": isoformat(row.delivered_at),
        "lastStatusCode": row.last_status_code,
        "lastError": row.last_error,
        "redeliveryOf": row.redelivery_of,
        "createdAt": isoformat(row.created_at),
        "log": [
            {
                "attempt": a.number,
                "at": isoformat(a.at),
                "statusCode": a.status_code,
                "latencyMs": a.latency_ms,
                "error": a.error,
            }
            for a in attempts
        ],
    }


def render_deliveries(rows: list[WebhookDelivery]) -> list[dict[str, Any]]:
    """A page of deliveries with the latest :data:`ATTEMPTS_SHOWN` attempts of each."""
    log: dict[int, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        attempts = (
            WebhookAttempt.select()
            .where(WebhookAttempt.delivery.in_(list(log)))
            .order_by(WebhookAttempt.number.desc())
        )
        for attempt in attempts:
            shown = log[attempt.delivery_id]
            if len(shown) < ATTEMPTS_SHOWN:
                shown.append(attempt)
    return [render_delivery(row, log[row.id]) for row in rows]


def endpoints_page(params: WebhookQuery, rows: peewee.ModelSelect) -> dict[str, Any]:
    """One page of the endpoints ``rows`` selects, with their integrations' natural ids."""
    rows = (
        rows.select_extend(Integration, Principal)
        .join(Integration, peewee.JOIN.LEFT_OUTER)
        .join(Principal, peewee.JOIN.LEFT_OUTER, on=(Integration.owner == Principal.id))
    )
    return page(rows, WebhookEndpoint.id, params, render)


def deliveries_page(endpoint: WebhookEndpoint, params: DeliveryQuery) -> dict[str, Any]:
    """One page of an endpoint's deliveries, newest first, each with its latest attempts."""
    rows = (
        WebhookDelivery.select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent)
        .where(WebhookDelivery.endpoint == endpoint.id)
    )
    if params.status is not None:
        rows = rows.where(WebhookDelivery.status == params.status)
    return page(
        rows,
        WebhookDelivery.id,
        params,
        lambda row: render_deliveries([row])[0],
        newest_first=True,
        render_all=render_deliveries,
    )


def register(api: Blueprint) -> None:
    @api.get("/webhooks")
    @needs("webhooks:manage")
    @signed_in
    @query(WebhookQuery)
    def list_webhooks(params: WebhookQuery) -> Response:
        """The webhook endpoints you manage: of your integrations, and hub-wide ones (admins);
        ``integration`` lists one integration's (manage access)."""
        user = current()
        integration = None
        if params.integration is not None:
            integration = endpoints.integration_to_manage(user, params.integration)
        return jsonify(endpoints_page(params, endpoints.visible(user, integration)))

    @api.post("/webhooks")
    @needs("webhooks:manage")
    @signed_in
    @body(WebhookCreate)
    def create_webhook(payload: WebhookCreate) -> tuple[Response, int]:
        """Register an endpoint; the answer holds its signing secret, shown this once."""
        user = current()
        if payload.integration is None:
            endpoints.require_hub_wide(user)
            integration = None
        else:
            integration = endpoints.integration_to_manage(user, payload.integration)
        fields = payload.model_dump(exclude={"integration"})
        endpoint, secret = endpoints.create(user, integration, **fields)
        return jsonify(render(endpoint, secret=secret)), 201

    @api.get("/webhooks/<id:webhook_id>")
    @needs("webhooks:manage")
    @signed_in
    def get_webhook(webhook_id: int) -> Response:
        """One endpoint (never its secret)."""
        return jsonify(render(endpoints.find(current(), webhook_id)))

    @api.patch("/webhooks/<id:webhook_id>")
    @needs("webhooks:manage")
    @signed_in
    @body(WebhookPatch)
    def patch_webhook(webhook_id: int, payload: WebhookPatch) -> Response:
        """Change an endpoint's URL, events, description or active flag."""
        user = current()
        endpoint = endpoints.find(user, webhook_id)
        changes = payload.model_dump(exclude_unset=True)
        if not changes:
            raise ValidationError("nothing to change", fields={"body": "send at least one field"})
        nulls = sorted(name for name, value in changes.items() if value is None)
        if nulls:
            raise ValidationError(
                f"these cannot be null: {', '.join(nulls)}", fields=dict.fromkeys(nulls, "not null")
            )
        return jsonify(render(endpoints.update(user, endpoint, changes)))

    @api.delete("/webhooks/<id:webhook_id>")
    @needs("webhooks:manage")
    @signed_in
    def delete_webhook(webhook_id: int) -> tuple[str, int]:
        """Remove an endpoint, its pending deliveries and its delivery log."""
        user = current()
        endpoints.delete(user, endpoints.find(user, webhook_id))
        return "", 204

    @api.post("/webhooks/<id:webhook_id>/rotate-secret")
    @needs("webhooks:manage")
    @signed_in
    def rotate_webhook_secret(webhook_id: int) -> Response:
        """Replace the signing secret; the answer holds the new one, shown this once."""
        user = current()
        endpoint = endpoints.find(user, webhook_id)
        secret = endpoints.rotate_secret(user, endpoint)
        return jsonify(render(endpoint, secret=secret))

    @api.get("/webhooks/<id:webhook_id>/deliveries")
    @needs("webhooks:manage")
    @signed_in
    @query(DeliveryQuery)
    def list_webhook_deliveries(webhook_id: int, params: DeliveryQuery) -> Response:
        """The endpoint's deliveries, newest first: status, attempts with status code, latency
        and error; filter by ``status``."""
        endpoint = endpoints.find(current(), webhook_id)
        return jsonify(deliveries_page(endpoint, params))

    @api.post("/webhooks/<id:webhook_id>/test")
    @needs("webhooks:manage")
    @signed_in
    def test_webhook(webhook_id: int) -> tuple[Response, int]:
        """Queue a ``ping`` event for this endpoint now; 202 with its delivery."""
        user = current()
        endpoint = endpoints.find(user, webhook_id)
        delivery = endpoints.send_test(user, endpoint)
        webhook_sender.wake(current_app)
        return jsonify(render_deliveries([delivery])[0]), 202

    @api.post("/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver")
    @needs("webhooks:manage")
    @signed_in
    def redeliver_webhook(webhook_id: int, delivery_id: int) -> tuple[Response, int]:
        """Send a delivery's event again, as a new delivery; 202 with it."""
        user = current()
        endpoint = endpoints.find(user, webhook_id)
        delivery = endpoints.redeliver(user, endpoint, delivery_id)
        webhook_sender.wake(current_app)
        return jsonify(render_deliveries([delivery])[0]), 202
