"""``ProviderContext.request`` as a provider sees it: what reaches a real server, and how often.

The context is built with :func:`hub.testing.provider_context`, as a plugin author's unit test
builds it; the provider is a recording server on 127.0.0.1 (:class:`tests.hostile.Upstream`).
"""

from __future__ import annotations

import pytest

from hub.context import https_under
from hub.errors import UpstreamFailed
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


# -- following a provider's redirects (SECURITY 17) -----------------------------------------------


@pytest.fixture
def storage():
    """A second server: the storage host a provider redirects downloads to."""
    from tests.hostile import Upstream

    server = Upstream()
    yield server
    server.stop()


def redirect_to(location: str) -> Answer:
    return Answer(302, {"Location": location})


def follow(app, upstream, path: str, **kwargs):
    with context(app, upstream) as ctx:
        url = ctx.url("api", path)
        response = ctx.request("GET", url, headers={"Range": "bytes=0-3"}, stream=True)
        followed = ctx.follow(response, url, headers={"Range": "bytes=0-3"}, **kwargs)
        return followed.status_code, followed.content


def test_a_redirect_on_the_same_origin_keeps_the_credentials(app, upstream):
    upstream.answers["/base/file"] = redirect_to("/base/file-v2")
    upstream.answer("file-v2", body=b"data")

    assert follow(app, upstream, "/file") == (200, b"data")
    assert upstream.seen[1].headers["Authorization"] == "Bearer tok-1"


def test_a_redirect_elsewhere_goes_without_the_credentials(app, upstream, storage):
    upstream.answers["/base/file"] = redirect_to(storage.base + "/signed?sig=abc")
    storage.answer("signed", body=b"data")

    assert follow(app, upstream, "/file", elsewhere=lambda url: True) == (200, b"data")
    [fetched] = storage.seen
    assert "Authorization" not in fetched.headers and not fetched.carries("tok-1")
    assert fetched.headers["Range"] == "bytes=0-3"


def test_a_redirect_to_an_origin_not_allowed_is_refused_before_anything_is_sent(
    app, upstream, storage
):
    upstream.answers["/base/file"] = redirect_to(storage.base + "/signed")

    with pytest.raises(UpstreamFailed, match=r"redirected to 127\.0\.0\.1, where the hub does not"):
        follow(app, upstream, "/file", elsewhere=lambda url: "example" in url)
    assert storage.seen == []


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1@evil.example/x", "http://127.0.0.1\\\\@evil.example/x"]
)
def test_an_ambiguous_location_is_refused(app, upstream, location):
    upstream.answers["/base/file"] = redirect_to(location)

    with pytest.raises(UpstreamFailed, match="cannot read"):
        follow(app, upstream, "/file", elsewhere=lambda url: True)


def test_redirects_in_a_loop_end(app, upstream):
    upstream.answers["/base/file"] = redirect_to("/base/file")

    with pytest.raises(UpstreamFailed, match="more than 3 times"):
        follow(app, upstream, "/file")
    assert len(upstream.seen) == 4


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://files.1drv.com/y4m/x", True),
        ("https://1drv.com/x", True),
        ("https://files.1drv.com:443/x", True),
        ("http://files.1drv.com/x", False),  # not https
        ("https://files.1drv.com:8443/x", False),  # another port
        ("https://evil1drv.com/x", False),  # a look-alike, not a subdomain
        ("https://1drv.com.evil.example/x", False),
        ("https://files.1drv.com:x/", False),  # no port at all
    ],
)
def test_https_under_allows_only_https_subdomains_of_the_domains(url, allowed):
    assert https_under(url, ("1drv.com", "sharepoint.com")) is allowed
