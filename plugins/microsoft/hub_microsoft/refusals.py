"""What Microsoft's token endpoint means when it refuses a refresh, in a sentence for the user.

The identity platform answers ``invalid_grant`` or ``interaction_required`` with an
``AADSTS<number>`` code inside ``error_description`` (Microsoft Entra's error-code reference,
learn.microsoft.com/entra/identity-platform/reference-error-codes; PROVIDERS.md). Only the
code is read: the description's free text may change and is never shown (it holds trace ids).
"""

from __future__ import annotations

import re

AADSTS = re.compile(r"\bAADSTS(\d{4,7})\b")

#: By AADSTS code, what happened and what the user does about it.
SENTENCES: dict[str, str] = {
    "70008": "The Microsoft sign-in expired after a long time unused: connect again.",
    "700082": "The Microsoft sign-in expired after 90 days unused: connect again.",
    "700084": "The Microsoft sign-in reached its fixed lifetime: connect again.",
    "50173": "The Microsoft account's password was changed: connect again with the new one.",
    "50133": "The Microsoft account's password was changed or reset: connect again.",
    "65001": (
        "The permission given to this app was withdrawn, or never granted, in the Microsoft "
        "account or by the organisation's administrator: connect again and consent."
    ),
    "50076": (
        "The organisation now requires multi-factor authentication for this app: connect "
        "again in a browser and complete the second step."
    ),
    "50079": (
        "The organisation requires this account to register for multi-factor authentication: "
        "connect again in a browser to set it up."
    ),
    "50078": "The multi-factor sign-in expired: connect again in a browser.",
    "53003": "A conditional-access policy of the organisation blocks this sign-in.",
    "70043": (
        "The organisation's conditional-access policy asks users to sign in again after a "
        "set time: connect again."
    ),
    "50057": "The Microsoft account is disabled.",
    "50053": "The Microsoft account is locked after too many failed sign-ins.",
}

GENERIC = {
    "interaction_required": (
        "Microsoft needs the user to sign in again interactively (multi-factor authentication "
        "or a conditional-access policy of the organisation): connect again in a browser."
    ),
    "consent_required": "Microsoft needs the user's consent again: connect again.",
}


def explain_refusal(error: str, description: str | None) -> str | None:
    """A sentence for a refused refresh, by the ``AADSTS`` code in ``description``, else by
    ``error``; ``None`` when there is nothing more to say than the error code.

    :param error: the token endpoint's ``error`` (``invalid_grant``, ``interaction_required``).
    :param description: its ``error_description``, which holds ``AADSTS<code>: ...``.
    """
    found = AADSTS.search(description or "")
    if found and found.group(1) in SENTENCES:
        return f"{SENTENCES[found.group(1)]} (AADSTS{found.group(1)})"
    return GENERIC.get(error)
