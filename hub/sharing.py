"""Sharing an integration with users and teams at ``use``, ``edit`` or ``manage``."""

from __future__ import annotations

from hub import audit, webhooks
from hub.accounts import find_principal
from hub.db import write_transaction
from hub.errors import NotFound, ValidationError
from hub.models import ACCESS_LEVELS, Integration, Principal, Share, User


def principal_named(name: str) -> Principal:
    """The user or team called ``name``; 404 when there is none."""
    target = find_principal(name)
    if target is None:
        raise NotFound(f"no user or team named {name!r}", fields={"principal": "unknown"})
    return target


def shares_of(integration: Integration) -> list[Share]:
    """Who ``integration`` is shared with, by name (each share's principal loaded)."""
    return list(
        Share.select(Share, Principal)
        .join(Principal)
        .where(Share.integration == integration)
        .order_by(Principal.name)
    )


def set_share(actor: User, integration: Integration, target: Principal, access: str) -> Share:
    """Share with ``target`` at ``access``, or change the level of an existing share (audited)."""
    if access not in ACCESS_LEVELS:
        raise ValidationError(
            "unknown access level", fields={"access": f"one of {', '.join(ACCESS_LEVELS)}"}
        )
    if target.id == integration.owner_id:
        raise ValidationError(
            "the owner already has manage access", fields={"principal": "is the owner"}
        )
    with write_transaction():
        share = Share.get_or_none(integration=integration, principal=target)
        before = share.access if share else None
        if share is None:
            share = Share.create(integration=integration, principal=target, access=access)
        else:
            share.access = access
            share.save()
        audit.record(
            "share.set",
            actor=actor.principal_id,
            target_type=target.kind,
            target_id=target.name,
            integration=integration,
            details={"access": access, "before": before},
        )
        kind = "share.granted" if before is None else "share.changed"
        webhooks.share_event(kind, integration, target, access, before=before)
    share.principal = target
    return share


def remove_share(actor: User, integration: Integration, target: Principal) -> None:
    """Stop sharing with ``target`` (audited); 404 when it was not shared with them."""
    with write_transaction():
        deleted = (
            Share.delete()
            .where(Share.integration == integration, Share.principal == target)
            .execute()
        )
        if not deleted:
            raise NotFound(f"the integration is not shared with {target.name!r}")
        audit.record(
            "share.delete",
            actor=actor.principal_id,
            target_type=target.kind,
            target_id=target.name,
            integration=integration,
        )
        webhooks.share_event("share.removed", integration, target, None)
