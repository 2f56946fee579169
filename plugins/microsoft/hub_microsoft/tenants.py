"""The ``tenant`` setting: which Microsoft Entra directory signs users in (its ``pattern``, so
an integration with another value is refused when it is saved). It is a segment of the
authorize and token URLs' path (``{endpoints.login}/{tenant}/oauth2/v2.0/...``), so only the
shapes the identity platform documents are accepted: ``common``, ``organizations``,
``consumers``, a directory id (a GUID) or a verified domain name (``contoso.onmicrosoft.com``).
"""

from __future__ import annotations

import re

KEYWORDS = ("common", "organizations", "consumers")
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
DOMAIN = r"(?=.{4,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
#: A tenant: nothing that could leave its path segment ('/', '%', '?', '#', '@', '..').
TENANT = re.compile(rf"(?:{'|'.join(KEYWORDS)}|{GUID}|{DOMAIN})")


def is_tenant(value: object) -> bool:
    """Whether ``value`` is a tenant the identity platform accepts in its URL path."""
    # fullmatch: '$' would accept a trailing newline.
    return isinstance(value, str) and TENANT.fullmatch(value) is not None
