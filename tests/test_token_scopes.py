"""Scoped API tokens: each route against each scope, integration limits, and no way around them.

The table below is the contract, written out by hand: a route added without a row here fails
:func:`test_the_table_covers_every_api_route`, and a route whose declared scope differs from its
row fails the matrix. Each token is made through the API (``POST /api/tokens``) by the route's
caller, an administrator, and every call goes through the test client like a backend's would.
"""

from __future__ import annotations

import re

import pytest

from hub import accounts
from hub.db import database
from hub.models import ApiToken
from hub.scopes import SCOPES
from tests.conftest import PASSWORD

A = "/api/integrations/{ref}"
HOOK = "https://hooks.example.org/in"
# (method, path, request kwargs, what it needs): "any" is every token, "all" only a token
# without scopes (or a session), "public" no sign-in at all.
ROUTES = [
    ("POST", "/api/login", {"json": {"username": "root", "password": PASSWORD}}, "public"),
    ("GET", "/api/openapi.json", {}, "public"),
    ("GET", "/api/me", {}, "any"),
    ("POST", "/api/logout", {}, "any"),
    ("GET", "/api/me/sessions", {}, "all"),
    ("DELETE", "/api/me/sessions", {}, "all"),
    ("GET", "/api/tokens", {}, "all"),
    ("POST", "/api/tokens", {"json": {"name": "child", "scopes": ["{scope}"]}}, "any"),
    ("DELETE", "/api/tokens/{spare}", {}, "all"),
    ("DELETE", "/api/tokens", {}, "any"),
    ("GET", "/api/users", {}, "integrations:read"),
    ("GET", "/api/users/bob", {}, "integrations:read"),
    ("POST", "/api/users", {"json": {"name": "carol", "password": PASSWORD}}, "admin"),
    ("DELETE", "/api/users/dora", {}, "admin"),
    ("POST", "/api/users/bob/deactivate", {}, "admin"),
    ("POST", "/api/users/bob/reactivate", {}, "admin"),
    ("DELETE", "/api/users/bob/sessions", {}, "admin"),
    ("GET", "/api/principals/bob", {}, "integrations:read"),
    ("GET", "/api/teams", {}, "integrations:read"),
    ("POST", "/api/teams", {"json": {"slug": "crew2"}}, "admin"),
    ("GET", "/api/teams/crew", {}, "integrations:read"),
    ("DELETE", "/api/teams/spare-team", {}, "admin"),
    ("GET", "/api/teams/crew/members", {}, "integrations:read"),
    ("PUT", "/api/teams/crew/members/bob", {"json": {"role": "member"}}, "admin"),
    ("DELETE", "/api/teams/crew/members/bob", {}, "admin"),
    ("GET", "/api/audit", {}, "admin"),
    ("GET", "/api/providers", {}, "integrations:read"),
    ("GET", "/api/providers/custom", {}, "integrations:read"),
    ("GET", "/api/providers/custom/icon", {}, "integrations:read"),
    ("GET", "/api/providers/custom/credentials", {}, "admin"),
    ("PUT", "/api/providers/custom/credentials", {"json": {"clientId": "x"}}, "admin"),
    ("DELETE", "/api/providers/custom/credentials", {}, "admin"),
    ("GET", "/api/integrations", {}, "integrations:read"),
    (
        "POST",
        "/api/integrations",
        {"json": {"name": "New", "authType": "bearer"}},
        "integrations:write",
    ),
    (
        "POST",
        "/api/integrations/preview",
        {"json": {"name": "P", "authType": "bearer", "apiBaseUri": "https://api.example.org"}},
        "data",
    ),
    ("GET", A, {}, "integrations:read"),
    ("PATCH", A, {"json": {"name": "Renamed"}}, "integrations:write"),
    ("DELETE", A, {}, "integrations:write"),
    ("GET", A + "/connect", {}, "connections:write"),
    ("GET", A + "/connection", {}, "integrations:read"),
    ("POST", A + "/connection", {"json": {"token": "static"}}, "connections:write"),
    ("DELETE", A + "/connection", {}, "connections:write"),
    ("POST", A + "/connection/refresh", {}, "connections:write"),
    ("GET", A + "/connections", {}, "integrations:read"),
    ("GET", A + "/connection/metadata", {}, "integrations:read"),
    ("PUT", A + "/connection/metadata", {"json": {"team": "ops"}}, "connections:write"),
    ("PUT", A + "/connections/{conn}/metadata", {"json": {"team": "ops"}}, "connections:write"),
    ("GET", A + "/connection/credentials", {}, "credentials:read"),
    ("GET", A + "/shares", {}, "integrations:read"),
    ("PUT", A + "/shares/bob", {"json": {"access": "use"}}, "integrations:write"),
    ("DELETE", A + "/shares/bob", {}, "integrations:write"),
    ("GET", A + "/icon", {}, "integrations:read"),
    (
        "PUT",
        A + "/icon",
        {"data": b"<svg/>", "content_type": "image/svg+xml"},
        "integrations:write",
    ),
    ("DELETE", A + "/icon", {}, "integrations:write"),
    ("GET", A + "/services", {}, "integrations:read"),
    ("GET", A + "/services/files/items", {}, "data"),
    ("GET", A + "/services/files/items/a.txt/download", {}, "data"),
    ("GET", A + "/services/files/items/a.png/thumbnail", {}, "data"),
    ("GET", A + "/services/files/search?q=report", {}, "data"),
    ("GET", A + "/services/files/views", {}, "integrations:read"),
    ("GET", A + "/services/files/views/recent", {}, "data"),
    ("GET", A + "/preview", {}, "data"),
    ("GET", A + "/proxy/v1/me", {}, "data"),
    ("POST", A + "/proxy/v1/me", {"json": {}}, "data"),
    ("PUT", A + "/proxy/", {"json": {}}, "data"),
    ("PATCH", A + "/proxy/v1/me", {"json": {}}, "data"),
    ("DELETE", A + "/proxy/v1/me", {}, "data"),
    ("GET", "/api/webhooks", {"query_string": {"integration": "{ref}"}}, "webhooks:manage"),
    (
        "POST",
        "/api/webhooks",
        {"json": {"url": HOOK, "events": ["connection.connected"], "integration": "{ref}"}},
        "webhooks:manage",
    ),
    ("GET", "/api/webhooks/{hook}", {}, "webhooks:manage"),
    ("PATCH", "/api/webhooks/{hook}", {"json": {"description": "x"}}, "webhooks:manage"),
    ("DELETE", "/api/webhooks/{spare_hook}", {}, "webhooks:manage"),
    ("POST", "/api/webhooks/{hook}/rotate-secret", {}, "webhooks:manage"),
    ("GET", "/api/webhooks/{hook}/deliveries", {}, "webhooks:manage"),
    ("POST", "/api/webhooks/{hook}/test", {}, "webhooks:manage"),
    (
        "POST",
        "/api/webhooks/{hook}/deliveries/{delivery}/redeliver",
        {},
        "webhooks:manage",
    ),
]


def route_id(route: tuple) -> str:
    return f"{route[0]} {route[1]}"


@pytest.fixture
def world(app, make_user, login):
    """An administrator ``root`` owning a connected bearer integration, a user ``bob``, a team
    ``crew``; returns root's signed-in client and the names used in the table's paths."""
    make_user("root", superuser=True)
    for name in ("bob", "dora"):
        make_user(name)
    with app.app_context(), database.connection_context():
        accounts.create_team("crew", members=["bob"])
        accounts.create_team("spare-team")
    root = login("root")
    created = root.post(
        "/api/integrations",
        json={"name": "Team API", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    assert root.post(f"{A.format(ref=ref)}/connection", json={"token": "t"}).status_code == 200
    spare = root.post("/api/tokens", json={"name": "spare"}).json["id"]
    conn = root.get(f"{A.format(ref=ref)}/connections").json["items"][0]["id"]
    hooks = [
        root.post(
            "/api/webhooks",
            json={"url": HOOK, "events": ["connection.connected"], "integration": ref},
        ).json["id"]
        for _ in range(2)
    ]
    delivery = root.post(f"/api/webhooks/{hooks[0]}/test").json["id"]
    names = {"ref": ref, "spare": spare, "conn": conn, "hook": hooks[0], "spare_hook": hooks[1]}
    return root, {**names, "delivery": delivery}


def scoped_token(client, *scopes: str, **extra) -> dict[str, str]:
    made = client.post("/api/tokens", json={"name": "scoped", "scopes": list(scopes), **extra})
    assert made.status_code == 201, made.json
    return {"Authorization": f"Bearer {made.json['token']}"}


def fill(kwargs: dict, scope: str) -> dict:
    if "json" in kwargs and kwargs["json"].get("scopes") == ["{scope}"]:
        return {**kwargs, "json": {**kwargs["json"], "scopes": [scope]}}
    return kwargs


def fill_ref(kwargs: dict, ref: int) -> dict:
    """The integration named in a body or query string (webhooks take it there)."""
    for part in ("json", "query_string"):
        if isinstance(kwargs.get(part), dict) and kwargs[part].get("integration") == "{ref}":
            kwargs = {**kwargs, part: {**kwargs[part], "integration": ref}}
    return kwargs


@pytest.mark.parametrize("method, path, kwargs, needed", ROUTES, ids=[route_id(r) for r in ROUTES])
def test_a_token_reaches_a_route_only_with_its_scope(
    world, requests_mock, method, path, kwargs, needed
):
    requests_mock.register_uri(method, "https://api.example.org/v1/me", json={"me": True})
    requests_mock.register_uri(method, "https://api.example.org/", json={"me": True})
    root, names = world
    url = path.format(**names)
    tokens = {scope: scoped_token(root, scope) for scope in SCOPES}
    # The refused first: a route that changes something then runs once, with the right scope.
    for scope in sorted(SCOPES, key=lambda s: s == needed):
        arguments = fill_ref(fill(kwargs, scope), names["ref"])
        response = root.open(url, method=method, headers=tokens[scope], **arguments)
        refused = (
            response.status_code == 403
            and (response.get_json(silent=True) or {}).get("error", {}).get("code")
            == "insufficient_scope"
        )
        if needed in (scope, "public", "any"):
            assert not refused, (scope, response.get_json(silent=True))
            assert response.status_code < 500 and response.status_code != 401, (
                scope,
                response.status_code,
                response.get_json(silent=True),
            )
        else:
            assert refused, (scope, response.status_code, response.get_json(silent=True))
            error = response.json["error"]
            assert error["fields"] == {"scope": needed}
            assert needed in error["message"]
            challenge = response.headers["WWW-Authenticate"]
            assert challenge == f'Bearer error="insufficient_scope", scope="{needed}"'


def test_the_table_covers_every_api_route(app):
    listed = {(method, path) for method, path, *_ in ROUTES}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        pattern = re.sub(r"<path:[^>]+>", ".*", rule.rule)
        pattern = re.sub(r"<[^>]+>", "[^/]+", pattern)
        if pattern.endswith("/proxy/"):  # the proxy's root: the same view as any path under it
            pattern += ".*"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            matches = [
                p
                for m, p in listed
                if m == method
                and re.fullmatch(
                    pattern,
                    p.format(ref=1, spare=2, conn=3, hook=4, spare_hook=5, delivery=6).partition(
                        "?"
                    )[0],
                )
            ]
            assert matches, f"{method} {rule.rule} has no row in ROUTES"


def test_the_openapi_document_names_each_operations_scope(app, client):
    document = client.get("/api/openapi.json").json
    for method, path, _kwargs, needed in ROUTES:
        template = re.sub(r"/api/integrations/\{ref\}", "/api/integrations/{ref}", path)
        template = re.sub(r"/tokens/\{spare\}", "/tokens/{token_id}", template)
        concrete = template.replace("{ref}", "1").replace("{token_id}", "2").replace("{conn}", "3")
        concrete = concrete.partition("?")[0]  # a row's query string is no part of the route
        found = [
            (found.count("{"), found)
            for found, operations in document["paths"].items()
            if method.lower() in operations
            and re.fullmatch(
                re.sub(r"\\\{[a-z_A-Z]+\\\}", "[^/]+", re.escape(found).replace(r"\{path\}", ".*")),
                concrete,
            )
        ]
        operation = document["paths"][min(found)[1]][method.lower()]
        assert operation["x-hub-scope"] == needed, (method, path)
        if needed in SCOPES:
            assert operation["security"][0] == {"bearerAuth": [needed]}
        if needed == "public":
            assert "security" not in operation


def test_a_token_without_scopes_keeps_every_right_and_says_so(world, token_for):
    root, names = world
    headers = token_for("root")
    assert root.get("/api/audit", headers=headers).status_code == 200
    assert root.delete(f"/api/integrations/{names['ref']}", headers=headers).status_code == 204
    listed = root.get("/api/tokens", headers=headers).json["items"]
    assert {(t["name"], t["scopes"], t["integrations"]) for t in listed} >= {("test", None, None)}


def test_the_admin_scope_gives_no_administration_to_someone_who_is_not_an_administrator(
    world, login
):
    bob = login("bob")
    headers = scoped_token(bob, "admin")
    response = bob.get("/api/audit", headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_a_scoped_token_opens_no_web_page(world, requests_mock):
    root, names = world
    headers = scoped_token(root, *SCOPES)
    for path in ("/", "/account", f"/integrations/{names['ref']}/edit", "/admin/users"):
        response = root.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "insufficient_scope"


def test_metrics_need_the_admin_scope(make_app, make_user, login):
    make_app()
    make_user("root", superuser=True)
    root = login("root")
    assert root.get("/metrics", headers=scoped_token(root, "data")).status_code == 403
    assert root.get("/metrics", headers=scoped_token(root, "admin")).status_code == 200


# -- tokens made by tokens ------------------------------------------------------------------------


def test_a_token_cannot_make_a_token_with_more_rights(world):
    root, _ = world
    reader = scoped_token(root, "integrations:read", "data")
    wider = root.post(
        "/api/tokens", headers=reader, json={"name": "w", "scopes": ["data", "admin"]}
    )
    assert wider.status_code == 403
    assert wider.json["error"]["fields"] == {"scope": "admin"}
    everything = root.post("/api/tokens", headers=reader, json={"name": "w"})
    assert everything.status_code == 403
    narrower = root.post("/api/tokens", headers=reader, json={"name": "n", "scopes": ["data"]})
    assert narrower.status_code == 201
    assert narrower.json["scopes"] == ["data"]


def test_a_token_cannot_make_one_that_outlives_it(world):
    root, _ = world
    short = scoped_token(root, "data", expiresInDays=1)
    longer = root.post(
        "/api/tokens", headers=short, json={"name": "l", "scopes": ["data"], "expiresInDays": 2}
    )
    assert longer.status_code == 403
    assert "expiresAt" in longer.json["error"]["fields"]
    forever = root.post("/api/tokens", headers=short, json={"name": "f", "scopes": ["data"]})
    assert forever.status_code == 403


def test_an_expired_scoped_token_is_not_valid(world, app):
    root, _ = world
    headers = scoped_token(root, "integrations:read", expiresInDays=1)
    with app.app_context(), database.connection_context():
        ApiToken.update(expires_at=ApiToken.created_at).where(ApiToken.name == "scoped").execute()
    assert root.get("/api/integrations", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"scopes": ["files.read"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": "data"}, "scopes"),
        ({"integrations": []}, "integrations"),
        ({"integrations": ["nobody:nothing"]}, "integrations"),
        ({"expiresAt": "yesterday"}, "expiresAt"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"expiresAt": "2999-01-01T00:00:00"}, "expiresAt"),
        ({"expiresAt": "2027-01-01T00:00:00Z", "expiresInDays": 3}, "expiresAt"),
    ],
)
def test_a_bad_token_request_names_what_is_wrong_and_makes_nothing(world, app, body, field):
    root, _ = world
    with app.app_context(), database.connection_context():
        before = ApiToken.select().count()
    response = root.post("/api/tokens", json={"name": "bad", **body})
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["fields"]
    with app.app_context(), database.connection_context():
        assert ApiToken.select().count() == before


# -- tokens limited to integrations ---------------------------------------------------------------


@pytest.fixture
def two_integrations(world, requests_mock):
    root, names = world
    requests_mock.get("https://api.example.org/v1/me", json={"me": True})
    other = root.post(
        "/api/integrations",
        json={"name": "Other API", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    assert other.status_code == 201
    root.post(f"/api/integrations/{other.json['id']}/connection", json={"token": "t2"})
    return root, names["ref"], other.json["id"]


def test_a_limited_token_reaches_only_its_integrations(two_integrations):
    root, mine, other = two_integrations
    headers = scoped_token(root, "integrations:read", "data", integrations=["root:team-api"])
    listed = root.get("/api/integrations", headers=headers).json["items"]
    assert [item["id"] for item in listed] == [mine]
    assert root.get(f"/api/integrations/{mine}/proxy/v1/me", headers=headers).status_code == 200
    for path in ("", "/proxy/v1/me", "/connection", "/services", "/shares"):
        response = root.get(f"/api/integrations/{other}{path}", headers=headers)
        assert response.status_code == 404, path
        assert "this API token" in response.json["error"]["message"]
    by_name = root.get("/api/integrations/root:other-api", headers=headers)
    assert by_name.status_code == 404


def test_a_limited_token_is_shown_with_its_integrations(two_integrations):
    root, mine, _ = two_integrations
    scoped_token(root, "data", integrations=[str(mine)])
    listed = root.get("/api/tokens").json["items"]
    limited = [t for t in listed if t["name"] == "scoped"]
    assert limited[0]["integrations"] == ["root:team-api"]
    assert limited[0]["scopes"] == ["data"]


def test_a_limited_token_cannot_make_a_token_that_reaches_further(two_integrations):
    root, mine, other = two_integrations
    headers = scoped_token(root, "data", integrations=[str(mine)])
    everywhere = root.post("/api/tokens", headers=headers, json={"name": "e", "scopes": ["data"]})
    assert everywhere.status_code == 403
    elsewhere = root.post(
        "/api/tokens",
        headers=headers,
        json={"name": "e", "scopes": ["data"], "integrations": [str(other)]},
    )
    assert elsewhere.status_code == 400  # the other integration is out of this token's sight
    same = root.post(
        "/api/tokens",
        headers=headers,
        json={"name": "s", "scopes": ["data"], "integrations": [str(mine)]},
    )
    assert same.status_code == 201


def test_a_limited_token_whose_integration_is_deleted_reaches_nothing(two_integrations, app):
    """Deleting the integration leaves the token limited to nothing, never to everything; and an
    integration made later (SQLite may give it the same id) is not reached either."""
    root, mine, other = two_integrations
    root.delete(f"/api/integrations/{other}")
    headers = scoped_token(root, "integrations:read", "data", integrations=[str(mine)])
    assert root.delete(f"/api/integrations/{mine}").status_code == 204
    again = root.post(
        "/api/integrations",
        json={"name": "Team API", "authType": "bearer", "apiBaseUri": "https://api.example.org"},
    )
    assert again.status_code == 201
    assert root.get("/api/integrations", headers=headers).json["items"] == []
    assert root.get(f"/api/integrations/{again.json['id']}", headers=headers).status_code == 404
    shown = [t for t in root.get("/api/tokens").json["items"] if t["name"] == "scoped"]
    assert shown[0]["integrations"] == []


def test_a_limited_token_cannot_create_integrations(two_integrations):
    root, mine, _ = two_integrations
    headers = scoped_token(root, "integrations:write", integrations=[str(mine)])
    created = root.post(
        "/api/integrations", headers=headers, json={"name": "Sneaky", "authType": "bearer"}
    )
    assert created.status_code == 403
    assert "integrations" in created.json["error"]["message"]


# -- the command line and the account page --------------------------------------------------------


def test_hub_tokens_create_makes_a_scoped_limited_expiring_token(world, runner, app):
    root, names = world
    result = runner.invoke(
        args=[
            "tokens",
            "create",
            "root",
            "--name",
            "nightly",
            "--scope",
            "data",
            "--integration",
            "root:team-api",
            "--expires",
            "30d",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "data" in result.output.splitlines()[0]
    headers = {"Authorization": f"Bearer {result.output.splitlines()[-1]}"}
    assert root.get(f"/api/integrations/{names['ref']}/preview", headers=headers).status_code != 403
    refused = root.patch(f"/api/integrations/{names['ref']}", headers=headers, json={"name": "x"})
    assert refused.json["error"]["fields"] == {"scope": "integrations:write"}
    with app.app_context(), database.connection_context():
        token = ApiToken.get(ApiToken.name == "nightly")
        assert token.scopes == ["data"] and token.limited and token.expires_at is not None


@pytest.mark.parametrize(
    "args, named",
    [
        (["--scope", "files.read"], "files.read"),
        (["--integration", "root:nothing"], "root:nothing"),
        (["--expires", "soon"], "--expires"),
    ],
)
def test_hub_tokens_create_names_a_bad_option(world, runner, app, args, named):
    result = runner.invoke(args=["tokens", "create", "root", *args])
    assert result.exit_code != 0
    assert named in result.output
    with app.app_context(), database.connection_context():
        assert not ApiToken.select().where(ApiToken.name == "cli").exists()


def test_the_account_page_makes_a_scoped_token_and_shows_rights(world, app):
    root, _ = world
    page = root.get("/account")
    assert b"all rights of your account" in page.data
    token = page.data.decode().split('name="csrf_token" value="')[1].split('"')[0]
    made = root.post(
        "/account/tokens",
        data={
            "csrf_token": token,
            "name": "sync job",
            "rights": "some",
            "scopes": ["data", "integrations:read"],
            "reach": "some",
            "integrations": ["root:team-api"],
        },
    )
    assert made.status_code == 200
    assert b"integrations:read, data" in made.data
    assert b"only root:team-api" in made.data
    refused = root.post(
        "/account/tokens",
        data={"csrf_token": token, "name": "nothing", "rights": "some"},
    )
    assert refused.status_code == 400
    assert b"one or more of" in refused.data
