"""Every route under an integration, for every kind of caller (SECURITY 24).

The integration is owned by team ``owners``. Callers: anonymous, an outsider, users it is
shared with at ``use``, ``edit`` and ``manage``, a member of the owning team, and a superuser.
Whoever cannot see it gets 404 (never 403); whoever sees it without the level needed gets 403.
"""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from hub import accounts
from hub.db import database
from tests.conftest import PASSWORD


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


ROLES = {
    "anonymous": None,
    "outsider": None,
    "use": "use",
    "edit": "edit",
    "manage": "manage",
    "team-member": "manage",
    "superuser": "manage",
}
RANK = {None: 0, "use": 1, "edit": 2, "manage": 3}
AUTH, TOKEN = "https://login.example.org/authorize", "https://login.example.org/token"


def route_id(route: tuple) -> str:
    method, suffix, kwargs = route[:3]
    fields = f" {'+'.join(sorted(kwargs['json']))}" if method == "PATCH" else ""
    return f"{method} {suffix or '/'}{fields}"


# (method, path under the integration, request kwargs, level needed, success statuses)
ROUTES = [
    ("GET", "", {}, "use", {200}),
    ("PATCH", "", {"json": {"name": "Renamed"}}, "edit", {200}),
    ("PATCH", "", {"json": {"headers": {"X-Team": "${integration.slug}"}}}, "edit", {200}),
    # Fields that decide where credentials go (SECURITY 30): manage only.
    ("PATCH", "", {"json": {"apiBaseUri": "https://api2.example.org"}}, "manage", {200}),
    (
        "PATCH",
        "",
        {"json": {"settings": {"revokeUri": "https://api.example.org/r"}}},
        "manage",
        {200},
    ),
    (
        "PATCH",
        "",
        {"json": {"authType": "oauth2", "clientId": "c", "authUri": AUTH, "tokenUri": TOKEN}},
        "manage",
        {200},
    ),
    ("DELETE", "", {}, "manage", {204}),
    ("GET", "/connection", {}, "use", {200}),
    ("POST", "/connection", {"json": {"token": "static-token"}}, "use", {200}),
    ("DELETE", "/connection", {}, "use", {204}),
    # The integration uses bearer tokens: OAuth routes answer 400 once access is granted.
    ("GET", "/connect", {}, "use", {400}),
    ("POST", "/connection/refresh", {}, "use", {400}),
    ("GET", "/shares", {}, "use", {200}),
    ("GET", "/connection/metadata", {}, "use", {200}),
    ("PUT", "/connection/metadata", {"json": {"team": "ops"}}, "use", {200}),
    # An id that is no connection of it: past the access check, 404.
    ("PUT", "/connections/999999/metadata", {"json": {"team": "ops"}}, "manage", {404}),
    # Credentials go only to a token with credentials:read: a session is refused past access.
    ("GET", "/connection/credentials", {}, "use", {403}),
    # Every connection of the integration (never a secret): manage only.
    ("GET", "/connections", {}, "manage", {200}),
    ("GET", "/connections?status=connected&limit=1", {}, "manage", {200}),
    ("PUT", "/shares/bystander", {"json": {"access": "use"}}, "manage", {200}),
    ("DELETE", "/shares/sharee-use", {}, "manage", {204}),
    ("GET", "/services", {}, "use", {200}),
    # The custom provider declares no services: past the access check, 404 names the service.
    ("GET", "/services/files/items", {}, "use", {404}),
    ("GET", "/services/files/items/a.txt/download", {}, "use", {404}),
    ("GET", "/services/files/items/a.png/thumbnail", {}, "use", {404}),
    ("GET", "/services/files/search?q=report", {}, "use", {404}),
    ("GET", "/services/files/views", {}, "use", {404}),
    ("GET", "/services/files/views/recent", {}, "use", {404}),
    ("GET", "/preview", {}, "use", {200}),
    ("GET", "/proxy/v1/me", {}, "use", {200}),
    ("POST", "/proxy/v1/me", {"json": {}}, "use", {200}),
    ("GET", "/icon", {}, "use", {200}),
    ("PUT", "/icon", {"data": tiny_png(), "content_type": "image/png"}, "edit", {200}),
    ("DELETE", "/icon", {}, "edit", {204}),
]


@pytest.fixture
def world(app, make_user):
    """The integration, its shares, and one signed-in client per role."""
    for name in ("teamie", "outsider", "sharee-use", "sharee-edit", "sharee-manage", "bystander"):
        make_user(name)
    make_user("root", superuser=True)
    with app.app_context(), database.connection_context():
        accounts.create_team("owners", members=["teamie"])
    teamie = signed_in(app, "teamie")
    created = teamie.post(
        "/api/integrations",
        json={
            "name": "Team API",
            "ownerId": "owners",
            "authType": "bearer",
            "apiBaseUri": "https://api.example.org",
        },
    )
    assert created.status_code == 201, created.json
    ref = created.json["id"]
    for level in ("use", "edit", "manage"):
        shared = teamie.put(
            f"/api/integrations/{ref}/shares/sharee-{level}", json={"access": level}
        )
        assert shared.status_code == 200, shared.json
    assert (
        teamie.put(
            f"/api/integrations/{ref}/icon", data=tiny_png(), content_type="image/png"
        ).status_code
        == 200
    )
    clients = {
        "anonymous": app.test_client(),
        "outsider": signed_in(app, "outsider"),
        "use": signed_in(app, "sharee-use"),
        "edit": signed_in(app, "sharee-edit"),
        "manage": signed_in(app, "sharee-manage"),
        "team-member": teamie,
        "superuser": signed_in(app, "root"),
    }
    return ref, clients


def signed_in(app, name):
    client = app.test_client()
    assert (
        client.post("/api/login", json={"username": name, "password": PASSWORD}).status_code == 200
    )
    return client


def prepare(client, ref, method, suffix):
    """Some routes need state that belongs to the caller: their own connection to delete."""
    if (method, suffix) == ("DELETE", "/connection") or suffix.startswith(
        ("/proxy/", "/connection/metadata")
    ):
        client.post(f"/api/integrations/{ref}/connection", json={"token": "to-be-removed"})


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    "method, suffix, kwargs, needed, ok", ROUTES, ids=[route_id(r) for r in ROUTES]
)
def test_access_matrix(world, requests_mock, role, method, suffix, kwargs, needed, ok):
    ref, clients = world
    requests_mock.register_uri(method, "https://api.example.org/v1/me", json={"me": True})
    client = clients[role]
    prepare(client, ref, method, suffix)
    response = client.open(f"/api/integrations/{ref}{suffix}", method=method, **kwargs)
    level = ROLES[role]
    if role == "anonymous":
        assert response.status_code == 401
    elif level is None:
        assert response.status_code == 404
        assert "no integration" in response.json["error"]["message"]
    elif RANK[level] < RANK[needed]:
        assert response.status_code == 403, response.json
    else:
        assert response.status_code in ok, response.get_json()


@pytest.mark.parametrize("role", ["outsider", "use", "team-member", "superuser"])
def test_the_natural_id_gives_the_same_answer_as_the_numeric_id(world, role):
    ref, clients = world
    by_number = clients[role].get(f"/api/integrations/{ref}")
    by_name = clients[role].get("/api/integrations/owners:team-api")
    assert by_number.status_code == by_name.status_code
    if by_number.status_code == 200:
        assert by_number.get_json() == by_name.get_json()
    else:
        assert by_number.json["error"]["code"] == by_name.json["error"]["code"] == "not_found"


def test_the_matrix_covers_every_route_under_an_integration(app):
    base = "/api/integrations/<ref>"
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(base):
            continue
        pattern = re.sub(r"<path:[^>]+>", ".+", rule.rule[len(base) :])
        pattern = re.sub(r"<[^>]+>", "[^/]+", pattern)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            covered = [
                s
                for m, s, *_ in ROUTES
                if m == method and re.fullmatch(pattern, s.partition("?")[0])
            ]
            if "/proxy/" in rule.rule:
                continue  # every proxy method and both proxy rules share the view tested above
            assert covered, (method, rule.rule)


def test_the_list_shows_each_caller_what_they_can_see(world):
    ref, clients = world
    for role in ("use", "edit", "manage", "team-member", "superuser"):
        items = clients[role].get("/api/integrations").json["items"]
        assert [i["id"] for i in items] == [ref], role
        assert items[0]["access"] == ROLES[role]
    assert clients["outsider"].get("/api/integrations").json["items"] == []
    assert clients["anonymous"].get("/api/integrations").status_code == 401


def test_a_share_with_a_team_gives_its_members_that_level(app, world, make_user):
    ref, clients = world
    make_user("newcomer")
    with app.app_context(), database.connection_context():
        accounts.create_team("readers", members=["newcomer"])
    clients["manage"].put(f"/api/integrations/{ref}/shares/readers", json={"access": "edit"})
    newcomer = signed_in(app, "newcomer")
    assert newcomer.get(f"/api/integrations/{ref}").json["access"] == "edit"
    assert newcomer.delete(f"/api/integrations/{ref}").status_code == 403


def test_the_shared_connection_needs_manage(app, world):
    ref, clients = world
    clients["team-member"].patch(f"/api/integrations/{ref}", json={"connectionMode": "shared"})
    body = {"token": "service-account"}
    assert clients["use"].post(f"/api/integrations/{ref}/connection", json=body).status_code == 403
    assert clients["edit"].post(f"/api/integrations/{ref}/connection", json=body).status_code == 403
    assert (
        clients["manage"].post(f"/api/integrations/{ref}/connection", json=body).status_code == 200
    )
    status = clients["use"].get(f"/api/integrations/{ref}/connection").json
    assert status["status"] == "connected" and status["holder"] == "shared"


# -- the web pages under an integration ----------------------------------------------------------

EDIT_FORM = {
    "name": "Team API",
    "slug": "team-api",
    "authType": "bearer",
    "connectionMode": "per-user",
    "apiBaseUri": "https://api.example.org",
}
# (method, path with {ref}, form, level needed, success statuses)
WEB_ROUTES = [
    ("GET", "/connections/{ref}/row", None, "use", {200}),
    # A bearer integration: the connect page explains (in the popup's result page) with a 400.
    ("GET", "/integrations/{ref}/connect", None, "use", {400}),
    ("POST", "/integrations/{ref}/refresh", {}, "use", {303}),
    ("POST", "/integrations/{ref}/disconnect", {}, "use", {303}),
    ("POST", "/integrations/{ref}/delete", {}, "manage", {303}),
    ("GET", "/integrations/{ref}/credentials", None, "use", {200}),
    ("POST", "/integrations/{ref}/credentials", {"token": "typed-in"}, "use", {303}),
    ("GET", "/integrations/{ref}/edit", None, "edit", {200}),
    ("POST", "/integrations/{ref}/edit", EDIT_FORM, "edit", {303}),
    ("GET", "/integrations/{ref}/sharing", None, "manage", {200}),
    (
        "POST",
        "/integrations/{ref}/sharing",
        {"principal": "bystander", "access": "use"},
        "manage",
        {303},
    ),
    ("POST", "/integrations/{ref}/sharing/sharee-use/remove", {}, "manage", {303}),
    ("GET", "/integrations/{ref}/browse", None, "use", {200}),
    # The custom provider declares no services: past the access check, 404 names the service.
    ("GET", "/integrations/{ref}/browse/files", None, "use", {404}),
    ("GET", "/integrations/{ref}/browse/files/search?q=report", None, "use", {404}),
    ("GET", "/integrations/{ref}/browse/files/views/recent", None, "use", {404}),
    ("GET", "/integrations/{ref}/webhooks", None, "manage", {200}),
    (
        "POST",
        "/integrations/{ref}/webhooks",
        {"url": "https://hooks.example.org/in", "events": "connection.connected"},
        "manage",
        {200},
    ),
]


def form_token(client) -> str:
    page = client.get("/account", follow_redirects=True)  # the sign-in page for strangers
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    "method, path, form, needed, ok", WEB_ROUTES, ids=[f"{r[0]} {r[1]}" for r in WEB_ROUTES]
)
def test_web_access_matrix(world, role, method, path, form, needed, ok):
    ref, clients = world
    client = clients[role]
    prepare(client, ref, method, "/connection" if path.endswith("/disconnect") else path)
    kwargs = {}
    if form is not None:
        kwargs["data"] = {**form, "csrf_token": form_token(client)}
    response = client.open(path.format(ref=ref), method=method, **kwargs)
    level = ROLES[role]
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    elif level is None:
        assert response.status_code == 404
        assert "no integration" in response.get_data(as_text=True)
    elif RANK[level] < RANK[needed]:
        assert response.status_code == 403, response.get_data(as_text=True)
    else:
        assert response.status_code in ok, response.get_data(as_text=True)


def test_the_web_matrix_covers_every_page_under_an_integration(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/integrations/<", "/connections/<")):
            continue
        pattern = re.sub(r"<[^>]+>", "[^/]+", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            covered = [
                p
                for m, p, *_ in WEB_ROUTES
                if m == method and re.fullmatch(pattern, p.partition("?")[0])
            ]
            assert covered, (method, rule.rule)
