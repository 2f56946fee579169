"""What a provider says in its errors never reaches a user's screen (SECURITY 34), and ``iss`` is
judged against the issuer a flow started with (SECURITY 4, RFC 9207).

The provider here is a real server on 127.0.0.1 (:class:`tests.hostile.Upstream`) whose token
endpoint echoes what it was sent into its ``error_description`` — client secret, code and PKCE
verifier — as a careless or hostile provider may. Users see the error code and a sentence; the
provider's words go to the audit log, which only administrators read, with those secrets removed.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from .hostile import Answer, Upstream

CLIENT_SECRET = "alices-client-secret-9d3f"
ISSUER = "https://issuer.example.org"


@pytest.fixture
def provider(upstream: Upstream) -> Upstream:
    return upstream


pytestmark = pytest.mark.loopback


@pytest.fixture
def alice(make_user, login):
    make_user("alice")
    make_user("root", superuser=True)
    return login("alice")


def create(client, provider: Upstream, **settings) -> int:
    created = client.post(
        "/api/integrations",
        json={
            "name": "Example",
            "authType": "oauth2",
            "authUri": provider.base + "/authorize",
            "tokenUri": provider.base + "/token",
            "clientId": "alices-client",
            "clientSecret": CLIENT_SECRET,
            "apiBaseUri": provider.base,
            "settings": settings,
        },
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def state_of(client, ref: int) -> str:
    started = client.get(f"/api/integrations/{ref}/connect")
    assert started.status_code == 302, started.get_json()
    return parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]


def echo(error: str, status: int = 400):
    """A token endpoint that puts everything it received into its error_description."""

    def make(seen) -> Answer:
        body = {"error": error, "error_description": f"refused request {seen.body.decode()}"}
        return Answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    return make


def audit_events(login, action: str) -> list[dict]:
    events = login("root").get("/api/audit", query_string={"action": action}).json["items"]
    return [e for e in events if e["action"] == action]


def test_a_refused_code_shows_the_code_and_a_sentence_never_the_providers_text(
    alice, provider, login
):
    provider.answer_with("token", echo("invalid_grant"))
    ref = create(alice, provider)
    state = state_of(alice, ref)

    page = alice.get("/oauth2/callback", query_string={"state": state, "code": "the-code-42"})

    sent = next(r for r in provider.seen if r.path == "/base/token").form
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "invalid_grant" in text and "no longer accepts this grant" in text
    for secret in (CLIENT_SECRET, "the-code-42", sent["code_verifier"], "refused request"):
        assert secret not in text
    [event] = audit_events(login, "connection.connect_failed")
    assert event["details"]["error"] == "invalid_grant"
    detail = event["details"]["description"]
    assert "refused request" in detail and "[redacted]" in detail
    for secret in (CLIENT_SECRET, "the-code-42", sent["code_verifier"]):
        assert secret not in detail


def test_an_error_on_the_callback_shows_its_code_never_its_description(alice, provider, login):
    ref = create(alice, provider)
    state = state_of(alice, ref)

    page = alice.get(
        "/oauth2/callback",
        query_string={
            "state": state,
            "error": "access_denied",
            "error_description": f"denied; state was {state}; call +1-555-SCAM",
        },
    )

    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "access_denied" in text and "declined" in text
    assert "SCAM" not in text and state not in text
    [event] = audit_events(login, "connection.connect_failed")
    assert "SCAM" in event["details"]["description"]
    assert state not in event["details"]["description"]


def test_an_error_code_that_is_not_a_code_is_not_shown(alice, provider):
    ref = create(alice, provider)
    state = state_of(alice, ref)

    page = alice.get(
        "/oauth2/callback",
        query_string={"state": state, "error": "<img src=x onerror=alert(1)> visit evil.example"},
    )

    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "provider_error" in text and "evil.example" not in text


def test_a_refused_refresh_keeps_the_providers_text_from_the_user(alice, provider, login, app):
    provider.answer(
        "token", json={"access_token": "a1", "refresh_token": "r-secret-77", "expires_in": 1}
    )
    ref = create(alice, provider)
    state = state_of(alice, ref)
    assert (
        alice.get("/oauth2/callback", query_string={"state": state, "code": "c"}).status_code == 303
    )
    provider.answer_with("token", echo("invalid_request"))

    refreshed = alice.post(f"/api/integrations/{ref}/connection/refresh")
    status = alice.get(f"/api/integrations/{ref}/connection").json

    shown = json.dumps(refreshed.json) + json.dumps(status)
    assert refreshed.status_code == 502
    assert "invalid_request" in status["lastError"]
    for secret in ("r-secret-77", CLIENT_SECRET, "refused request"):
        assert secret not in shown
    [event] = audit_events(login, "connection.refresh_refused")
    assert "refused request" in event["details"]["description"]
    assert "r-secret-77" not in event["details"]["description"]
    assert CLIENT_SECRET not in event["details"]["description"]


# -- iss (RFC 9207) --------------------------------------------------------------------------------


def test_iss_is_compared_with_the_issuer_the_flow_started_with(alice, provider):
    provider.answer("token", json={"access_token": "a1", "expires_in": 3600})
    ref = create(alice, provider, issuer=ISSUER)
    state = state_of(alice, ref)
    # Meanwhile the owner points the integration at another issuer.
    changed = alice.patch(
        f"/api/integrations/{ref}", json={"settings": {"issuer": "https://other.example.org"}}
    )
    assert changed.status_code == 200, changed.json

    mixed_up = alice.get(
        "/oauth2/callback",
        query_string={"state": state, "code": "c", "iss": "https://other.example.org"},
    )

    assert mixed_up.status_code == 400
    assert "another authorization server" in mixed_up.get_data(as_text=True)
    assert not any(r.path == "/base/token" for r in provider.seen)


def test_the_issuer_the_flow_started_with_is_accepted(alice, provider):
    provider.answer("token", json={"access_token": "a1", "expires_in": 3600})
    ref = create(alice, provider, issuer=ISSUER)
    state = state_of(alice, ref)

    done = alice.get("/oauth2/callback", query_string={"state": state, "code": "c", "iss": ISSUER})

    assert done.status_code == 303, done.get_data(as_text=True)


def test_iss_is_required_where_the_server_declares_it_sends_it(alice, provider):
    provider.answer("token", json={"access_token": "a1", "expires_in": 3600})
    ref = create(alice, provider, issuer=ISSUER, issRequired=True)

    missing = alice.get(
        "/oauth2/callback", query_string={"state": state_of(alice, ref), "code": "c"}
    )
    present = alice.get(
        "/oauth2/callback", query_string={"state": state_of(alice, ref), "code": "c", "iss": ISSUER}
    )

    assert missing.status_code == 400
    assert "iss is missing" in missing.get_data(as_text=True)
    assert present.status_code == 303, present.get_data(as_text=True)
    assert sum(r.path == "/base/token" for r in provider.seen) == 1
