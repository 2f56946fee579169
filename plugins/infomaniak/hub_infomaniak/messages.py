"""The messages of a mail folder, page by page, the way Infomaniak pages them.

The listing answers threads (``thread=on``) and, beside them, ``resource_next``: the path of the
next page on the mail host, blank on the last one. Infomaniak's own app follows it and stops only
when it is blank; so does this module. A page may hold fewer threads than were asked for while
more remain, so a short page is never taken for the end. An answer without the field at all (an
older server) is paged by offset.

A cursor is ``m:<thread>:<message>:<query>``: the query string of the page to read (base64url,
empty for the first page), the thread of that page to start at and how many of its messages were
already shown — a page of the hub may end inside a conversation. The query is checked when it
comes back; the path is always this folder's message listing.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from hub.context import ProviderContext
from hub.errors import UpstreamFailed, ValidationError
from hub.items import Item, utc_time
from hub_infomaniak.eml import MEDIA_TYPE, eml_filename
from hub_infomaniak.envelope import data_list, get_envelope
from hub_infomaniak.mail_ids import mail_id
from hub_infomaniak.scopes import SERVICE_SCOPES

SCOPE = SERVICE_SCOPES["mail"]
MAX_MESSAGES = 200  # the message listing refuses larger pages
MAX_QUERY = 1024  # a next page's query string is short; a longer one is not Infomaniak's
CURSOR = re.compile(r"^m:([0-9]{1,5}):([0-9]{1,5}):([A-Za-z0-9_-]{0,1400})$")
QUERY_TEXT = re.compile(r"^[\x21-\x7e]*$")  # printable ASCII, no space


def listing_path(uuid: str, folder_id: str) -> str:
    """The path of a folder's message listing on the mail host."""
    return f"/api/mail/{quote(uuid, safe='')}/folder/{quote(folder_id, safe='')}/message"


def list_messages(
    ctx: ProviderContext, uuid: str, folder_id: str, cursor: str | None, limit: int
) -> tuple[list[Item], str | None]:
    """Up to ``limit`` messages of a folder from ``cursor`` on, and the cursor of the rest.

    Each thread contributes its messages that live in this folder (a conversation may hold
    replies filed elsewhere).

    :param ctx: the integration's authenticated session.
    :param uuid: the mailbox.
    :param folder_id: the folder.
    :param cursor: a cursor made here, or ``None`` (or ``"m:0:0:"``) for the first page.
    :param limit: the most messages to return (at most 200 are asked for).
    :return: the messages and the next cursor (``None`` at the end).
    :raises hub.errors.ValidationError: naming ``cursor``, for one this module did not make.
    """
    wanted = min(limit, MAX_MESSAGES)
    start_thread, start_message, query = read_cursor(cursor)
    query = query or urlencode({"offset": 0, "thread": "on", "limit": wanted})
    path = listing_path(uuid, folder_id)
    envelope = get_envelope(ctx, "mail", f"{path}?{query}", scope=SCOPE)
    threads = data_list(ctx, envelope, "threads")
    items: list[Item] = []
    for index in range(start_thread, len(threads)):
        messages = _messages_here(threads[index], folder_id)
        for position in range(start_message if index == start_thread else 0, len(messages)):
            if len(items) == wanted:
                return items, make_cursor(index, position, query)
            items.append(message_item(uuid, folder_id, messages[position]))
    following = next_query(ctx, envelope, path, query, len(threads))
    return items, (make_cursor(0, 0, following) if following is not None else None)


def next_query(
    ctx: ProviderContext, envelope: dict, path: str, query: str, count: int
) -> str | None:
    """The query string of the page after this one, or ``None`` when this one is the last.

    :param envelope: this page's answer.
    :param path: this folder's listing path (``resource_next`` must stay on it).
    :param query: this page's query string.
    :param count: how many threads this page held.
    :raises hub.errors.UpstreamFailed: when ``resource_next`` points elsewhere.
    """
    data = envelope.get("data")
    data = data if isinstance(data, dict) else {}
    if "resource_next" in data:
        resource = data["resource_next"]
        if not isinstance(resource, str) or not resource.strip():
            return None
        parts = urlsplit(resource.strip())
        if parts.scheme or parts.netloc or unquote(parts.path) != unquote(path):
            raise UpstreamFailed(f"{ctx.name} gave a next page outside this mail folder")
        return _checked_query(parts.query, UpstreamFailed(f"{ctx.name} gave a next page too odd"))
    # No resource_next at all: page by offset, while the page was full or the folder counts more.
    asked = dict(parse_qsl(query))
    offset = _number(asked.get("offset"))
    size = _number(asked.get("limit")) or MAX_MESSAGES
    total = data.get("total_messages_count")
    total = total if isinstance(total, int) and not isinstance(total, bool) else 0
    if count == 0 or (count < size and offset + count >= total):
        return None
    return urlencode({**asked, "offset": offset + count})


def make_cursor(thread: int, message: int, query: str) -> str:
    """The cursor of ``query``'s page, from its ``thread``-th thread and ``message``-th message."""
    token = base64.urlsafe_b64encode(query.encode("ascii")).decode("ascii").rstrip("=")
    return f"m:{thread}:{message}:{token}"


def read_cursor(cursor: str | None) -> tuple[int, int, str]:
    """``(thread, message, query)`` of a cursor made by :func:`make_cursor` (``""``: first page).

    :raises hub.errors.ValidationError: naming ``cursor``, for anything else.
    """
    if not cursor:
        return 0, 0, ""
    match = CURSOR.match(cursor)
    refused = ValidationError("not a cursor of this mail folder", fields={"cursor": "unknown"})
    if match is None:
        raise refused
    token = match.group(3)
    try:
        query = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    return int(match.group(1)), int(match.group(2)), _checked_query(query, refused)


def _checked_query(query: str, refused: Exception) -> str:
    # A query goes after this folder's own path: it cannot change where the request goes, but
    # it must still be a plain query string.
    if len(query) > MAX_QUERY or not QUERY_TEXT.match(query) or "#" in query:
        raise refused
    return query


def _number(value: Any) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else 0


# -- messages as items -------------------------------------------------------------------------


def _messages_here(thread: dict, folder_id: str) -> list[dict]:
    messages = thread.get("messages")
    if isinstance(messages, list):
        messages = [m for m in messages if isinstance(m, dict) and m.get("uid")]
    if not messages:  # a thread of one message, answered flat
        return [thread] if thread.get("uid") else []
    here = [m for m in messages if address(m, folder_id)[1] == folder_id]
    return here or messages  # uids in an unexpected form: show the thread whole


def address(message: dict, folder_id: str) -> tuple[str, str]:
    """``(short_uid, folder_id)`` of a message whose ``uid`` is ``"<short_uid>@<folder_id>"``."""
    short_uid, _, folder = str(message.get("uid")).partition("@")
    return short_uid, str(message.get("folder_id") or folder or folder_id)


def message_item(uuid: str, folder_id: str, message: dict) -> Item:
    """A message as a file item (``message/rfc822``) named after its subject."""
    short_uid, folder = address(message, folder_id)
    subject = message.get("subject")
    extras: dict[str, Any] = {"subject": subject}
    senders = message.get("from")
    if isinstance(senders, list) and senders and isinstance(senders[0], dict):
        sender = senders[0]
        extras["from"] = (
            f"{sender['name']} <{sender.get('email')}>"
            if sender.get("name")
            else sender.get("email")
        )
    for key, source in (("seen", "seen"), ("hasAttachments", "has_attachments")):
        if isinstance(message.get(source), bool):
            extras[key] = message[source]
    size = message.get("size")
    return Item(
        id=mail_id("message", uuid, folder, short_uid),
        name=eml_filename(subject if isinstance(subject, str) else None),
        kind="file",
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        mime_type=MEDIA_TYPE,
        modified_at=utc_time(message.get("date")),
        extras=extras,
        # Opening it lists its attachments (mail_find), each downloadable alone.
        opens=message.get("has_attachments") is True,
    )
