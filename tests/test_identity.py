"""Who connected: the three ways a provider tells the hub (a call, the token response, its own
function), seen from the provider's side — a recording server on 127.0.0.1 plays it."""

from __future__ import annotations

import json
from importlib import metadata
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import hookimpl
from hub import plugins as plugin_module
from hub.db import database
from hub.errors import Forbidden
from hub.models import Connection
from hub.plugins import ENTRY_POINT_GROUP, PluginRegistry
from hub.providers import (
    OAuth2Settings,
    Profile,
    ProfileLookup,
    Provider,
    ProviderDeclarationError,
    Service,
    Setting,
    validate_provider,
)


def declaration(profile: ProfileLookup) -> Provider:
    return Provider(
        name="whoami",
        display_name="Who Am I",
        auth_types=("oauth2",),
        oauth2=OAuth2Settings(authorize_url="{server}/authorize", token_url="{server}/token"),
        settings=(Setting("server", "Server", type="url", required=True, destination=True),),
        endpoints={"api": "{server}"},
        api_endpoint="api",
        profile=profile,
        services=(Service("files", "Files"),),
    )


class WhoAmI:
    """The plugin: its identity lookup is set per test."""

    profile = ProfileLookup("api", "/me", "id")

    @staticmethod
    @hookimpl
    def hub_register_providers() -> list[Provider]:
        return [declaration(WhoAmI.profile)]


@pytest.fixture
def use_lookup(monkeypatch, make_app):
    """An app whose ``whoami`` provider reads identities with the lookup given."""

    def build(profile: ProfileLookup):
        monkeypatch.setattr(WhoAmI, "profile", profile)
        point = metadata.EntryPoint(
            name="whoami", value="tests.test_identity:WhoAmI", group=ENTRY_POINT_GROUP
        )
        monkeypatch.setattr(plugin_module, "_discover", lambda: [point])
        return make_app(ALLOW_PRIVATE_ADDRESSES=True)

    return build


def connect(app, upstream, make_user, token: dict):
    """Alice connects through the real callback; the server answers the code with ``token``."""
    make_user("alice")
    client = app.test_client()
    client.post("/api/login", json={"username": "alice", "password": "correct horse battery"})
    upstream.answer("token", json=token)
    ref = client.post(
        "/api/integrations",
        json={
            "name": "Who",
            "provider": "whoami",
            "clientId": "own-client",
            "clientSecret": "own-secret",
            "settings": {"server": upstream.base},
        },
    ).json["id"]
    location = client.get(f"/api/integrations/{ref}/connect").headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    answer = client.get("/oauth2/callback", query_string={"state": state, "code": "c"})
    with app.app_context(), database.connection_context():
        connection = Connection.get_or_none(Connection.integration == ref)
    return answer, connection


TOKEN = {"access_token": "access-1", "refresh_token": "refresh-1", "token_type": "bearer"}


def test_a_post_lookup_without_a_body_sends_none(use_lookup, upstream, make_user):
    """Dropbox's users/get_current_account: a POST, no body, the account in the answer."""
    app = use_lookup(ProfileLookup("api", "/me", "account_id", email_field="email", method="POST"))
    upstream.answer("me", json={"account_id": "dbid:AAH", "email": "alice@example.org"})

    answer, connection = connect(app, upstream, make_user, TOKEN)

    assert answer.status_code == 303, answer.get_data(as_text=True)
    lookup = upstream.seen[-1]
    assert (lookup.method, lookup.path, lookup.body) == ("POST", "/base/me", b"")
    assert lookup.headers["Authorization"] == "Bearer access-1"
    assert (connection.external_id, connection.email) == ("dbid:AAH", "alice@example.org")


def test_a_post_lookup_sends_its_json_body(use_lookup, upstream, make_user):
    app = use_lookup(ProfileLookup("api", "/me", "id", method="POST", body={"fields": ["id"]}))
    upstream.answer("me", json={"id": 7})

    answer, connection = connect(app, upstream, make_user, TOKEN)

    assert answer.status_code == 303
    assert json.loads(upstream.seen[-1].body) == {"fields": ["id"]}
    assert connection.external_id == "7"


def test_the_identity_can_come_from_the_token_response_without_a_call(
    use_lookup, upstream, make_user
):
    app = use_lookup(ProfileLookup(from_token=True, id_field="account_id"))

    answer, connection = connect(app, upstream, make_user, {**TOKEN, "account_id": "dbid:BB"})

    assert answer.status_code == 303
    assert [seen.path for seen in upstream.seen] == ["/base/token"]
    assert connection.external_id == "dbid:BB"


def test_a_token_response_without_the_id_refuses_the_connection(use_lookup, upstream, make_user):
    app = use_lookup(ProfileLookup(from_token=True, id_field="account_id"))

    answer, connection = connect(app, upstream, make_user, TOKEN)

    assert "token response has no account_id" in answer.get_data(as_text=True)
    assert connection is None


def test_a_providers_own_function_calls_with_the_token_and_never_sees_the_credentials(
    use_lookup, upstream, make_user
):
    given = []

    def identify(request):
        given.append(dict(request.token))
        answer = request.request("GET", request.endpoints["api"] + "/v2/who")
        return Profile(answer.headers["X-Account"], name=answer.json()["display"])

    app = use_lookup(ProfileLookup(function=identify))
    upstream.answer("v2/who", json={"display": "Alice A."}, headers={"X-Account": "u-9"})

    answer, connection = connect(app, upstream, make_user, {**TOKEN, "uid": "42"})

    assert answer.status_code == 303
    assert given == [{"token_type": "bearer", "uid": "42"}]
    assert upstream.seen[-1].headers["Authorization"] == "Bearer access-1"
    assert (connection.external_id, connection.display_name) == ("u-9", "Alice A.")


@pytest.mark.parametrize(
    "identify, message",
    [
        (lambda request: 1 / 0, "identity lookup failed (ZeroDivisionError)"),
        (lambda request: Profile(None), "identity lookup returned no account id"),
        (lambda request: {"id": "x"}, "identity lookup returned no account id"),
    ],
)
def test_a_failing_identity_function_refuses_the_connection_naming_the_provider(
    use_lookup, upstream, make_user, identify, message
):
    app = use_lookup(ProfileLookup(function=identify))

    answer, connection = connect(app, upstream, make_user, TOKEN)

    assert f"Who Am I&#39;s {message}" in answer.get_data(as_text=True)
    assert connection is None


def test_an_identity_function_may_refuse_with_a_hub_error(use_lookup, upstream, make_user):
    def identify(request):
        raise Forbidden("this account is not a business account")

    app = use_lookup(ProfileLookup(function=identify))

    answer, connection = connect(app, upstream, make_user, TOKEN)

    assert "this account is not a business account" in answer.get_data(as_text=True)
    assert connection is None


@pytest.mark.parametrize(
    "profile, field, words",
    [
        (ProfileLookup(), "profile", "got none"),
        (
            ProfileLookup("api", "/me", from_token=True),
            "profile",
            "got a call (endpoint and path), from_token",
        ),
        (ProfileLookup("api", "/me", body={"a": 1}), "profile.body", "only with method 'POST'"),
        (ProfileLookup("api", "/me", method="PATCH"), "profile.method", "'GET' or 'POST'"),
        (ProfileLookup(function="identify"), "profile.function", "must be callable"),
    ],
)
def test_an_incoherent_identity_lookup_is_refused_naming_the_field(profile, field, words):
    with pytest.raises(ProviderDeclarationError) as refused:
        validate_provider(declaration(profile))
    assert f"{field}: " in str(refused.value) and words in str(refused.value)


def test_the_registry_accepts_each_way(monkeypatch):
    for profile in (
        ProfileLookup("api", "/me", "id", method="POST"),
        ProfileLookup(from_token=True, id_field="user_id"),
        ProfileLookup(function=lambda request: Profile("x")),
    ):
        monkeypatch.setattr(WhoAmI, "profile", profile)
        point = metadata.EntryPoint(
            name="whoami", value="tests.test_identity:WhoAmI", group=ENTRY_POINT_GROUP
        )
        assert PluginRegistry(entry_points=[point]).plugins["whoami"].status == "ok"
