"""``/api/audit``: the audit log, for administrators."""

from __future__ import annotations

from typing import Any

import peewee
from flask import Blueprint, Response, jsonify

from hub.api.validation import PageQuery, page, query
from hub.auth import superuser_only
from hub.db import isoformat
from hub.models import AuditEvent, Principal


class AuditQuery(PageQuery):
    action: str | None = None
    actor: str | None = None
    integration: int | None = None


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


def register(api: Blueprint) -> None:
    @api.get("/audit")
    @superuser_only
    @query(AuditQuery)
    def list_audit(params: AuditQuery) -> Response:
        """Audit events, newest first; filter by action (prefix), actor or integration id."""
        rows = AuditEvent.select(AuditEvent, Principal).join(
            Principal, peewee.JOIN.LEFT_OUTER, on=(AuditEvent.actor == Principal.id)
        )
        if params.action:
            rows = rows.where(AuditEvent.action.startswith(params.action))
        if params.actor:
            rows = rows.where(Principal.name == params.actor)
        if params.integration is not None:
            rows = rows.where(AuditEvent.integration == params.integration)
        return jsonify(page(rows, AuditEvent.id, params, render, newest_first=True))
