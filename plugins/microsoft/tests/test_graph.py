"""Ids, cursors and Graph's error answers (:mod:`hub_microsoft.graph`)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from recorded_graph import GRAPH, recorded

from hub.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    ValidationError,
)
from hub_microsoft import graph
from hub_microsoft.graph import Ref, parse_ref


def test_an_id_names_its_drive_item_and_path():
    assert parse_ref("b!x-Y_z:root:/A/B c", "parent") == Ref("b!x-Y_z", "root", "/A/B c")
    assert parse_ref("d4648f06c91d9d3d:D4648F06C91D9D3D!54927", "itemId") == Ref(
        "d4648f06c91d9d3d", "D4648F06C91D9D3D!54927"
    )
    assert str(Ref("d", "root", "/A")) == "d:root:/A"


@pytest.mark.parametrize(
    "value",
    [
        "nodrive",
        ":item",
        "drive:",
        "drive:item:relative",
        "drive:..",
        "drive:root:/A/../../me",
        "drive:root:/A/%2e%2e/x",
        "..:item",
        "drive:item%2f..",
        "drive:root:/A//B",
        "drive:root:/A/",
        "drive:root:/A\\B",
    ],
)
def test_ids_that_could_leave_their_place_are_refused(value):
    with pytest.raises(ValidationError) as refused:
        parse_ref(value, "parent")
    assert "parent" in refused.value.fields


def test_ids_become_encoded_graph_paths():
    assert Ref("b!x", "root", "/Q3 #1/a?b").url_path(":/children".removeprefix(":")) == (
        "/drives/b%21x/items/root:/Q3%20%231/a%3Fb:/children"
    )
    assert Ref("b!x", "01AB").url_path("/content") == "/drives/b%21x/items/01AB/content"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None):
    answer = requests.Response()
    answer.status_code = status
    answer._content = b"" if body is None else __import__("json").dumps(body).encode()
    answer.headers.update(headers or {})
    return answer


class Ctx:
    """Just what error mapping and cursors read of a context."""

    name = "Microsoft"


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (404, "error_not_found", NotFound, "itemNotFound"),
        (403, "error_forbidden", Forbidden, "accessDenied"),
        (401, "error_auth", ReauthRequired, "InvalidAuthenticationToken"),
        (429, "error_throttled", RateLimited, "activityLimitReached"),
        (503, None, RateLimited, "throttling"),
        (500, None, UpstreamFailed, "500"),
    ],
)
def test_graph_errors_become_the_hubs(status, body, error, words):
    found = graph.error_of(Ctx(), response(status, body and recorded(body)))

    assert isinstance(found, error)
    assert words in found.message


def test_a_throttled_answer_carries_its_retry_after():
    found = graph.error_of(Ctx(), response(429, recorded("error_throttled"), {"Retry-After": "41"}))

    assert found.headers.get("Retry-After") == "41" or "41" in found.message


def test_an_error_code_that_is_not_a_word_is_not_repeated():
    found = graph.error_of(Ctx(), response(400, {"error": {"code": "<script>x</script>"}}))

    assert "script" not in found.message


def cursor_of(body: dict[str, Any], listed: str = f"{GRAPH}/me/drive/root/children") -> Any:
    return graph.next_cursor(Ctx(), listed, body)


def test_the_cursor_is_only_the_skiptoken():
    link = f"{GRAPH}/me/drive/root/children?$top=2&$skiptoken=UGFnZWQ9VFJVRSZwX0lEPTI"

    assert cursor_of({"@odata.nextLink": link}) == "tUGFnZWQ9VFJVRSZwX0lEPTI"
    assert cursor_of({}) is None
    assert graph._paging("tUGFnZWQ9VFJVRSZwX0lEPTI") == {"$skiptoken": "UGFnZWQ9VFJVRSZwX0lEPTI"}
    assert graph._paging("k40") == {"$skip": "40"}


@pytest.mark.parametrize(
    "link",
    [
        "https://attacker.example/v1.0/me/drive/root/children?$skiptoken=abc",
        "http://graph.microsoft.com/v1.0/me/drive/root/children?$skiptoken=abc",
        f"{GRAPH}/me/messages?$skiptoken=abc",
        f"{GRAPH}/me/drive/root/children?$top=2",
        f"{GRAPH}/me/drive/root/children?$skiptoken=a b",
    ],
)
def test_a_next_link_elsewhere_is_refused(link):
    with pytest.raises(UpstreamFailed):
        cursor_of({"@odata.nextLink": link})


@pytest.mark.parametrize("cursor", ["x", "t", "t a b", "k-1", "https://attacker.example/", "k1e9"])
def test_a_cursor_the_hub_did_not_give_is_refused(cursor):
    with pytest.raises(ValidationError):
        graph._paging(cursor)
