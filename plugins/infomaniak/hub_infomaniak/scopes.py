"""Infomaniak's scope names, and what to tell a user whose token lacks one.

Infomaniak names its scopes ``user_info`` (the account profile), ``drive`` (kDrive) and
``workspace:mail`` (Mail); ``workspace:calendar``, ``workspace:contact`` and ``kchat`` exist too.
There is no ``kdrive`` or ``mail`` scope: an authorization request naming one is refused.

A personal API token (Manager → API tokens) is the way that reaches kDrive and Mail for a third
party: it carries exactly the scopes ticked when it was made. OAuth applications created in the
Manager may receive identity-only tokens that kDrive and Mail refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# What a connection asks for by default: the profile, kDrive and Mail.
DEFAULT_SCOPES = ("user_info", "drive", "workspace:mail")
# ``user_email`` too: a token recorded in kDrive's desktop client's tests was granted it.
KNOWN_SCOPES = frozenset(
    {*DEFAULT_SCOPES, "workspace:calendar", "workspace:contact", "kchat", "user_email"}
)
# Names an older declaration used; kept only to say what replaces them.
REPLACED_SCOPES = {"kdrive": "drive", "mail": "workspace:mail"}
# The scope each service's calls need.
SERVICE_SCOPES = {"kdrive": "drive", "mail": "workspace:mail"}
TOKEN_PAGE = "https://manager.infomaniak.com/v3/ng/accounts/token/list"
TOKEN_ADVICE = (
    f"create a personal API token at {TOKEN_PAGE} with the scopes "
    f"{', '.join(DEFAULT_SCOPES)} ticked and connect with it"
)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """The names in ``scopes`` that Infomaniak does not know, in their order.

    :param scopes: scope names, e.g. an integration's ``scope`` split on spaces.
    :return: the unknown ones (``kdrive``, ``mail``, typos); empty when all are known.
    """
    return [scope for scope in scopes if scope not in KNOWN_SCOPES]


@dataclass(frozen=True)
class ScopeNeed:
    """What a call needs, and what the connection has, to explain a refusal.

    :param scope: the scope the service's calls need (``drive``, ``workspace:mail``), if any.
    :param granted: the scope string an OAuth connection was granted, when known.
    :param requested: the integration's own ``scope`` (what the hub asks for), when set.
    """

    scope: str | None = None
    granted: str | None = None
    requested: str | None = None

    def advice(self, named: Iterable[str] = ()) -> str:
        """A sentence naming the scopes needed and how to get a token that has them.

        :param named: the scopes Infomaniak's answer named (they win over :attr:`scope`).
        :return: e.g. ``"it needs the scope 'drive'; create a personal API token ..."``.
        """
        names = [n for n in dict.fromkeys(named) if n] or ([self.scope] if self.scope else [])
        wanted = " and ".join(f"'{n}'" for n in names) or "a scope Infomaniak did not name"
        text = f"it needs the scope {wanted}"
        if self.granted is not None and not set(names) <= set(self.granted.split()):
            text += f" and the connection was granted only '{self.granted}'"
        unknown = unknown_scopes((self.requested or "").split())
        if unknown:
            listed = ", ".join(
                f"'{s}' (its name is '{REPLACED_SCOPES[s]}')" if s in REPLACED_SCOPES else f"'{s}'"
                for s in unknown
            )
            text += f"; the integration asks for scopes Infomaniak does not know: {listed}"
        return f"{text}; {TOKEN_ADVICE}"
