"""Database ids that come from outside: in a path, a query string or a cursor.

Every id the hub stores is an integer from 1 to 2^63-1 (a signed 64-bit column on SQLite and
PostgreSQL). A number outside that range names nothing, and handed to the database driver it
raises ``OverflowError`` instead of finding nothing (SECURITY 32). So each way an id enters is
checked here, once:

- paths use the ``id`` URL converter (``/api/tokens/<id:token_id>``): an out-of-range number
  answers 404 naming the parameter, like any id that names nothing;
- query models declare their id parameters as :data:`DatabaseId` (400 naming the parameter);
- text that may hold an id (an integration's ``ref``, a cursor) goes through :func:`parse_id`
  or :func:`is_id`.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from flask import Flask
from werkzeug.routing import BaseConverter, PathConverter

from hub.errors import NotFound

MAX_ID = 2**63 - 1

DatabaseId = Annotated[int, pydantic.Field(ge=1, le=MAX_ID)]
"""An id parameter of a query model: 400 naming the parameter outside 1..2^63-1."""

OUT_OF_RANGE = f"not an id: ids are whole numbers from 1 to {MAX_ID}"


def is_id(value: object) -> bool:
    """Whether ``value`` is an int (not a bool) that can be a database id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_id(text: str) -> int | None:
    """The id written as ASCII digits in ``text``, or None when it is not one in 1..2^63-1.

    The length is checked before ``int()``: a few thousand digits would make ``int()`` raise.
    """
    if not (text.isascii() and text.isdigit()):  # "6³" is a digit to str.isdigit, not to int()
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > len(str(MAX_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_ID else None


class NotAnId(str):
    """The text of a path id outside 1..2^63-1, as the converter hands it on; the request is
    answered 404 before any view sees it (:func:`_refuse_bad_path_ids`)."""


class IdConverter(BaseConverter):
    """``<id:name>``: a database id in a path. Any run of digits, signed or not, matches the rule
    so that one outside 1..2^63-1 is answered 404 naming the parameter, not 500 from the driver
    nor a 404 that says nothing."""

    regex = r"-?[0-9]+"
    weight = 50  # as werkzeug's int converter: tried before a plain string in the same place
    part_isolating = True

    def to_python(self, value: str) -> int | NotAnId:
        number = parse_id(value)
        return NotAnId(value) if number is None else number

    def to_url(self, value: Any) -> str:
        return str(value)


class ItemIdConverter(PathConverter):
    """``<item:name>``: a provider's item id, whatever characters it holds — slashes, a leading
    one included (a Dropbox path ``/Reports/q3.csv``), which werkzeug's ``path`` refuses."""

    # Leading slashes, then what werkzeug's own path converter takes (its matcher needs a
    # regex of that form: a bare ".+?" never matches).
    regex = r"/*[^/].*?"


def _refuse_bad_path_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for name, value in (values or {}).items():
        if isinstance(value, NotAnId):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise NotFound(
                f"{name} {shown} names nothing ({OUT_OF_RANGE})", fields={name: OUT_OF_RANGE}
            )


def init_app(app: Flask) -> None:
    """Register the ``id`` and ``item`` converters; call before any route using them is added."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["item"] = ItemIdConverter
    app.url_value_preprocessor(_refuse_bad_path_ids)
