"""``/api/audit``: the audit log, for administrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub import audit
from hub.api.validation import PageQuery, page, query
from hub.auth import superuser_only
from hub.db import isoformat
from hub.ids import DatabaseId
from hub.models import AuditEvent
from hub.scopes import needs


class AuditQuery(PageQuery):
    action: str | None = None
    actor: str | None = None
    integration: DatabaseId | None = None


def render(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": isoformat(event.at),
        "actor": event.actor.name if event.actor_id is not None else None,
        "action": event.action,
        "targetType": event.target_type,
        "targetId": event.target_id,
        "integrationId": event.integration_id,
        "details": event.details or {},
        "remoteAddr": event.remote_addr,
    }


def events_page(params: AuditQuery) -> dict[str, Any]:
    """One page of audit events, newest first (``{items, nextCursor}``)."""
    rows = audit.search(action=params.action, actor=params.actor, integration=params.integration)
    return page(rows, AuditEvent.id, params, render, newest_first=True)


def register(api: Blueprint) -> None:
    @api.get("/audit")
    @needs("admin")
    @superuser_only
    @query(AuditQuery)
    def list_audit(params: AuditQuery) -> Response:
        """Audit events, newest first; filter by action (prefix), actor or integration id."""
        return jsonify(events_page(params))
