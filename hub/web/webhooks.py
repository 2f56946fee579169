"""Webhook pages: an integration's endpoints (for those who manage it), the hub-wide ones (for
administrators), and one endpoint's recent deliveries. The forms call the same functions and
request schemas as ``/api/webhooks``; a new endpoint's secret is shown on the page that answers
its creation, once."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from werkzeug.wrappers import Response

from hub import webhook_endpoints as endpoints
from hub import webhook_sender, webhooks
from hub.api.validation import parse
from hub.api.webhooks import (
    DeliveryQuery,
    WebhookCreate,
    WebhookQuery,
    deliveries_page,
    endpoints_page,
    render,
)
from hub.errors import HubError
from hub.models import Integration, User, WebhookEndpoint
from hub.web import admin_page, done, failed, form_errors, page, render_page, web

EVENT_CHOICES = [(event, event) for event in webhooks.EVENT_TYPES]


def _list_page(
    user: User, integration: Integration | None, status: int = 200, **context: Any
) -> Any:
    params = parse(WebhookQuery, {"limit": 200}, where="query")
    rows = endpoints.hub_wide() if integration is None else endpoints.visible(user, integration)
    listing = endpoints_page(params, rows)["items"]
    context.setdefault("errors", {})
    context.setdefault("values", {})
    html = render_page(
        "webhooks.html",
        integration=integration,
        hooks=listing,
        event_choices=EVENT_CHOICES,
        **context,
    )
    return (html, status) if status != 200 else html


def _create(user: User, integration: Integration | None) -> Any:
    values = {
        "url": request.form.get("url", "").strip(),
        "events": request.form.getlist("events"),
        "description": request.form.get("description", "").strip(),
    }
    try:
        payload = parse(WebhookCreate, values)
        fields = payload.model_dump(exclude={"integration"})
        endpoint, secret = endpoints.create(user, integration, **fields)
    except HubError as exc:
        return _list_page(user, integration, exc.status, errors=form_errors(exc), values=values)
    return _list_page(user, integration, created=render(endpoint, secret=secret))


@web.get("/integrations/<ref>/webhooks", endpoint="integration_webhooks")
@page
def integration_webhooks(user: User, ref: str) -> Any:
    return _list_page(user, endpoints.integration_to_manage(user, ref))


@web.post("/integrations/<ref>/webhooks")
@page
def create_integration_webhook(user: User, ref: str) -> Any:
    """Register an endpoint for the integration; the page shows its secret once."""
    return _create(user, endpoints.integration_to_manage(user, ref))


@web.get("/admin/webhooks")
@admin_page
def admin_webhooks(user: User) -> Any:
    return _list_page(user, None)


@web.post("/admin/webhooks")
@admin_page
def create_hub_webhook(user: User) -> Any:
    """Register a hub-wide endpoint; the page shows its secret once."""
    endpoints.require_hub_wide(user)
    return _create(user, None)


# -- one endpoint -----------------------------------------------------------------------------


def _back(endpoint: WebhookEndpoint) -> tuple[str, dict[str, Any]]:
    """The list page the endpoint belongs on."""
    if endpoint.integration_id is None:
        return "web.admin_webhooks", {}
    return "web.integration_webhooks", {"ref": endpoint.integration_id}


@web.get("/webhooks/<id:webhook_id>", endpoint="webhook")
@page
def webhook_page(user: User, webhook_id: int) -> str:
    endpoint = endpoints.find(user, webhook_id)
    params = parse(DeliveryQuery, {"cursor": request.args.get("cursor") or None}, where="query")
    listing = deliveries_page(endpoint, params)
    more_url = None
    if listing["nextCursor"]:
        more_url = url_for("web.webhook", webhook_id=webhook_id, cursor=listing["nextCursor"])
    endpoint_name, values = _back(endpoint)
    return render_page(
        "webhook.html",
        hook=render(endpoint),
        deliveries=listing["items"],
        more_url=more_url,
        back_url=url_for(endpoint_name, **values),
    )


@web.post("/webhooks/<id:webhook_id>/test")
@page
def test_webhook_page(user: User, webhook_id: int) -> Response:
    endpoint = endpoints.find(user, webhook_id)
    endpoints.send_test(user, endpoint)
    webhook_sender.wake(current_app)
    return done("A test event is on its way.", "web.webhook", webhook_id=webhook_id)


@web.post("/webhooks/<id:webhook_id>/active")
@page
def toggle_webhook(user: User, webhook_id: int) -> Response:
    endpoint = endpoints.find(user, webhook_id)
    active = request.form.get("active") == "1"
    endpoints.update(user, endpoint, {"active": active})
    name, values = _back(endpoint)
    return done(f"The endpoint is {'active' if active else 'paused'}.", name, **values)


@web.post("/webhooks/<id:webhook_id>/delete")
@page
def delete_webhook_page(user: User, webhook_id: int) -> Response:
    endpoint = endpoints.find(user, webhook_id)
    name, values = _back(endpoint)
    endpoints.delete(user, endpoint)
    return done("The endpoint is deleted.", name, **values)


@web.post("/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver")
@page
def redeliver_page(user: User, webhook_id: int, delivery_id: int) -> Response:
    endpoint = endpoints.find(user, webhook_id)
    try:
        endpoints.redeliver(user, endpoint, delivery_id)
    except HubError as exc:
        return failed(exc, "web.webhook", webhook_id=webhook_id)
    webhook_sender.wake(current_app)
    return done("The event is sent again.", "web.webhook", webhook_id=webhook_id)
