"""Connection metadata: a small JSON object per connection that backends keep beside it.

A backend tags a connection with what it needs to find or use it later (a customer id, a kDrive
drive id, a region): its holder or a ``manage`` user sets the object through the API, managers
see it in the connections list, and header templates read it as
``${connection.metadata.<key>}`` (dots reach into nested objects:
``${connection.metadata.account.region}``), expanded under the same rules as every other
variable — no control characters, ASCII only, bounded length (:func:`hub.headers.expand_headers`).

The object is bounded so that it stays metadata: at most :data:`MAX_BYTES` bytes as compact JSON,
:data:`MAX_DEPTH` levels of nesting, keys of ASCII letters, digits and ``_`` (what a template
variable may hold; a dot in a template is a step into a nested object). Values are strings,
numbers, booleans, null, arrays and objects. It is not a place for secrets: it is shown to
managers and kept in clear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hub import audit
from hub.db import utcnow, write_transaction
from hub.errors import ValidationError
from hub.models import Connection, Integration, User

MAX_BYTES = 4096
MAX_DEPTH = 4
KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
TEMPLATE_PREFIX = "connection.metadata."


def check(value: Any) -> dict[str, Any]:
    """``value`` if it may be a connection's metadata; else :class:`ValidationError` naming the
    first offending place (``metadata``, or ``metadata.<path>``)."""
    if not isinstance(value, dict):
        raise _invalid("metadata", "must be a JSON object")
    _check_node(value, "metadata", 1)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_BYTES:
        raise _invalid("metadata", f"is {size} bytes as JSON; at most {MAX_BYTES}")
    return value


def _check_node(node: Any, where: str, depth: int) -> None:
    if isinstance(node, dict):
        if depth > MAX_DEPTH:
            raise _invalid(where, f"nests deeper than {MAX_DEPTH} levels")
        for key, child in node.items():
            if not KEY.fullmatch(key):
                raise _invalid(
                    f"{where}.{key[:64]}",
                    "keys are 1-64 ASCII letters, digits or '_' (as in a header template)",
                )
            _check_node(child, f"{where}.{key}", depth + 1)
    elif isinstance(node, list):
        if depth > MAX_DEPTH:
            raise _invalid(where, f"nests deeper than {MAX_DEPTH} levels")
        for index, child in enumerate(node):
            _check_node(child, f"{where}.{index}", depth + 1)
    elif isinstance(node, float) and node != node:  # NaN cannot be JSON
        raise _invalid(where, "is not a JSON number")


def _invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(f"{field} {reason}", fields={field: reason})


def set_metadata(
    integration: Integration, connection: Connection, actor: User, value: Any
) -> Connection:
    """Replace the connection's metadata (``{}`` clears it), audited with the keys set."""
    clean = check(value)
    with write_transaction():
        Connection.update(metadata=clean or None, updated_at=utcnow()).where(
            Connection.id == connection.id
        ).execute()
        audit.record(
            "connection.metadata.set",
            actor=actor.principal_id,
            target_type="connection",
            target_id=connection.id,
            integration=integration,
            details={"holder": connection.holder, "keys": sorted(clean)},
        )
    connection.metadata = clean or None
    return connection


def lookup(metadata: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a dotted ``path`` of ``metadata``; None when any step is missing."""
    node: Any = metadata or {}
    for step in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def template_text(value: Any) -> str | None:
    """A metadata value as a header template inserts it: strings as they are, numbers and
    booleans as JSON writes them, null as nothing; None for objects and arrays (refused)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None
