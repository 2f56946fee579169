"""The ``mail`` service: mailboxes, their folder trees and messages, messages as ``.eml`` files.

The top level lists the mailboxes; a mailbox lists its top folders; a folder lists its child
folders, then its messages, paged by offset (Infomaniak refuses more than 200 at once). Item ids
name what they are and every part is percent-encoded, so any folder id survives::

    mailbox:{uuid}    folder:{uuid}:{folder_id}    message:{uuid}:{folder_id}:{short_uid}

Cursors are this module's own (``f:<index>`` among child folders, ``m:<offset>:<skip>`` among
messages): opaque to the hub, checked when they come back.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote, unquote

from hub.context import ProviderContext
from hub.errors import HubError, NotFound, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub.paths import check_path
from hub_infomaniak.eml import MEDIA_TYPE, eml_filename, peek_headers, subject_of
from hub_infomaniak.envelope import data_list, error_for, get_envelope, read_envelope, send

MAX_MESSAGES = 200  # the message listing refuses larger pages
CHUNK = CHUNK_SIZE  # the hub's download chunk size
FOLDER_CURSOR = re.compile(r"^f:([0-9]{1,7})$")
MESSAGE_CURSOR = re.compile(r"^m:([0-9]{1,9}):([0-9]{1,5})$")


# -- ids ---------------------------------------------------------------------------------------


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
    sizes = {"mailbox": 1, "folder": 2, "message": 3}
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


# -- browse ------------------------------------------------------------------------------------


def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page:
    """One page of mail: mailboxes, a mailbox's folders, or a folder's folders and messages.

    :param ctx: the integration's authenticated session.
    :param parent: ``None`` for the mailboxes, else a mailbox or folder id.
    :param cursor: the previous page's ``next_cursor``, or ``None`` for the first page.
    :param limit: the page size asked for (1-1000); message pages hold at most 200.
    :return: the page; breadcrumbs come with the first page of a mailbox or folder.
    """
    if parent is None:
        mailboxes = [_mailbox_item(m) for m in mailbox_list(ctx) if m.get("uuid")]
        return _slice(mailboxes, cursor, limit)
    kind, parts = parse_mail_id(parent, "parent")
    if kind == "mailbox":
        (uuid,) = parts
        folders = [_folder_item(uuid, f) for f in folder_tree(ctx, uuid)]
        page = _slice(folders, cursor, limit)
        if not cursor:
            page.path.append(Crumb(parent, mailbox_name(ctx, uuid)))
        return page
    if kind == "folder":
        return list_folder(ctx, parts[0], parts[1], cursor, limit)
    raise NotFound("a message is a file, not a folder: download it instead")


def mailbox_list(ctx: ProviderContext) -> list[dict]:
    """The account's mailboxes (``uuid``, ``email``, ``unseen_messages``, ...)."""
    envelope = get_envelope(ctx, "mail", "/api/mailbox", {"with": "aliases,unseen"})
    return data_list(ctx, envelope)


def mailbox_name(ctx: ProviderContext, uuid: str) -> str:
    """The address of mailbox ``uuid`` for breadcrumbs; ``"Mailbox"`` if it cannot be told."""
    try:
        for mailbox in mailbox_list(ctx):
            if mailbox.get("uuid") == uuid:
                return _mailbox_label(mailbox)
    except HubError:
        pass
    return "Mailbox"


def folder_tree(ctx: ProviderContext, uuid: str) -> list[dict]:
    """The top folders of a mailbox, each with its ``children`` nested."""
    envelope = get_envelope(ctx, "mail", f"/api/mail/{quote(uuid, safe='')}/folder")
    return data_list(ctx, envelope)


def list_folder(
    ctx: ProviderContext, uuid: str, folder_id: str, cursor: str | None, limit: int
) -> Page:
    """A folder's child folders (first), then its messages paged by offset."""
    folder_start = _folder_cursor(cursor) if cursor is None or cursor.startswith("f:") else None
    if folder_start is None:
        offset, skip = _message_cursor(cursor or "")
        items, next_cursor = list_messages(ctx, uuid, folder_id, offset, skip, limit)
        return Page(items=items, next_cursor=next_cursor)
    trail = _trail(folder_tree(ctx, uuid), folder_id)
    if trail is None:
        raise NotFound(f"{ctx.name} has no such mail folder")
    folder = trail[-1]
    children = [_folder_item(uuid, c) for c in _children(folder)]
    items = children[folder_start : folder_start + limit]
    next_cursor = None
    if folder_start + limit < len(children):
        next_cursor = f"f:{folder_start + limit}"
    elif len(items) < limit:
        messages, next_cursor = list_messages(ctx, uuid, folder_id, 0, 0, limit - len(items))
        items += messages
    else:
        next_cursor = "m:0:0"
    path = [] if cursor else _crumbs(ctx, uuid, trail)
    return Page(items=items, next_cursor=next_cursor, path=path)


def list_messages(
    ctx: ProviderContext, uuid: str, folder_id: str, offset: int, skip: int, limit: int
) -> tuple[list[Item], str | None]:
    """Up to ``limit`` messages of a folder from thread ``offset`` (its first ``skip`` messages
    already shown), and the cursor of the rest.

    The listing answers threads; each contributes its messages that live in this folder (a
    conversation may hold replies filed elsewhere).
    """
    wanted = min(limit, MAX_MESSAGES)
    params = {"offset": offset, "thread": "on", "limit": wanted}
    path = f"/api/mail/{quote(uuid, safe='')}/folder/{quote(folder_id, safe='')}/message"
    threads_envelope = get_envelope(ctx, "mail", path, params)
    threads = data_list(ctx, threads_envelope, "threads")
    items: list[Item] = []
    for index, thread in enumerate(threads):
        messages = _messages_here(thread, folder_id)
        for position in range(skip if index == 0 else 0, len(messages)):
            if len(items) == wanted:
                return items, f"m:{offset + index}:{position}"
            items.append(_message_item(uuid, folder_id, messages[position]))
    # A full page may be followed by more; so may a short one when the folder counts more.
    total = _total(threads_envelope)
    more = bool(threads) and (len(threads) >= wanted or offset + len(threads) < total)
    return items, (f"m:{offset + len(threads)}:0" if more else None)


def _total(envelope: dict) -> int:
    data = envelope.get("data")
    count = data.get("total_messages_count") if isinstance(data, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _messages_here(thread: dict, folder_id: str) -> list[dict]:
    messages = thread.get("messages")
    if isinstance(messages, list):
        messages = [m for m in messages if isinstance(m, dict) and m.get("uid")]
    if not messages:  # a thread of one message, answered flat
        return [thread] if thread.get("uid") else []
    here = [m for m in messages if _address(m, folder_id)[1] == folder_id]
    return here or messages  # uids in an unexpected form: show the thread whole


def _address(message: dict, folder_id: str) -> tuple[str, str]:
    """``(short_uid, folder_id)`` of a message whose ``uid`` is ``"<short_uid>@<folder_id>"``."""
    short_uid, _, folder = str(message.get("uid")).partition("@")
    return short_uid, str(message.get("folder_id") or folder or folder_id)


# -- items, cursors, breadcrumbs ---------------------------------------------------------------


def _mailbox_label(mailbox: dict) -> str:
    return str(mailbox.get("email") or mailbox.get("mailbox") or mailbox.get("uuid"))


def _mailbox_item(mailbox: dict) -> Item:
    extras: dict[str, Any] = {"primary": bool(mailbox.get("is_primary"))}
    if isinstance(mailbox.get("unseen_messages"), int):
        extras["unseen"] = mailbox["unseen_messages"]
    return Item(
        id=mail_id("mailbox", mailbox["uuid"]),
        name=_mailbox_label(mailbox),
        kind="folder",
        extras=extras,
    )


def _folder_item(uuid: str, folder: dict) -> Item:
    extras = {
        key: folder[source]
        for key, source in (("role", "role"), ("unread", "unread_count"), ("total", "total_count"))
        if folder.get(source) is not None
    }
    return Item(
        id=mail_id("folder", uuid, folder.get("id")),
        name=str(folder.get("name") or folder.get("path") or folder.get("id")),
        kind="folder",
        extras=extras,
    )


def _message_item(uuid: str, folder_id: str, message: dict) -> Item:
    short_uid, folder = _address(message, folder_id)
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
        modified_at=_date(message.get("date")),
        extras=extras,
    )


def _slice(items: list[Item], cursor: str | None, limit: int) -> Page:
    start = _folder_cursor(cursor)
    more = start + limit < len(items)
    return Page(
        items=items[start : start + limit], next_cursor=f"f:{start + limit}" if more else None
    )


def _folder_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    match = FOLDER_CURSOR.match(cursor)
    if match is None:
        raise ValidationError("not a cursor of this mail folder", fields={"cursor": "unknown"})
    return int(match.group(1))


def _message_cursor(cursor: str) -> tuple[int, int]:
    match = MESSAGE_CURSOR.match(cursor)
    if match is None:
        raise ValidationError("not a cursor of this mail folder", fields={"cursor": "unknown"})
    return int(match.group(1)), int(match.group(2))


def _children(folder: dict) -> list[dict]:
    children = folder.get("children")
    return [c for c in children if isinstance(c, dict)] if isinstance(children, list) else []


def _trail(folders: list[dict], folder_id: str) -> list[dict] | None:
    """The folders from a top folder down to ``folder_id``, or ``None`` if it is not there."""
    for folder in folders:
        if str(folder.get("id")) == folder_id:
            return [folder]
        below = _trail(_children(folder), folder_id)
        if below is not None:
            return [folder, *below]
    return None


def _crumbs(ctx: ProviderContext, uuid: str, trail: list[dict]) -> list[Crumb]:
    mailbox = Crumb(mail_id("mailbox", uuid), mailbox_name(ctx, uuid))
    return [mailbox, *(Crumb(_folder_item(uuid, f).id, _folder_item(uuid, f).name) for f in trail)]


def _date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# -- download ----------------------------------------------------------------------------------


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """A message's raw RFC 822 bytes as ``message/rfc822``, named ``<subject>.eml``.

    :param ctx: the integration's authenticated session.
    :param item_id: a message id (``message:{uuid}:{folder_id}:{short_uid}``).
    :param range_header: the caller's ``Range``; passed on, and when Infomaniak answers part of
        the message the name falls back to ``message-<uid>.eml`` (the subject is not in it).
    :return: the download, streamed.
    """
    kind, parts = parse_mail_id(item_id)
    if kind != "message":
        raise NotFound("only messages can be downloaded from mail")
    uuid, folder_id, short_uid = (quote(p, safe="") for p in parts)
    url = ctx.url("mail", f"/api/mail/{uuid}/folder/{folder_id}/message/{short_uid}/download")
    headers = {"Accept": f"{MEDIA_TYPE}, */*"}
    if range_header:
        headers["Range"] = range_header
    response = send(ctx, url, headers=headers, stream=True)
    if "json" in response.headers.get("Content-Type", "").lower():
        # An envelope where the message belongs: an error, and never something to save as .eml.
        envelope = read_envelope(response)
        response.close()
        if isinstance(envelope, dict) and envelope.get("result") == "error":
            raise error_for(ctx.name, response.status_code, envelope, response.headers)
        raise UpstreamFailed(f"{ctx.name} answered JSON instead of the message")
    fallback = f"message-{parts[2]}"
    chunks = response.iter_content(CHUNK)
    filename = eml_filename(None, fallback)
    if response.status_code == 200:
        header_block, chunks = peek_headers(chunks)
        filename = eml_filename(subject_of(header_block), fallback)
    length = response.headers.get("Content-Length")
    return Download(
        chunks=chunks,
        filename=filename,
        mime_type=MEDIA_TYPE,
        size=int(length) if length and length.isdigit() else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )
