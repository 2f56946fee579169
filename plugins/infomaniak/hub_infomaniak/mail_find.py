"""Mail's search and a message's attachments.

**Search** goes through the mailboxes one after the other, the way Infomaniak's mail app
searches a mailbox: the message listing of its INBOX with ``severywhere=1`` (every folder) and the
text as ``scontains``, one query parameter percent-encoded by the HTTP client — quotes,
backslashes, ``*``, ``&`` and ``=`` are characters to find, never syntax. Results are messages
(``thread=off``), each with the folder it is filed in (``Item.parent``), named from the mailbox's
folder tree. The next page is Infomaniak's ``resource_next`` with the search parameters added
again, as the app does. A cursor is ``s{mailbox}:{messages cursor}``
(:func:`hub_infomaniak.messages.make_cursor`); a page reads at most :data:`MAILBOXES_PER_PAGE`
mailboxes.

**Attachments**: a message stays a file (its download is the whole ``.eml``), and opening it
(``browse(parent=<message id>)``) lists its attachments from the message's record
(``…/message/{short_uid}``, ``data.attachments[]``). Each downloads alone from
``…/message/{short_uid}/attachment/{part}``; its id is
``attachment:{uuid}:{folder_id}:{short_uid}:{part}``, the part read from the attachment's
``resource`` and accepted only when that resource is under the message's own path.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from hub.context import ProviderContext
from hub.disposition import filename_from_disposition
from hub.errors import HubError, UpstreamFailed, ValidationError
from hub.items import CHUNK_SIZE, Crumb, Download, Item, Page
from hub_infomaniak import messages
from hub_infomaniak.eml import eml_filename
from hub_infomaniak.envelope import data_list, get_envelope, send
from hub_infomaniak.mail_ids import mail_id
from hub_infomaniak.messages import SCOPE

MAILBOXES_PER_PAGE = 3  # mailboxes searched for one page at most (two calls each)
MAX_QUERY = 500  # characters of search text, as the hub allows
SEARCH_CURSOR = re.compile(r"^s([0-9]{1,4}):(m:.*)$")
# The app's search filters: these are set from the query on every page, never taken from a
# ``resource_next`` (the app appends them to it; an answer that repeats them is not doubled).
SEARCH_KEYS = frozenset({"scontains", "severywhere", "sattachments", "filters"})
INBOX = "INBOX"


# -- search ------------------------------------------------------------------------------------


def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page:
    """Messages matching ``query`` in every folder of every mailbox.

    :param ctx: the integration's authenticated session.
    :param query: the text typed; sent as ``scontains``, never as syntax.
    :param cursor: the previous page's ``next_cursor``, or ``None``.
    :param limit: the page size asked for (1-1000; at most 200 messages are asked at once).
    :return: the page; each message names the folder it is filed in.
    """
    from hub_infomaniak.mail import folder_tree, mailbox_list  # mail opens this module

    if not query.strip() or len(query) > MAX_QUERY:
        raise ValidationError("say what to search for", fields={"q": "1-500 characters"})
    index, inner = _read_cursor(cursor)
    mailboxes = [m for m in mailbox_list(ctx) if isinstance(m.get("uuid"), str) and m["uuid"]]
    if index > len(mailboxes):
        raise ValidationError("not a cursor of this search", fields={"cursor": "unknown"})
    items: list[Item] = []
    read = 0
    while index < len(mailboxes) and read < MAILBOXES_PER_PAGE and len(items) < limit:
        uuid = mailboxes[index]["uuid"]
        folders = folder_tree(ctx, uuid)
        found, following = _search_mailbox(ctx, uuid, folders, query, inner, limit - len(items))
        read += 1
        items += found
        if following is not None:
            return Page(items=items, next_cursor=f"s{index}:{following}")
        index, inner = index + 1, None
    return Page(items=items, next_cursor=f"s{index}:m:0:0:" if index < len(mailboxes) else None)


def _search_mailbox(
    ctx: ProviderContext,
    uuid: str,
    folders: list[dict],
    query: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Item], str | None]:
    """Up to ``limit`` messages of one mailbox matching ``query``, and the cursor of the rest."""
    inbox = _inbox_id(folders)
    if inbox is None:
        return [], None
    wanted = min(limit, messages.MAX_MESSAGES)
    start_thread, start_message, page_query = messages.read_cursor(cursor)
    page_query = page_query or urlencode({"thread": "off", "offset": 0, "limit": wanted})
    filters = {"severywhere": "1", "scontains": query}
    path = messages.listing_path(uuid, inbox)
    params = [*parse_qsl(page_query, keep_blank_values=True), *filters.items()]
    envelope = get_envelope(ctx, "mail", path, params, scope=SCOPE)
    threads = data_list(ctx, envelope, "threads")
    names = _folder_names(folders)
    items: list[Item] = []
    for index in range(start_thread, len(threads)):
        found = _messages(threads[index])
        for position in range(start_message if index == start_thread else 0, len(found)):
            if len(items) == wanted:
                return items, messages.make_cursor(index, position, page_query)
            items.append(_result(uuid, inbox, found[position], names))
    following = _next_query(ctx, envelope, path, page_query, len(threads))
    return items, (messages.make_cursor(0, 0, following) if following is not None else None)


def _messages(thread: dict) -> list[dict]:
    """A result's messages: a thread's (thread mode), or the thread itself (a lone message)."""
    inner = thread.get("messages")
    if isinstance(inner, list):
        found = [m for m in inner if isinstance(m, dict) and m.get("uid")]
        if found:
            return found
    return [thread] if thread.get("uid") else []


def _next_query(
    ctx: ProviderContext, envelope: dict, path: str, query: str, count: int
) -> str | None:
    """The next page's query without the search filters (they are added again on each call)."""
    following = messages.next_query(ctx, envelope, path, query, count)
    if following is None:
        return None
    kept = [(k, v) for k, v in parse_qsl(following, keep_blank_values=True) if k not in SEARCH_KEYS]
    return urlencode(kept)


def _result(uuid: str, inbox: str, message: dict, names: dict[str, str]) -> Item:
    item = messages.message_item(uuid, inbox, message)
    _, folder_id = messages.address(message, inbox)
    parent = Crumb(mail_id("folder", uuid, folder_id), names.get(folder_id) or folder_id)
    return dataclasses.replace(item, parent=parent)


def _inbox_id(folders: list[dict]) -> str | None:
    """The id of the mailbox's INBOX (the folder the app's search is addressed to)."""
    for folder in _all_folders(folders):
        if str(folder.get("role") or "").upper() == INBOX and folder.get("id"):
            return str(folder["id"])
    first = folders[0].get("id") if folders else None
    return str(first) if first else None


def _folder_names(folders: list[dict]) -> dict[str, str]:
    return {
        str(f.get("id")): str(f.get("name") or f.get("path") or f.get("id"))
        for f in _all_folders(folders)
    }


def _all_folders(folders: list[dict]) -> list[dict]:
    found: list[dict] = []
    stack = list(reversed(folders))
    while stack:
        folder = stack.pop()
        found.append(folder)
        children = folder.get("children")
        if isinstance(children, list):
            stack.extend(reversed([c for c in children if isinstance(c, dict)]))
    return found


def _read_cursor(cursor: str | None) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    match = SEARCH_CURSOR.match(cursor)
    if match is None:
        raise ValidationError("not a cursor of this search", fields={"cursor": "unknown"})
    messages.read_cursor(match.group(2))  # checked now, read again by the mailbox's search
    return int(match.group(1)), match.group(2)


# -- attachments ---------------------------------------------------------------------------------


def message_path(uuid: str, folder_id: str, short_uid: str) -> str:
    """The path of a message's record on the mail host, every part percent-encoded."""
    parts = (quote(p, safe="") for p in (uuid, folder_id, short_uid))
    return "/api/mail/{}/folder/{}/message/{}".format(*parts)


def message_record(ctx: ProviderContext, uuid: str, folder_id: str, short_uid: str) -> dict:
    """The message's record (``data``: subject, ``attachments[]``, ...)."""
    envelope = get_envelope(ctx, "mail", message_path(uuid, folder_id, short_uid), scope=SCOPE)
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise UpstreamFailed(f"{ctx.name} answered an unexpected message record")
    return data


def attachments_of(uuid: str, folder_id: str, short_uid: str, record: dict) -> list[Item]:
    """A message's attachments as file items; one whose ``resource`` is not under the message
    is left out (it could not be downloaded through this message's id)."""
    base = message_path(uuid, folder_id, short_uid) + "/attachment/"
    found = record.get("attachments")
    items = []
    for attachment in found if isinstance(found, list) else []:
        if not isinstance(attachment, dict):
            continue
        part = _part_of(attachment.get("resource"), base)
        if part is None:
            continue
        extras: dict[str, Any] = {}
        if isinstance(attachment.get("disposition"), str):
            extras["disposition"] = attachment["disposition"]
        size = attachment.get("size")
        items.append(
            Item(
                id=mail_id("attachment", uuid, folder_id, short_uid, part),
                name=str(attachment.get("name") or f"attachment {part}"),
                kind="file",
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                mime_type=str(attachment.get("mime_type") or "") or None,
                extras=extras,
            )
        )
    return items


def _part_of(resource: Any, base: str) -> str | None:
    """The attachment's part from its ``resource``, when that is ``{base}{part}``."""
    if not isinstance(resource, str):
        return None
    path = urlsplit(resource).path
    if urlsplit(resource).netloc or not path.startswith(base):
        return None
    part = unquote(path[len(base) :])
    return part if part and "/" not in part else None


def list_attachments(
    ctx: ProviderContext, uuid: str, folder_id: str, short_uid: str, cursor: str | None, limit: int
) -> Page:
    """A message opened like a folder: its attachments, after the trail down to the message."""
    from hub_infomaniak.mail import folder_crumbs, slice_items  # mail opens this module

    record = message_record(ctx, uuid, folder_id, short_uid)
    page = slice_items(attachments_of(uuid, folder_id, short_uid, record), cursor, limit)
    if not cursor:
        subject = record.get("subject")
        name = eml_filename(subject if isinstance(subject, str) else None)
        try:
            trail = folder_crumbs(ctx, uuid, folder_id)
        except HubError:
            trail = []
        if trail:
            message = Crumb(mail_id("message", uuid, folder_id, short_uid), name)
            page.path.extend([*trail, message])
    return page


def download_attachment(
    ctx: ProviderContext,
    uuid: str,
    folder_id: str,
    short_uid: str,
    part: str,
    range_header: str | None,
) -> Download:
    """One attachment's bytes, streamed, named as Infomaniak names it (its
    ``Content-Disposition``, else the message's record)."""
    url = ctx.url("mail", f"{message_path(uuid, folder_id, short_uid)}/attachment/{quote(part)}")
    headers = {"Range": range_header} if range_header else {}
    response = send(ctx, url, headers=headers or None, stream=True, scope=SCOPE)
    kind = response.headers.get("Content-Type") or ""
    name = filename_from_disposition(response.headers.get("Content-Disposition"))
    if not name:
        name = _attachment_name(ctx, uuid, folder_id, short_uid, part)
    length = response.headers.get("Content-Length")
    return Download(
        chunks=response.iter_content(CHUNK_SIZE),
        filename=name or f"attachment-{part}",
        mime_type=kind or "application/octet-stream",
        size=int(length) if length and length.isdigit() else None,
        status=response.status_code,
        content_range=response.headers.get("Content-Range"),
        close=response.close,
    )


def _attachment_name(
    ctx: ProviderContext, uuid: str, folder_id: str, short_uid: str, part: str
) -> str | None:
    try:
        record = message_record(ctx, uuid, folder_id, short_uid)
    except HubError:
        return None
    wanted = mail_id("attachment", uuid, folder_id, short_uid, part)
    found = attachments_of(uuid, folder_id, short_uid, record)
    return next((item.name for item in found if item.id == wanted), None)
