"""WebDAV for PowerFolder: item ids as server paths, and the 207 multistatus read safely.

An item id is the item's path under ``{serverUrl}/webdav/``, decoded and without a leading
slash: ``"Team Docs/Plans/été 2024.pdf"``. The first segment is the PowerFolder folder's internal
name, which may differ from the name users see (``d:displayname``, or ``name`` in the folder
API): ids always come from ``href`` values, names from ``d:displayname`` when the server sends
one. Ids are encoded segment by segment when a URL is built, and ``href`` values are decoded the
same way when the server answers, so spaces, ``%``, ``#``, ``?`` and unicode survive both ways.

The multistatus document is parsed with :mod:`defusedxml`: no DTD, no entity expansion, no
external entities, so a hostile or broken server cannot make the hub expand a billion laughs or
read a local file.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET

from hub.errors import ValidationError
from hub.paths import check_path

DAV = "{DAV:}"

Segments = tuple[str, ...]


class MultistatusRefused(ValueError):
    """The answer is not a multistatus document the hub will read (hostile or malformed)."""


@dataclass(frozen=True)
class Entry:
    """One ``<d:response>`` of a multistatus: where it is and what its properties say."""

    segments: Segments  # the decoded path segments of its href
    is_collection: bool
    size: int | None = None
    content_type: str | None = None
    modified_at: dt.datetime | None = None
    display_name: str | None = None  # d:displayname, when the server names it otherwise

    @property
    def name(self) -> str:
        """The last segment of the href: what the server's URLs call it."""
        return self.segments[-1] if self.segments else ""

    @property
    def shown_name(self) -> str:
        """What users see: the server's display name, else the href's last segment."""
        return self.display_name or self.name


# -- item ids and URLs -----------------------------------------------------------------------


def split_item_id(item_id: str) -> Segments:
    """The path segments of an item id; :class:`ValueError` for one that names no item.

    A leading or trailing slash is tolerated; empty, ``.`` and ``..`` segments and control
    characters are refused (they could make the server address another path than the id's), and
    so is anything :func:`hub.paths.check_path` refuses: PowerFolder is a Java server, which reads
    ``..;`` as ``..``, and a server may decode ``%2e%2e`` once more than the hub encoded it
    (SECURITY 33). ``@`` is fine: segments are percent-encoded on the way out.
    """
    segments = tuple(item_id.strip("/").split("/"))
    if segments == ("",):
        raise ValueError("is empty")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError("has an empty, '.' or '..' path segment")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in segment):
            raise ValueError("has a control character")
    try:
        check_path(item_id, "itemId", allow_at=True)
    except ValidationError as exc:
        raise ValueError(f"is refused: {exc.fields['itemId']}") from None
    return segments


def join_item_id(segments: Sequence[str]) -> str:
    """The item id of a path: its segments joined with ``/``."""
    return "/".join(segments)


def encode_path(segments: Sequence[str]) -> str:
    """The segments percent-encoded for a URL path (UTF-8; ``/`` inside a segment encoded)."""
    return "/".join(quote(segment, safe="") for segment in segments)


def decode_segment(segment: str) -> str:
    """One percent-encoded segment decoded: UTF-8, else Latin-1 as older servers send."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return unquote(segment, encoding="latin-1")


def path_segments(url_or_path: str) -> Segments:
    """The decoded, non-empty segments of a URL's path (an absolute URL or just a path)."""
    path = urlsplit(url_or_path).path
    return tuple(decode_segment(s) for s in path.split("/") if s)


# -- the multistatus document ----------------------------------------------------------------


def parse_multistatus(body: bytes) -> list[Entry]:
    """Every ``<d:response>`` of a 207 multistatus body.

    :raises MultistatusRefused: the document declares a DTD or entities, is not well-formed XML,
        or is not a ``DAV:multistatus``.
    """
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise MultistatusRefused(
            "the document declares a DTD, entities or external references, which the hub "
            "refuses to read"
        ) from None
    except ET.ParseError as exc:
        raise MultistatusRefused(f"the document is not well-formed XML ({exc})") from None
    if root.tag != f"{DAV}multistatus":
        raise MultistatusRefused(f"the document is a {_local(root.tag)!r}, not a multistatus")
    entries = []
    for response in root.findall(f"{DAV}response"):
        entry = _entry(response)
        if entry is not None:
            entries.append(entry)
    return entries


def _entry(response: ET.Element) -> Entry | None:
    href = (response.findtext(f"{DAV}href") or "").strip()
    status = response.findtext(f"{DAV}status")
    if not href or (status is not None and not _is_success(status)):
        return None  # a response for a resource that failed as a whole: nothing to list
    props: dict[str, ET.Element] = {}
    for propstat in response.findall(f"{DAV}propstat"):
        if not _is_success(propstat.findtext(f"{DAV}status") or "HTTP/1.1 200 OK"):
            continue  # e.g. "404 Not Found" for the properties the resource does not have
        for prop in propstat.findall(f"{DAV}prop"):
            for element in prop:
                props.setdefault(element.tag, element)
    resourcetype = props.get(f"{DAV}resourcetype")
    is_collection = resourcetype is not None and resourcetype.find(f"{DAV}collection") is not None
    return Entry(
        segments=path_segments(href),
        is_collection=is_collection,
        size=_integer(_text(props.get(f"{DAV}getcontentlength"))),
        content_type=_text(props.get(f"{DAV}getcontenttype")),
        modified_at=parse_http_date(_text(props.get(f"{DAV}getlastmodified"))),
        display_name=usable_display_name(_text(props.get(f"{DAV}displayname"))),
    )


def parse_http_date(value: str | None) -> dt.datetime | None:
    """An RFC 1123 date (``Tue, 05 Mar 2024 09:30:00 GMT``) in UTC; ISO 8601 is accepted too.
    ``None`` when absent or unreadable: a bad date must not hide the file."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _is_success(status_line: str) -> bool:
    parts = status_line.split()
    return len(parts) >= 2 and parts[1].startswith("2")


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def usable_display_name(value: object) -> str | None:
    """A name the server gives an item for display, or ``None`` when there is none to show.

    A display name only labels an item (its id comes from the href or ``internalName``), but
    one with control characters could forge lines in a page or a log, and a blank one shows
    nothing: the caller falls back to the path segment.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    return value


def _integer(value: str | None) -> int | None:
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
