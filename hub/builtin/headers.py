"""The header template variables every integration can use (DESIGN §6)."""

from __future__ import annotations

from hub import hookimpl
from hub.headers import HeaderContext, HeaderVariable


def _user_id(context: HeaderContext) -> str | None:
    return None if context.user_id is None else str(context.user_id)


@hookimpl(trylast=True)
def hub_register_header_variables() -> list[HeaderVariable]:
    return [
        HeaderVariable("user.email", "the signed-in user's email", lambda c: c.user_email),
        HeaderVariable("user.name", "the signed-in user's name", lambda c: c.user_name),
        HeaderVariable("user.id", "the signed-in user's numeric id", _user_id),
        HeaderVariable("tenant.id", "the hub's HUB_TENANT_ID", lambda c: c.tenant_id),
        HeaderVariable("integration.slug", "the integration's slug", lambda c: c.integration_slug),
        HeaderVariable(
            "integration.owner", "the integration owner's name", lambda c: c.integration_owner
        ),
        HeaderVariable(
            "connection.externalId",
            "the connected account's id at the provider",
            lambda c: c.connection_external_id,
        ),
    ]
