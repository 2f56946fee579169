"""``ProviderContext.request`` as a provider sees it: what reaches a real server, and how often.

The context is built with :func:`hub.testing.provider_context`, as a plugin author's unit test
builds it; the provider is a recording server on 127.0.0.1 (:class:`tests.hostile.Upstream`).
"""

from __future__ import annotations

import pytest

from hub.testing import provider_context
from tests.hostile import Answer


@pytest.fixture
def app(make_app, files_app, monkeypatch):
    """The test provider's app, allowed to call loopback (the recording server)."""
    files_app.config["ALLOW_PRIVATE_ADDRESSES"] = True
    return files_app


@pytest.fixture
def waits() -> list[float]:
    return []


def context(app, upstream, waits=None):
    return provider_context(
        app,
        "testfiles",
        auth_type="bearer",
        credentials={"token": "tok-1"},
        settings={"endpoints": {"api": upstream.base}},
        sleep=None if waits is None else waits.append,
    )


def busy_then_ok(upstream, path: str) -> None:
    answers = iter([Answer(503, {"Retry-After": "1"}), Answer(200, body=b"{}")])
    upstream.answer_with(path, lambda seen: next(answers))


def test_a_post_is_not_sent_twice_by_default(app, upstream, waits):
    busy_then_ok(upstream, "search")
    with context(app, upstream, waits) as ctx:
        response = ctx.request("POST", ctx.url("api", "/search"), json={"q": "x"})

    assert response.status_code == 503
    assert [seen.method for seen in upstream.seen] == ["POST"] and waits == []


def test_a_post_that_only_reads_is_retried_when_declared_idempotent(app, upstream, waits):
    busy_then_ok(upstream, "search")
    with context(app, upstream, waits) as ctx:
        response = ctx.request("POST", ctx.url("api", "/search"), json={"q": "x"}, idempotent=True)

    assert response.status_code == 200
    assert [seen.body for seen in upstream.seen] == [b'{"q": "x"}'] * 2 and waits == [1.0]


def test_a_get_declared_not_idempotent_is_sent_once(app, upstream, waits):
    busy_then_ok(upstream, "next-ticket")
    with context(app, upstream, waits) as ctx:
        response = ctx.request("GET", ctx.url("api", "/next-ticket"), idempotent=False)

    assert response.status_code == 503 and len(upstream.seen) == 1


def test_retry_false_sends_an_idempotent_request_once(app, upstream, waits):
    busy_then_ok(upstream, "list")
    with context(app, upstream, waits) as ctx:
        response = ctx.request("GET", ctx.url("api", "/list"), retry=False)

    assert response.status_code == 503 and len(upstream.seen) == 1


def test_the_context_sends_the_credentials_it_was_given(app, upstream):
    upstream.answer("list", json={"entries": []})
    with context(app, upstream) as ctx:
        ctx.get_json("api", "/list")

    assert upstream.seen[0].headers["Authorization"] == "Bearer tok-1"


def test_a_context_for_an_auth_type_the_provider_lacks_is_refused(app):
    refused = pytest.raises(AssertionError, match="does not take 'basic'")
    with refused, provider_context(app, "testfiles", auth_type="basic", credentials={}):
        pass
