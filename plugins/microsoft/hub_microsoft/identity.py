"""Who connected: ``GET {graph}/v1.0/me`` (Graph's user resource: ``id``, ``displayName``,
``mail``, ``userPrincipalName``). A personal account or a mailbox-less work account often has
no ``mail``; its ``userPrincipalName`` (the sign-in name) is shown instead."""

from __future__ import annotations

from hub.errors import Forbidden, UpstreamFailed
from hub.providers import Profile, ProfileRequest

FIELDS = "id,displayName,mail,userPrincipalName"


def identify(request: ProfileRequest) -> Profile:
    """The connected account, read with the new token.

    :raises Forbidden: when Graph refuses ``/me`` (``User.Read`` not granted).
    :raises UpstreamFailed: for an answer without a usable account.
    """
    answer = request.request(
        "GET", request.endpoints["graph"] + "/v1.0/me", params={"$select": FIELDS}
    )
    if answer.status_code in (401, 403):
        raise Forbidden(
            "Microsoft Graph refused to say who connected: the app needs the delegated "
            "permission User.Read (keep it in the integration's scopes)"
        )
    if answer.status_code != 200:
        raise UpstreamFailed(f"Microsoft Graph answered {answer.status_code} to /me")
    try:
        me = answer.json()
    except ValueError:
        raise UpstreamFailed("Microsoft Graph did not answer JSON to /me") from None
    if not isinstance(me, dict) or not isinstance(me.get("id"), str) or not me["id"]:
        raise UpstreamFailed("Microsoft Graph's /me named no account id")
    email = me.get("mail") or me.get("userPrincipalName")
    name = me.get("displayName")
    return Profile(
        external_id=me["id"],
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
    )
