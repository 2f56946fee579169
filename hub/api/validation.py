"""Request bodies and query strings validated by pydantic models, errors naming the field.

A view declares its schemas with :func:`body` and :func:`query`; the same declarations feed the
OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import pydantic
from flask import request
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from hub.errors import ValidationError
from hub.ids import is_id

M = TypeVar("M", bound=BaseModel)

# Deeper JSON is refused as bad input (SECURITY 32): nothing the hub accepts nests this far, and
# values stored and rendered later (``settings``, ``headers``) must not be able to exhaust the
# stack of whatever walks them recursively.
MAX_JSON_DEPTH = 32


class ApiModel(BaseModel):
    """Base of every request schema: camelCase names, strict types, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        strict=True,
        frozen=True,
    )


def parse(model: type[M], data: Any, *, where: str = "body") -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        fields = {}
        for error in exc.errors(include_url=False):
            location = ".".join(str(part) for part in error["loc"]) or where
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            elif error["type"] == "missing":
                message = "required"
            fields.setdefault(location, message)
        names = ", ".join(fields)
        raise ValidationError(f"invalid {where}: {names}", fields=fields) from None


def json_body() -> Any:
    if not request.data:
        return {}
    if not request.is_json:
        raise ValidationError(
            "the body must be JSON", fields={"body": "send Content-Type: application/json"}
        )
    return load_json(request.get_data(cache=True))


def load_json(data: bytes | str, *, field: str = "body") -> Any:
    """JSON from outside: a :class:`ValidationError` naming ``field`` when it does not parse or
    nests deeper than :data:`MAX_JSON_DEPTH` (never a ``RecursionError``)."""
    too_deep = ValidationError(
        f"the {field} nests JSON too deeply",
        fields={field: f"at most {MAX_JSON_DEPTH} levels of arrays and objects"},
    )
    try:
        value = json.loads(data)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"the {field} is not valid JSON", fields={field: str(exc)}) from None
    if nesting_depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    return value


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (0 for a scalar), walked without
    recursion so any depth can be measured."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def body(model: type[BaseModel]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Validate the JSON body with ``model`` and pass it to the view as ``payload``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = json_body()
            if not isinstance(data, dict):
                raise ValidationError("the body must be a JSON object", fields={"body": "object"})
            return view(*args, payload=parse(model, data), **kwargs)

        wrapper.request_body = model  # type: ignore[attr-defined]
        return wrapper

    return decorate


def query(model: type[BaseModel]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Validate the query string with ``model`` (lax types: it is all text) as ``params``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = {key: request.args.get(key) for key in request.args}
            return view(*args, params=parse(model, data, where="query"), **kwargs)

        wrapper.query_params = model  # type: ignore[attr-defined]
        return wrapper

    return decorate


class PageQuery(BaseModel):
    """``limit`` and ``cursor`` of every list."""

    model_config = ConfigDict(extra="forbid", strict=False)

    limit: int = pydantic.Field(default=50, ge=1, le=200)
    cursor: str | None = pydantic.Field(default=None, max_length=200)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor continues after; 400 naming ``cursor`` for anything :func:`encode_cursor`
    cannot have written (the id must be one the database can hold: 1 to 2^63-1)."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["after"]
        if not is_id(after):
            raise TypeError
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise ValidationError(
            "the cursor is not valid", fields={"cursor": "not a cursor"}
        ) from None
    return after


def page(
    query_set: Any,
    key: Any,
    params: PageQuery,
    render: Callable[[Any], dict],
    *,
    newest_first: bool = False,
    render_all: Callable[[list[Any]], list[dict]] | None = None,
) -> dict:
    """One page of ``query_set`` ordered by the integer column ``key``: ``{items, nextCursor}``.

    ``render_all`` renders the whole page at once (to batch the queries rendering needs).
    """
    after = decode_cursor(params.cursor)
    if after is not None:
        query_set = query_set.where(key < after if newest_first else key > after)
    order = key.desc() if newest_first else key
    rows = list(query_set.order_by(order).limit(params.limit + 1))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {
        "items": render_all(rows) if render_all else [render(row) for row in rows],
        "nextCursor": encode_cursor(rows[-1].__data__[key.name]) if more else None,
    }
