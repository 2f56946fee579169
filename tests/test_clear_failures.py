"""Clear failures at start and in the OAuth flow: a key id missing from the
key ring stops every command with one line; a connect link for an integration without a usable
OAuth client is refused when it is made; a callback opened in the wrong session leaves the
state to the browser that started the flow."""

from __future__ import annotations

import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.cli import ScriptInfo

import hub.cli
import hub.server
from hub.crypto import KeyRing, generate_key
from hub.db import database
from hub.models import Connection, Integration, OAuthTransaction, ProviderCredential
from tests.conftest import HubCliRunner
from tests.live_servers import HUB, clean_environment
from tests.test_oauth import CODE, TOKEN, begin, make_integration, token_answer

# -- a key id missing from the key ring --------------------------------------------------------


@pytest.fixture
def stored_under_old_key(tmp_path, database_url, make_app):
    """A database holding a secret written with a key the new ring no longer has."""
    old = generate_key()
    app = make_app(ENCRYPTION_KEYS=old)
    with app.app_context(), database.connection_context():
        row = ProviderCredential.create(provider="custom", client_id="client-id")
        row.set_secret("client_secret", "provider client secret")
        row.save()
    database.close()
    return KeyRing([old]).primary_kid


def check_one_line(output: str, kid: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert kid in lines[0] and "provider_credential.client_secret" in lines[0]
    assert "Traceback" not in output


@pytest.mark.parametrize("command", [["init"], ["serve"], ["users", "list"]])
def test_a_missing_key_stops_a_command_with_one_line(
    stored_under_old_key, tmp_path, database_url, monkeypatch, command
):
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", generate_key())
    monkeypatch.setattr(hub.server, "serve", lambda *a, **kw: pytest.fail("served anyway"))
    runner = HubCliRunner(None)

    result = runner.invoke(args=command, obj=ScriptInfo(create_app=hub.cli._factory))

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    check_one_line(result.output, stored_under_old_key)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["init"], ["serve", "--workers", "1"]])
def test_the_hub_command_with_a_missing_key_prints_one_line_and_fails(
    stored_under_old_key, tmp_path, database_url, command
):
    environment = clean_environment(
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_DATABASE_URL=database_url,
        HUB_SECRET_KEY="test-secret-key",
        HUB_ENCRYPTION_KEYS=generate_key(),
    )

    result = subprocess.run(
        [str(HUB), *command],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    check_one_line(result.stderr, stored_under_old_key)


# -- a connect link without a usable OAuth client ----------------------------------------------


@pytest.fixture
def alice_client(login, alice):
    return login("alice")


def links(app) -> int:
    with app.app_context(), database.connection_context():
        return OAuthTransaction.select().count()


def ask_link(app, integration, headers):
    return app.test_client().get(f"/api/integrations/{integration['id']}/connect", headers=headers)


def test_a_connect_link_without_any_client_is_400_when_asked(app, alice_client, token_for):
    created = alice_client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    assert created.status_code == 201, created.json
    integration = created.json

    response = ask_link(app, integration, token_for("alice"))

    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "client_not_configured"
    assert "connectUrl" not in response.json
    assert links(app) == 0


def test_a_connect_link_whose_hub_client_may_not_go_there_is_400_when_asked(
    make_app, make_user, login, token_for
):
    app = make_app(GOOGLE_CLIENT_ID="hub-google-client", GOOGLE_CLIENT_SECRET="hub-secret")
    make_user("alice")
    client = login("alice")
    created = client.post("/api/integrations", json={"name": "Drive", "provider": "google"})
    assert created.status_code == 201, created.json
    with app.app_context(), database.connection_context():  # saved before the rule, or behind
        Integration.update(token_uri="https://elsewhere.example.org/token").where(
            Integration.id == created.json["id"]
        ).execute()

    response = ask_link(app, created.json, token_for("alice"))

    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "client_not_allowed"
    assert links(app) == 0


def test_a_connect_link_with_a_usable_client_is_still_made(app, alice_client, token_for):
    integration = make_integration(alice_client)
    response = ask_link(app, integration, token_for("alice"))
    assert response.status_code == 200 and response.json["connectUrl"]


def test_a_connect_link_opened_by_another_user_stays_usable(
    app, alice_client, token_for, login, bob
):
    integration = make_integration(alice_client)
    link = ask_link(app, integration, token_for("alice")).json["connectUrl"]
    path = link.removeprefix("http://127.0.0.1:5000")

    assert login("bob").get(path).status_code == 400
    opened = alice_client.get(path)
    assert opened.status_code == 302 and opened.headers["Location"].startswith(
        "https://auth.example.org/authorize"
    )


# -- a callback opened in another session ------------------------------------------------------


def callback(client, state):
    return client.get("/oauth2/callback", query_string={"state": state, "code": CODE})


def test_a_callback_in_a_foreign_session_is_refused_and_the_rightful_one_finishes(
    app, alice_client, login, bob, requests_mock
):
    integration = make_integration(alice_client)
    token = requests_mock.post(TOKEN, json=token_answer(refresh_token="refresh-1"))
    state = begin(alice_client, integration)["state"]

    as_bob = callback(login("bob"), state)
    in_alices_other_browser = callback(login("alice"), state)
    signed_out = callback(app.test_client(), state)

    assert [as_bob.status_code, in_alices_other_browser.status_code] == [400, 400]
    assert signed_out.status_code == 400
    assert not token.called
    with app.app_context(), database.connection_context():
        assert not Connection.select().exists()

    finished = callback(alice_client, state)

    assert finished.status_code == 303, finished.get_data(as_text=True)
    assert token.call_count == 1
    assert parse_qs(token.last_request.text)["code"] == [CODE]
    status = alice_client.get(f"/api/integrations/{integration['id']}/connection").json
    assert status["status"] == "connected"
    assert callback(alice_client, state).status_code == 400  # and only once
    assert token.call_count == 1


def test_the_foreign_session_is_refused_with_a_reason(alice_client, login, bob, requests_mock):
    integration = make_integration(alice_client)
    requests_mock.post(TOKEN, json=token_answer())
    state = begin(alice_client, integration)["state"]

    page = callback(login("bob"), state).get_data(as_text=True)

    assert "another user or browser session" in page
    assert urlsplit(TOKEN).netloc not in page
