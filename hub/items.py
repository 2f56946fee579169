"""What a service's browse and download operations return (the plugin side of the data path).

A service declares two callables on :class:`hub.providers.Service`::

    def browse(ctx: ProviderContext, parent: str | None, cursor: str | None, limit: int) -> Page
    def download(ctx: ProviderContext, item_id: str, range_header: str | None) -> Download

and may declare three more, each optional::

    def search(ctx: ProviderContext, query: str, cursor: str | None, limit: int) -> Page
    views = (View("shared", "Shared with me", browse=shared),)  # shared(ctx, cursor, limit)
    def thumbnail(ctx: ProviderContext, item_id: str, size: int) -> Download

``search`` pages through the items matching ``query`` — text the user typed, to be searched for
as it is: quotes, backslashes and the provider's own operators are characters to find, never
syntax — each item with the folder it lives in (``Item.parent``) when the provider tells it.
A view's ``browse`` pages through a named entry point; its ``Page.path`` is empty. ``thumbnail``
returns a small image of the item, at most about ``size`` pixels wide (16-1024); the hub checks
the bytes are a PNG, JPEG or WebP of at most 1 MiB before serving them.

``parent`` is ``None`` for the top level; ``cursor`` is whatever the previous page returned as
``next_cursor`` (opaque to the hub, passed through); ``limit`` is the page size the caller asked
for (1-1000; a provider may return fewer). ``ctx`` is the authenticated session to the provider
(:class:`hub.context.ProviderContext`). Operations raise the hub's errors
(:mod:`hub.errors`): ``NotFound``, ``Forbidden``, ``RateLimited``, ``ReauthRequired``,
``UpstreamFailed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ItemKind = Literal["folder", "file"]

# How much of a download to move at a time: large enough that per-chunk overhead (the WSGI
# server's write, Python's loop) stays small, small enough that memory stays flat.
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """One entry of a folder. ``id`` is opaque to the hub and must be usable as a ``parent`` (for
    folders) or with ``download`` (for files); it may hold any characters."""

    id: str
    name: str
    kind: ItemKind
    size: int | None = None
    mime_type: str | None = None
    modified_at: dt.datetime | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    # The folder the item lives in (search results; views): a ``parent`` for ``browse``.
    parent: Crumb | None = None
    # A file that also opens like a folder: ``browse(parent=id)`` lists what it holds (a mail
    # message's attachments). It still downloads whole.
    opens: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "size": self.size,
            "mimeType": self.mime_type,
            "modifiedAt": _rfc3339(self.modified_at),
        }
        if self.parent is not None:
            data["parent"] = {"id": self.parent.id, "name": self.parent.name}
        if self.opens:
            data["opens"] = True
        if self.extras:
            for key, value in self.extras.items():
                data.setdefault(key, value)  # extras never replace the fields above
        return data


@dataclass(frozen=True)
class Crumb:
    """One step of the path from the top level to a folder."""

    id: str
    name: str


@dataclass(frozen=True)
class Page:
    """One page of a folder. ``path`` is the breadcrumb trail from the top level down to
    ``parent``, ending with ``parent`` itself; empty at the top level or when the provider cannot
    tell. Every page of a folder carries the same trail, or none on later pages."""

    items: list[Item]
    next_cursor: str | None = None
    path: list[Crumb] = field(default_factory=list)


@dataclass
class Download:
    """A file's bytes as an iterator of chunks, never the whole file in memory.

    ``status`` is 206 with ``content_range`` when a ``Range`` was honoured. ``close`` releases the
    upstream connection when the client goes away early.
    """

    chunks: Iterable[bytes]
    filename: str
    mime_type: str = "application/octet-stream"
    size: int | None = None
    status: int = 200
    content_range: str | None = None
    close: Any = None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)


def _rfc3339(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def utc_time(value: Any) -> dt.datetime | None:
    """A provider's ISO 8601 / RFC 3339 time (``2024-05-01T09:30:00.000Z``, with any offset) as
    an aware UTC datetime for ``Item.modified_at``; a time without an offset is taken as UTC, and
    anything else (missing, not a string, not a time) is ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
