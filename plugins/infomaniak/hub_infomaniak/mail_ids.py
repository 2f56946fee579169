"""The ids of mail items: what each is, its parts percent-encoded, so any folder id survives::

mailbox:{uuid}    folder:{uuid}:{folder_id}    message:{uuid}:{folder_id}:{short_uid}
attachment:{uuid}:{folder_id}:{short_uid}:{part}
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from hub.errors import NotFound, ValidationError
from hub.paths import check_path


def mail_id(kind: str, *parts: str) -> str:
    """An item id: ``kind`` then each part percent-encoded, joined with ``:``."""
    return ":".join([kind, *(quote(str(p), safe="") for p in parts)])


def parse_mail_id(value: str, field: str = "itemId") -> tuple[str, list[str]]:
    """``(kind, parts)`` of an id made by :func:`mail_id`.

    The parts go into URL paths: one that could leave its segment in any server's reading
    (``..``, ``..;``, encoded dots, SECURITY 33) is refused.

    :raises hub.errors.NotFound: when ``value`` is not a mail item id.
    :raises hub.errors.ValidationError: naming ``field``, for such a part.
    """
    kind, *parts = value.split(":")
    sizes = {"mailbox": 1, "folder": 2, "message": 3, "attachment": 4}
    if sizes.get(kind) != len(parts) or not all(parts):
        raise NotFound(f"{value!r} is not a mail item of Infomaniak")
    return kind, [_id_part(p, field) for p in parts]


def _id_part(encoded: str, field: str) -> str:
    """One part of an id, decoded and checked. It is percent-encoded whole (``safe=""``) when a
    URL is built, so ``/`` and ``@`` stay inside its segment; dot segments in any reading do not."""
    try:
        part = unquote(encoded, errors="strict")
    except UnicodeDecodeError:
        reason = "percent-encoded bytes that are not UTF-8 are not accepted"
        raise ValidationError(f"{field} is refused: {reason}", fields={field: reason}) from None
    return check_path(part, field, allow_at=True)
