"""The ``mail`` service: mailboxes, their folder trees and messages, messages as ``.eml`` files.

The top level lists the mailboxes; a mailbox lists its top folders; a folder lists its child
folders, then its messages, following Infomaniak's ``resource_next`` from page to page
(:mod:`hub_infomaniak.messages`; at most 200 are asked for at once). Item ids name what they are
and every part is percent-encoded (:mod:`hub_infomaniak.mail_ids`), so any folder id survives::

    mailbox:{uuid}    folder:{uuid}:{folder_id}    message:{uuid}:{folder_id}:{short_uid}

Cursors are this plugin's own (``f:<index>`` among child folders, ``m:…`` among messages):
opaque to the hub, checked when they come back. Every call needs the ``workspace:mail`` scope;
a refusal says so.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hub.context import ProviderContext
from hub.errors import HubError, NotFound, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub_infomaniak.eml import MEDIA_TYPE, eml_filename, peek_headers, subject_of
from hub_infomaniak.envelope import (
    data_list,
    error_for,
    get_envelope,
    need_of,
    read_envelope,
    send,
)
from hub_infomaniak.mail_find import download_attachment, list_attachments
from hub_infomaniak.mail_ids import mail_id, parse_mail_id
from hub_infomaniak.messages import SCOPE, list_messages

__all__ = ["browse", "download", "mail_id", "parse_mail_id"]

CHUNK = CHUNK_SIZE  # the hub's download chunk size
FOLDER_CURSOR = re.compile(r"^f:([0-9]{1,7})$")


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
        return slice_items(mailboxes, cursor, limit)
    kind, parts = parse_mail_id(parent, "parent")
    if kind == "mailbox":
        (uuid,) = parts
        folders = [_folder_item(uuid, f) for f in folder_tree(ctx, uuid)]
        page = slice_items(folders, cursor, limit)
        if not cursor:
            page.path.append(Crumb(parent, mailbox_name(ctx, uuid)))
        return page
    if kind == "folder":
        return list_folder(ctx, parts[0], parts[1], cursor, limit)
    if kind == "message":  # a file that also opens: its attachments
        return list_attachments(ctx, *parts, cursor, limit)
    raise NotFound("an attachment is a file, not a folder: download it instead")


def mailbox_list(ctx: ProviderContext) -> list[dict]:
    """The account's mailboxes (``uuid``, ``email``, ``unseen_messages``, ...)."""
    envelope = get_envelope(ctx, "mail", "/api/mailbox", {"with": "aliases,unseen"}, scope=SCOPE)
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
    envelope = get_envelope(ctx, "mail", f"/api/mail/{quote(uuid, safe='')}/folder", scope=SCOPE)
    return data_list(ctx, envelope)


def list_folder(
    ctx: ProviderContext, uuid: str, folder_id: str, cursor: str | None, limit: int
) -> Page:
    """A folder's child folders (first), then its messages paged by offset."""
    folder_start = _folder_cursor(cursor) if cursor is None or cursor.startswith("f:") else None
    if folder_start is None:  # a message cursor (checked by list_messages)
        items, next_cursor = list_messages(ctx, uuid, folder_id, cursor, limit)
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
        messages, next_cursor = list_messages(ctx, uuid, folder_id, None, limit - len(items))
        items += messages
    else:
        next_cursor = "m:0:0:"  # the messages' first page, at the size the next call asks for
    path = [] if cursor else _crumbs(ctx, uuid, trail)
    return Page(items=items, next_cursor=next_cursor, path=path)


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


def slice_items(items: list[Item], cursor: str | None, limit: int) -> Page:
    """One page of a list known whole (mailboxes, folders, attachments), by ``f:<index>``."""
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


def folder_crumbs(ctx: ProviderContext, uuid: str, folder_id: str) -> list[Crumb]:
    """The trail from the mailbox down to the folder ``folder_id`` (empty when it is not in the
    mailbox's tree)."""
    trail = _trail(folder_tree(ctx, uuid), folder_id)
    return _crumbs(ctx, uuid, trail) if trail else []


def _crumbs(ctx: ProviderContext, uuid: str, trail: list[dict]) -> list[Crumb]:
    mailbox = Crumb(mail_id("mailbox", uuid), mailbox_name(ctx, uuid))
    return [mailbox, *(Crumb(_folder_item(uuid, f).id, _folder_item(uuid, f).name) for f in trail)]


# -- download ----------------------------------------------------------------------------------


def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download:
    """A message's raw RFC 822 bytes as ``message/rfc822``, named ``<subject>.eml``; or one
    attachment of a message, alone.

    :param ctx: the integration's authenticated session.
    :param item_id: a message id (``message:{uuid}:{folder_id}:{short_uid}``) or an attachment
        id (``attachment:{uuid}:{folder_id}:{short_uid}:{part}``).
    :param range_header: the caller's ``Range``; passed on, and when Infomaniak answers part of
        the message the name falls back to ``message-<uid>.eml`` (the subject is not in it).
    :return: the download, streamed.
    """
    kind, parts = parse_mail_id(item_id)
    if kind == "attachment":
        return download_attachment(ctx, *parts, range_header)
    if kind != "message":
        raise NotFound("only messages and their attachments can be downloaded from mail")
    uuid, folder_id, short_uid = (quote(p, safe="") for p in parts)
    url = ctx.url("mail", f"/api/mail/{uuid}/folder/{folder_id}/message/{short_uid}/download")
    headers = {"Accept": f"{MEDIA_TYPE}, */*"}
    if range_header:
        headers["Range"] = range_header
    response = send(ctx, url, headers=headers, stream=True, scope=SCOPE)
    if "json" in response.headers.get("Content-Type", "").lower():
        # An envelope where the message belongs: an error, and never something to save as .eml.
        envelope = read_envelope(response)
        response.close()
        if isinstance(envelope, dict) and envelope.get("result") == "error":
            raise error_for(
                ctx.name,
                response.status_code,
                envelope,
                response.headers,
                need=need_of(ctx, SCOPE),
            )
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
