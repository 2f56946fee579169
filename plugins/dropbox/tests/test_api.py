"""Unit tests of :mod:`hub_dropbox.api`: the header-safe JSON of ``Dropbox-API-Arg`` and the
mapping of Dropbox's error tags to the hub's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dropbox_fakes import API, load

from hub.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ReauthRequired,
    UpstreamFailed,
    ValidationError,
)
from hub_dropbox.api import error_tags, header_safe_json, rpc

BEARER = {"credentials": {"token": "sl.generated"}, "auth_type": "bearer"}


# -- Dropbox-API-Arg ------------------------------------------------------------------------------


def test_non_ascii_characters_are_escaped_as_u_sequences() -> None:
    assert header_safe_json({"path": "/Grüße/Zürich.txt"}) == (
        '{"path":"/Gr\\u00fc\\u00dfe/Z\\u00fcrich.txt"}'
    )


def test_characters_beyond_the_bmp_become_a_surrogate_pair() -> None:
    # As the JavaScript SDK's httpHeaderSafeJson does on UTF-16 strings.
    assert header_safe_json({"path": "/😀.png"}) == '{"path":"/\\ud83d\\ude00.png"}'


def test_del_is_escaped_too() -> None:
    """U+007F is in the range Dropbox's SDKs escape ([\\u007f-\\uffff]); json.dumps leaves it."""
    assert header_safe_json({"path": "/a\x7fb"}) == '{"path":"/a\\u007fb"}'


@pytest.mark.parametrize(
    "path", ["/Grüße aus Zürich.txt", "/日本語/ファイル.pdf", '/quote " and \\ back', "/tab\there"]
)
def test_the_header_is_ascii_without_controls_and_decodes_to_the_same_value(path: str) -> None:
    text = header_safe_json({"path": path})

    assert text.isascii() and all(0x20 <= ord(c) < 0x7F for c in text)
    assert json.loads(text) == {"path": path}


# -- error tags -----------------------------------------------------------------------------------


def test_tags_are_read_from_the_outermost_union_inwards() -> None:
    assert error_tags(load("error_not_found")["error"]) == ["path", "not_found"]
    assert error_tags(load("error_reset")["error"]) == ["reset"]
    assert error_tags(load("error_too_many_requests")["error"]) == ["too_many_requests"]
    assert error_tags(None) == []


def _answer(hub_context: Any, requests_mock: Any, status: int, body: Any, **headers: str) -> Any:
    requests_mock.post(f"{API}/2/files/list_folder", status_code=status, json=body, headers=headers)
    with hub_context("dropbox", **BEARER) as ctx:
        return rpc(ctx, "files/list_folder", {"path": ""}, field="parent")


@pytest.mark.parametrize(
    ("name", "error", "field"),
    [
        ("error_not_found", NotFound, None),
        ("error_restricted_content", Forbidden, None),
        ("error_malformed_path", ValidationError, "parent"),
        ("error_not_folder", ValidationError, "parent"),
        ("error_reset", ValidationError, "cursor"),
        ("error_unsupported_file", ValidationError, "parent"),
    ],
)
def test_409_path_errors_become_the_hubs(
    hub_context: Any, requests_mock: Any, name: str, error: type, field: str | None
) -> None:
    with pytest.raises(error) as raised:
        _answer(hub_context, requests_mock, 409, load(name))

    if field is not None:
        assert field in raised.value.fields


def test_a_locked_item_is_a_conflict(hub_context: Any, requests_mock: Any) -> None:
    body = {"error_summary": "path/locked/.", "error": {".tag": "path", "path": {".tag": "locked"}}}

    with pytest.raises(Conflict) as raised:
        _answer(hub_context, requests_mock, 409, body)

    assert raised.value.code == "locked"


def test_an_unknown_409_names_its_summary_tags(hub_context: Any, requests_mock: Any) -> None:
    body = {"error_summary": "other/..", "error": {".tag": "other"}}

    with pytest.raises(UpstreamFailed, match=r"\(other\)"):
        _answer(hub_context, requests_mock, 409, body)


def test_403_no_permission_is_forbidden(hub_context: Any, requests_mock: Any) -> None:
    with pytest.raises(Forbidden, match="no_permission"):
        _answer(hub_context, requests_mock, 403, load("error_no_permission"))


def test_a_long_429_is_rate_limited_with_the_wait(hub_context: Any, requests_mock: Any) -> None:
    with pytest.raises(RateLimited) as raised:
        _answer(hub_context, requests_mock, 429, load("error_too_many_requests"))

    # No Retry-After header: the wait comes from the body's retry_after.
    assert raised.value.headers["Retry-After"] == "300"


def test_a_short_429_is_waited_out_and_retried(
    hub_context: Any, requests_mock: Any, hub_clock: Any
) -> None:
    url = f"{API}/2/files/list_folder"
    throttled = {"status_code": 429, "json": load("error_too_many_requests")}
    requests_mock.post(
        url,
        [{**throttled, "headers": {"Retry-After": "2"}}, {"json": load("root_page2")}],
    )
    with hub_context("dropbox", **BEARER) as ctx:
        data = rpc(ctx, "files/list_folder", {"path": ""})

    assert data["has_more"] is False and requests_mock.call_count == 2
    assert hub_clock.waits == [2.0]


def test_a_missing_scope_names_the_scope(hub_context: Any, requests_mock: Any) -> None:
    with pytest.raises(Forbidden, match=r"files\.content\.read"):
        _answer(hub_context, requests_mock, 401, load("error_missing_scope"))


@pytest.mark.parametrize("name", ["error_invalid_access_token", "error_expired_access_token"])
def test_a_refused_token_needs_reauth(hub_context: Any, requests_mock: Any, name: str) -> None:
    with pytest.raises(ReauthRequired) as raised:
        _answer(hub_context, requests_mock, 401, load(name))

    if name == "error_expired_access_token":
        assert "four hours" in raised.value.message


def test_a_plain_text_400_is_an_upstream_failure(hub_context: Any, requests_mock: Any) -> None:
    requests_mock.post(
        f"{API}/2/files/list_folder",
        status_code=400,
        text='Error in call to API function "files/list_folder": request body: could not decode',
    )
    with hub_context("dropbox", **BEARER) as ctx, pytest.raises(UpstreamFailed, match="400"):
        rpc(ctx, "files/list_folder", {"path": ""})
