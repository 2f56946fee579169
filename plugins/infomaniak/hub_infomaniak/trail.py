"""Breadcrumbs of a kDrive folder at a fixed cost, whatever its depth.

kDrive has no call that answers a folder's ancestors: its own clients climb ``parent_id`` one
request at a time, which at depth 8 is eight requests per folder opened against a budget of
about 60 a minute. Here the folder's own record, read ``with=path``, gives every ancestor's
*name* (``"/Documents/Reports/2024"``) and its parent's id; the other ancestors' *ids* come from
what this connection's earlier listings showed (a folder listed on the way down is remembered
with its parent). Names always come from the fresh ``path``; the memory only links ids, and a
link whose name no longer matches the path is not followed. When an ancestor's id is not known
(a deep folder opened first), the trail skips it rather than spend a request per level.

The memory lives in ``app.extensions`` (one per hub app), keyed by connection, and is bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context

from hub.context import ProviderContext
from hub.items import Crumb

EXTENSION = "hub_infomaniak.folders"
MAX_ENTRIES = 50_000  # (name, parent) pairs kept per hub app; the oldest go first
ROOT_DIR = 1  # every drive's root directory has this file id
GUEST = ""  # the name remembered for a drive the account is only a guest of


class FolderMemory:
    """A bounded, thread-safe map ``(connection, drive, folder) -> (name, parent id)`` and
    ``(connection, drive) -> drive name``."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple, tuple[str, int]] = OrderedDict()
        self._drives: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def remember(
        self, owner: tuple, drive_id: int, folders: Iterable[tuple[int, str, int]]
    ) -> None:
        """Keep ``(folder id, name, parent id)`` of folders seen in a listing or a record."""
        with self._lock:
            for folder_id, name, parent_id in folders:
                key = (owner, drive_id, folder_id)
                self._entries[key] = (name, parent_id)
                self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def folder(self, owner: tuple, drive_id: int, folder_id: int) -> tuple[str, int] | None:
        """``(name, parent id)`` of a folder this connection has seen, or ``None``."""
        with self._lock:
            return self._entries.get((owner, drive_id, folder_id))

    def remember_drive(self, owner: tuple, drive_id: int, name: str) -> None:
        """Keep a drive's name, as the drive list gave it."""
        with self._lock:
            self._drives[(owner, drive_id)] = name
            self._drives.move_to_end((owner, drive_id))
            while len(self._drives) > self._max:
                self._drives.popitem(last=False)

    def drive(self, owner: tuple, drive_id: int) -> str | None:
        """The drive's name, if the drive list was read on this connection."""
        with self._lock:
            return self._drives.get((owner, drive_id))


def memory_of(ctx: ProviderContext) -> tuple[FolderMemory, tuple] | None:
    """This hub app's memory and the key of ``ctx``'s connection, or ``None`` when there is no
    saved connection (a preview) or no app: nothing is remembered then."""
    connection = ctx.connection
    if connection is None or getattr(connection, "id", None) is None or not has_app_context():
        return None
    memory = current_app.extensions.setdefault(EXTENSION, FolderMemory())
    # The creation time too: an id a deleted connection had must not lend its memory.
    owner = (ctx.integration.id, connection.id, str(getattr(connection, "created_at", "")))
    return memory, owner


def remember_listing(ctx: ProviderContext, drive_id: int, dir_id: int, entries: list[dict]) -> None:
    """Remember the sub-folders a listing of ``dir_id`` showed (their parent is ``dir_id``)."""
    found = memory_of(ctx)
    if found is None:
        return
    memory, owner = found
    folders = [
        (entry["id"], str(entry.get("name") or ""), dir_id)
        for entry in entries
        if entry.get("type") == "dir" and isinstance(entry.get("id"), int)
    ]
    memory.remember(owner, drive_id, folders)


def build_trail(
    ctx: ProviderContext,
    drive_id: int,
    record: dict[str, Any],
    drive_crumb: Crumb,
    crumb_id: Any,
) -> list[Crumb]:
    """The breadcrumbs of a folder from its record (read ``with=path``), drive first.

    :param ctx: the session (for this connection's memory).
    :param drive_id: the folder's drive.
    :param record: the folder's own record: ``id``, ``name``, ``parent_id``, ``path``.
    :param drive_crumb: the crumb of the drive's root.
    :param crumb_id: makes an item id from ``(drive_id, file_id)``.
    :return: the drive, then every ancestor whose id is known, then the folder.
    """
    folder_id, parent_id = record.get("id"), record.get("parent_id")
    path = record.get("path")
    if not isinstance(folder_id, int) or not isinstance(path, str):
        return [drive_crumb]
    names = [segment for segment in path.split("/") if segment]
    if not names:  # the record of a root directory
        return [drive_crumb]
    found = memory_of(ctx)
    if found is not None and isinstance(parent_id, int):
        memory, owner = found
        memory.remember(owner, drive_id, [(folder_id, names[-1], parent_id)])
    # ids from the folder up: its own, its parent's, then what the memory links.
    ids = [folder_id]
    above = parent_id if isinstance(parent_id, int) and parent_id > 0 else None
    while above is not None and above != ROOT_DIR and len(ids) < len(names):
        ids.append(above)
        link = found[0].folder(found[1], drive_id, above) if found else None
        # Unknown, or renamed since: stop there and keep what is sure.
        above = None if link is None or link[0] != names[-len(ids)] else link[1]
    crumbs = [Crumb(crumb_id(drive_id, fid), names[-1 - i]) for i, fid in enumerate(ids)]
    return [drive_crumb, *reversed(crumbs)]


def drive_name_from_memory(ctx: ProviderContext, drive_id: int) -> str | None:
    """The drive's name if this connection's drive list was read (:data:`GUEST` for a drive it
    did not hold), else ``None``."""
    found = memory_of(ctx)
    return found[0].drive(found[1], drive_id) if found else None


def remember_drives(ctx: ProviderContext, drives: Iterable[tuple[int, str]]) -> None:
    """Remember drive names from a drive list."""
    found = memory_of(ctx)
    if found is None:
        return
    memory, owner = found
    for drive_id, name in drives:
        memory.remember_drive(owner, drive_id, name)
