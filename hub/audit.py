"""Audit events: who did what to which thing. Details never hold a secret."""

from __future__ import annotations

from typing import Any

import peewee
from flask import has_request_context, request

from hub.models import AuditEvent, Integration, Principal


def record(
    action: str,
    *,
    actor: Principal | int | None = None,
    target_type: str | None = None,
    target_id: object = None,
    integration: Integration | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event (inside the caller's transaction, so it commits with the change)."""
    return AuditEvent.create(
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        integration=integration,
        details=details or {},
        remote_addr=request.remote_addr if has_request_context() else None,
    )


def search(
    *, action: str | None = None, actor: str | None = None, integration: int | None = None
) -> peewee.ModelSelect:
    """Audit events with their actors, filtered by action prefix, actor name and integration id
    (unordered: the caller pages it)."""
    events = AuditEvent.select(AuditEvent, Principal).join(
        Principal, peewee.JOIN.LEFT_OUTER, on=(AuditEvent.actor == Principal.id)
    )
    if action:
        events = events.where(AuditEvent.action.startswith(action))
    if actor:
        events = events.where(Principal.name == actor)
    if integration is not None:
        events = events.where(AuditEvent.integration == integration)
    return events
