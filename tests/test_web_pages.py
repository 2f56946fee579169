"""The web app's pages and forms through Flask's test client: connections, integration forms,
credentials, sharing, sources and the account page — with their CSRF and access rules."""

from __future__ import annotations

import io
import re
import struct
import zlib
from html.parser import HTMLParser

import pytest

from hub.db import database
from hub.models import ApiToken, Connection, Integration, Share
from tests.conftest import PASSWORD
from tests.test_web import csrf_token

API = "https://files.example.org"


def signed_in(app, name: str):
    """A browser-like client signed in through the sign-in form."""
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    return client


def post(client, path: str, data: dict | None = None, *, token_from: str = "/connections", **kw):
    """POST a form the way the page does: with the CSRF token read from a rendered page."""
    return client.post(
        path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)}, **kw
    )


def text(response) -> str:
    return response.get_data(as_text=True)


def png() -> bytes:
    raw = b"\x00\xff\x00\x00"
    chunk = lambda kind, data: (  # noqa: E731
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    )
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def web_app(files_app, make_user):
    make_user("alice")
    make_user("bob")
    make_user("carol")
    return files_app


@pytest.fixture
def alice_web(web_app):
    return signed_in(web_app, "alice")


@pytest.fixture
def bob_web(web_app):
    return signed_in(web_app, "bob")


def create(client, **fields) -> int:
    data = {"provider": "testfiles", "name": "Team Files", "authType": "bearer", **fields}
    response = post(client, f"/integrations/new?provider={data['provider']}", data)
    assert response.status_code == 303, text(response)
    with database.connection_context():
        return Integration.get(Integration.name == data["name"]).id


# -- pages need a session ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/connections",
        "/sources",
        "/account",
        "/integrations/new",
        "/integrations/1/edit",
        "/integrations/1/sharing",
        "/integrations/1/browse",
        "/integrations/1/credentials",
        "/integrations/1/connect",
    ],
)
def test_strangers_are_sent_to_sign_in_and_back(web_app, path):
    response = web_app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


def test_pages_allow_only_their_own_scripts_and_styles(alice_web):
    response = alice_web.get("/connections")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text(response)) is None  # no inline script
    assert "http://" not in re.sub(r'value="http://[^"]*"', "", text(response).split("<main")[0])


# -- connections ----------------------------------------------------------------------------


def test_the_connections_page_shows_what_you_can_see_with_a_status_badge(alice_web, bob_web):
    create(alice_web)
    page = text(alice_web.get("/connections"))
    assert "Team Files" in page and "alice:team-files" in page
    assert 'data-status="not_connected"' in page and "Not connected" in page
    assert "You have not connected your account yet." in page
    assert "Team Files" not in text(bob_web.get("/connections"))


def test_an_empty_connections_page_says_how_to_start(alice_web):
    page = text(alice_web.get("/connections"))
    assert "No integrations yet" in page and 'href="/integrations/new"' in page


def test_credentials_typed_in_connect_the_row(alice_web):
    ref = create(alice_web)
    form = text(alice_web.get(f"/integrations/{ref}/credentials"))
    assert '<label for="token">Bearer token' in form
    response = post(alice_web, f"/integrations/{ref}/credentials", {"token": "tok-1"})
    assert response.status_code == 303
    row = text(alice_web.get(f"/connections/{ref}/row"))
    assert row.lstrip().startswith("<tr") and 'data-status="connected"' in row
    assert "tok-1" not in row


def test_missing_credentials_are_named_next_to_the_field(alice_web):
    ref = create(alice_web)
    response = post(alice_web, f"/integrations/{ref}/credentials", {"token": ""})
    assert response.status_code == 400
    assert 'id="token-error"' in text(response) and 'aria-invalid="true"' in text(response)


def test_credentials_without_the_form_token_are_refused(alice_web):
    ref = create(alice_web)
    response = alice_web.post(f"/integrations/{ref}/credentials", data={"token": "tok-1"})
    assert response.status_code == 403
    with database.connection_context():
        assert Connection.select().count() == 0


def test_disconnect_needs_the_form_token_then_removes_the_connection(alice_web):
    ref = create(alice_web)
    post(alice_web, f"/integrations/{ref}/credentials", {"token": "tok-1"})
    assert alice_web.post(f"/integrations/{ref}/disconnect").status_code == 403
    response = post(alice_web, f"/integrations/{ref}/disconnect", follow_redirects=True)
    assert "Team Files is disconnected." in text(response)
    assert 'data-status="not_connected"' in text(response)


def test_refresh_explains_when_there_is_nothing_to_refresh(alice_web):
    ref = create(alice_web)
    response = post(alice_web, f"/integrations/{ref}/refresh", follow_redirects=True)
    assert "Only OAuth2 connections are refreshed." in text(response)


def test_connect_starts_the_flow_at_the_provider(web_app, alice_web):
    ref = create(alice_web, authType="oauth2", clientId="client-1", clientSecret="s3cret")
    response = alice_web.get(f"/integrations/{ref}/connect")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://auth.example.org/authorize?")
    assert "state=" in location and "code_challenge=" in location


def test_a_connect_that_cannot_start_ends_on_the_popup_result_page(alice_web):
    ref = create(alice_web, authType="oauth2")  # no client id anywhere
    response = alice_web.get(f"/integrations/{ref}/connect")
    assert response.status_code == 400
    page = text(response)
    assert 'data-ok="false"' in page and "hub:oauth" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_someone_who_cannot_see_an_integration_gets_404_on_every_page(alice_web, bob_web):
    ref = create(alice_web)
    for path in (
        f"/connections/{ref}/row",
        f"/integrations/{ref}/edit",
        f"/integrations/{ref}/sharing",
        f"/integrations/{ref}/browse",
        f"/integrations/{ref}/browse/files",
        f"/integrations/{ref}/credentials",
    ):
        assert bob_web.get(path).status_code == 404, path
    for path in ("disconnect", "refresh", "delete", "sharing", "edit", "credentials"):
        response = post(bob_web, f"/integrations/{ref}/{path}", {"name": "x", "token": "t"})
        assert response.status_code == 404, path
        assert "Team Files" not in text(bob_web.get("/connections"))
    with database.connection_context():
        assert Integration.get_by_id(ref).name == "Team Files"
        assert Connection.select().count() == 0


def test_delete_needs_manage_access(alice_web, bob_web):
    ref = create(alice_web)
    post(alice_web, f"/integrations/{ref}/sharing", {"principal": "bob", "access": "edit"})
    response = post(bob_web, f"/integrations/{ref}/delete", follow_redirects=True)
    assert "manage" in text(response)
    response = post(alice_web, f"/integrations/{ref}/delete", follow_redirects=True)
    assert "Team Files was deleted." in text(response)
    with database.connection_context():
        assert not Integration.select().exists()


# -- create and edit forms --------------------------------------------------------------------


def test_the_new_page_lists_the_installed_providers(alice_web):
    page = text(alice_web.get("/integrations/new"))
    assert 'value="testfiles"' in page and 'value="custom"' in page


@pytest.mark.parametrize("name", ["google", "infomaniak", "powerfolder", "microsoft", "dropbox"])
def test_every_bundled_provider_is_offered_with_its_icon(app, make_user, name):
    make_user("dora")
    page = text(signed_in(app, "dora").get("/integrations/new"))
    assert f'value="{name}"' in page
    assert f'src="/api/providers/{name}/icon"' in page


def test_an_unknown_provider_is_named(alice_web):
    response = alice_web.get("/integrations/new?provider=nope")
    assert response.status_code == 400
    assert "no provider named &#39;nope&#39; is installed" in text(response)


def test_the_form_follows_the_provider_declaration(web_app, alice_web):
    page = text(alice_web.get("/integrations/new?provider=testfiles"))
    redirect_uri = web_app.config["PUBLIC_URL"] + "/oauth2/callback"
    assert '<option value="oauth2"' in page and '<option value="bearer"' in page
    assert '<option value="apikey"' not in page
    assert f'value="{redirect_uri}"' in page  # the redirect URI to register, with a copy button
    assert 'data-copy="redirect-uri"' in page
    assert 'placeholder="https://files.example.org"' in page  # the default API base URL
    assert "${user.email}" in page or "${" in page  # the header variables are listed


def test_the_form_tells_how_to_get_each_kind_of_credential(alice_web):
    page = text(alice_web.get("/integrations/new?provider=testfiles"))
    assert (
        '<p class="hint" data-for-auth="bearer">'
        "Create a token at files.example.org/tokens with files:read.</p>"
    ) in page


def test_the_credentials_page_repeats_where_to_get_the_token(alice_web):
    ref = create(alice_web)
    page = text(alice_web.get(f"/integrations/{ref}/credentials"))
    assert "Create a token at files.example.org/tokens with files:read." in page


def test_custom_provider_errors_are_shown_next_to_their_fields(alice_web):
    response = post(
        alice_web,
        "/integrations/new?provider=custom",
        {"name": "Weather", "authType": "apikey", "apiBaseUri": "ftp://x"},
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="apiBaseUri-error"' in page
    assert 'value="Weather"' in page  # what was typed is kept


def test_a_bad_header_line_is_named(alice_web):
    response = post(
        alice_web,
        "/integrations/new?provider=testfiles",
        {"name": "Files", "authType": "bearer", "headers": "X-Ok: 1\nno colon here"},
    )
    assert response.status_code == 400
    assert "line 2 has no" in text(response)


def test_a_duplicate_slug_is_a_field_error(alice_web):
    create(alice_web)
    response = post(
        alice_web,
        "/integrations/new?provider=testfiles",
        {"name": "Team Files", "authType": "bearer"},
    )
    assert response.status_code == 409
    assert "already" in text(response)


def test_creating_without_the_form_token_is_refused(alice_web):
    response = alice_web.post(
        "/integrations/new?provider=testfiles", data={"name": "Files", "authType": "bearer"}
    )
    assert response.status_code == 403
    with database.connection_context():
        assert not Integration.select().exists()


def test_an_icon_is_uploaded_with_the_form_and_checked_by_content(alice_web):
    response = post(
        alice_web,
        "/integrations/new?provider=testfiles",
        {"name": "Pics", "authType": "bearer", "icon": (io.BytesIO(b"<svg/>"), "i.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and 'id="icon-error"' in text(response)
    with database.connection_context():
        assert not Integration.select().exists()
    ref = create(alice_web, name="Pics", icon=(io.BytesIO(png()), "i.png"))
    icon = alice_web.get(f"/api/integrations/{ref}/icon")
    assert icon.status_code == 200 and icon.mimetype == "image/png"


def test_editing_shows_the_stored_values_and_saves_changes(alice_web):
    ref = create(alice_web, authType="oauth2", clientId="client-1", clientSecret="s3cret")
    page = text(alice_web.get(f"/integrations/{ref}/edit"))
    assert 'value="client-1"' in page and "s3cret" not in page
    assert "saved — leave empty to keep it" in page
    response = post(
        alice_web,
        f"/integrations/{ref}/edit",
        {
            "name": "Renamed",
            "slug": "team-files",
            "authType": "oauth2",
            "clientId": "client-2",
            "headers": "X-Team: ${user.name}",
        },
        token_from=f"/integrations/{ref}/edit",
    )
    assert response.status_code == 303, text(response)
    with database.connection_context():
        row = Integration.get_by_id(ref)
        assert row.name == "Renamed" and row.client_id == "client-2"
        assert row.client_secret is not None  # empty secret field keeps the stored one
        assert row.headers == {"X-Team": "${user.name}"}


def test_editing_needs_edit_access(alice_web, bob_web):
    ref = create(alice_web)
    post(alice_web, f"/integrations/{ref}/sharing", {"principal": "bob", "access": "use"})
    assert bob_web.get(f"/integrations/{ref}/edit").status_code == 403
    assert "Edit" not in text(bob_web.get(f"/connections/{ref}/row")).split("Browse")[-1]


# -- sharing --------------------------------------------------------------------------------


def test_sharing_adds_changes_and_removes(alice_web, bob_web):
    ref = create(alice_web)
    response = post(
        alice_web,
        f"/integrations/{ref}/sharing",
        {"principal": "bob", "access": "use"},
        follow_redirects=True,
    )
    assert "shared with bob (use)" in text(response)
    assert "Team Files" in text(bob_web.get("/connections"))
    post(alice_web, f"/integrations/{ref}/sharing", {"principal": "bob", "access": "manage"})
    with database.connection_context():
        assert Share.get().access == "manage"
    response = post(alice_web, f"/integrations/{ref}/sharing/bob/remove", follow_redirects=True)
    assert "no longer shared with bob" in text(response)
    assert bob_web.get(f"/integrations/{ref}/sharing").status_code == 404


@pytest.mark.parametrize(
    "form, status, message",
    [
        ({"principal": "", "access": "use"}, 400, "enter a user or team name"),
        ({"principal": "nobody", "access": "use"}, 404, "No user or team named"),
        ({"principal": "bob", "access": "root"}, 400, "one of use, edit, manage"),
        ({"principal": "alice", "access": "use"}, 400, "is the owner"),
    ],
)
def test_bad_shares_are_explained(alice_web, form, status, message):
    ref = create(alice_web)
    response = post(alice_web, f"/integrations/{ref}/sharing", form)
    assert response.status_code == status
    assert message in text(response)
    with database.connection_context():
        assert not Share.select().exists()


def test_sharing_needs_the_form_token_and_manage_access(alice_web, bob_web):
    ref = create(alice_web)
    data = {"principal": "carol", "access": "use"}
    assert alice_web.post(f"/integrations/{ref}/sharing", data=data).status_code == 403
    post(alice_web, f"/integrations/{ref}/sharing", {"principal": "bob", "access": "edit"})
    assert bob_web.get(f"/integrations/{ref}/sharing").status_code == 403
    assert post(bob_web, f"/integrations/{ref}/sharing", data).status_code == 403
    with database.connection_context():
        assert Share.select().count() == 1


# -- sources ---------------------------------------------------------------------------------


def listing(entries, **extra):
    return {"entries": entries, **extra}


@pytest.fixture
def connected(alice_web):
    ref = create(alice_web)
    post(alice_web, f"/integrations/{ref}/credentials", {"token": "tok-1"})
    return ref


def test_sources_lists_browsable_integrations(alice_web, connected):
    page = text(alice_web.get("/sources"))
    assert f'href="/integrations/{connected}/browse"' in page
    services = text(alice_web.get(f"/integrations/{connected}/browse"))
    assert f'href="/integrations/{connected}/browse/files"' in services
    assert "Cannot be browsed here." in services  # the archive service has no browse


def test_a_folder_page_has_items_breadcrumbs_downloads_and_load_more(
    alice_web, connected, requests_mock
):
    requests_mock.get(
        f"{API}/list",
        json=listing(
            [
                {"id": "d2", "name": "Reports", "dir": True},
                {"id": "d1/a b.txt", "name": "a b.txt", "size": 1536, "mtime": 1700000000},
            ],
            path=[{"id": "d1", "name": "Docs"}],
            next="c2",
        ),
    )
    response = alice_web.get(f"/integrations/{connected}/browse/files?parent=d1")
    page = text(response)
    assert response.status_code == 200
    assert requests_mock.last_request.qs["parent"] == ["d1"]
    assert f'href="/integrations/{connected}/browse/files?parent=d2"' in page
    assert f"/api/integrations/{connected}/services/files/items/d1/a%20b.txt/download" in page
    assert '<data value="1536" data-bytes>' in page
    assert '<time datetime="2023-11-14T22:13:20Z">' in page
    assert '<span aria-current="page">Docs</span>' in page
    assert "cursor=c2" in page and "data-more" in page


def test_a_provider_failure_is_shown_on_the_folder_page(alice_web, connected, requests_mock):
    requests_mock.get(f"{API}/list", status_code=500, text="<html>oops</html>")
    response = alice_web.get(f"/integrations/{connected}/browse/files")
    assert response.status_code == 502
    assert 'role="alert"' in text(response) and "Test Files" in text(response)


def test_an_unknown_service_is_a_404_page(alice_web, connected):
    response = alice_web.get(f"/integrations/{connected}/browse/nope")
    assert response.status_code == 404
    assert "has no service" in text(response)


# -- account ---------------------------------------------------------------------------------


def test_a_new_api_token_is_shown_once_and_works(web_app, alice_web):
    response = post(alice_web, "/account/tokens", {"name": "backup", "expiresInDays": "30"})
    assert response.status_code == 200
    token = re.search(r'id="new-token" value="([^"]+)"', text(response)).group(1)
    assert token not in text(alice_web.get("/account"))
    api = web_app.test_client()
    me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["name"] == "alice"


def test_token_form_errors_and_revocation(alice_web):
    response = post(alice_web, "/account/tokens", {"name": ""})
    assert response.status_code == 400 and 'id="name-error"' in text(response)
    post(alice_web, "/account/tokens", {"name": "ci"})
    with database.connection_context():
        token_id = ApiToken.get().id
    assert alice_web.post(f"/account/tokens/{token_id}/revoke").status_code == 403
    response = post(alice_web, f"/account/tokens/{token_id}/revoke", follow_redirects=True)
    assert "was revoked" in text(response)
    with database.connection_context():
        assert not ApiToken.select().where(ApiToken.id == token_id).exists()


def test_a_shared_account_is_connected_only_by_managers(alice_web, bob_web):
    ref = create(alice_web, connectionMode="shared", authType="oauth2", clientId="c")
    post(alice_web, f"/integrations/{ref}/sharing", {"principal": "bob", "access": "use"})
    row = text(bob_web.get(f"/connections/{ref}/row"))
    assert "ask someone with manage access" in row and "data-connect" not in row
    assert "data-connect" in text(alice_web.get(f"/connections/{ref}/row"))
    assert bob_web.get(f"/integrations/{ref}/connect").status_code == 403


def test_many_connections_come_in_pages_with_load_more(alice_web):
    for number in range(51):
        created = alice_web.post(
            "/api/integrations",
            json={"name": f"Files {number:02}", "provider": "testfiles", "authType": "bearer"},
        )
        assert created.status_code == 201
    first = text(alice_web.get("/connections"))
    assert first.count("<tr data-integration-id=") == 50
    assert 'data-more href="/connections?offset=50"' in first
    second = text(alice_web.get("/connections?offset=50"))
    assert second.count("<tr data-integration-id=") == 1 and "Files 50" in second
    assert "data-more" not in second


def test_no_page_asset_comes_from_another_origin():
    """Templates, styles and the script name no remote URL (no CDN, no web font, no tracker)."""
    from pathlib import Path

    import hub.web

    folder = Path(hub.web.__file__).parent
    remote = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
    for path in [*folder.glob("templates/*.html"), *folder.glob("static/*")]:
        assert not remote.search(path.read_text()), path.name


class _Fields(HTMLParser):
    """Form fields of a page and the ids its labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if attributes.get("for"):
                self.labelled.add(attributes["for"])
        elif tag in ("input", "select", "textarea"):
            if attributes.get("type") in ("hidden", "submit", "button"):
                return
            self.fields.append({**attributes, "_wrapped": "yes" if self._label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def unlabelled_fields(client, path: str) -> list[dict[str, str | None]]:
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, path
    parser = _Fields()
    parser.feed(text(response))
    return [
        field
        for field in parser.fields
        if not (
            field["_wrapped"]
            or field.get("aria-label")
            or (field.get("id") and field["id"] in parser.labelled)
        )
    ]


def test_every_form_field_has_a_label(alice_web, connected, requests_mock):
    post(alice_web, f"/integrations/{connected}/sharing", {"principal": "bob", "access": "use"})
    post(alice_web, "/account/tokens", {"name": "ci"})
    requests_mock.get(f"{API}/list", json=listing([{"id": "f", "name": "f.txt", "size": 1}]))
    pages = [
        "/connections",
        "/sources",
        "/account",
        "/integrations/new",
        "/integrations/new?provider=custom",
        "/integrations/new?provider=testfiles",
        f"/integrations/{connected}/edit",
        f"/integrations/{connected}/sharing",
        f"/integrations/{connected}/credentials",
        f"/integrations/{connected}/browse/files",
    ]
    for path in pages:
        assert unlabelled_fields(alice_web, path) == [], path


def test_every_admin_form_field_has_a_label(web_app, make_user):
    make_user("root", superuser=True)
    root = signed_in(web_app, "root")
    post(root, "/admin/teams", {"slug": "ops", "name": "Ops"}, token_from="/admin/teams")
    pages = ["/admin", "/admin/users", "/admin/users/alice", "/admin/teams", "/admin/teams/ops"]
    pages += ["/admin/providers", "/admin/providers/testfiles", "/admin/plugins", "/admin/audit"]
    for path in pages:
        assert unlabelled_fields(root, path) == [], path


@pytest.mark.parametrize("days", ["0", "soon", "99999"])
def test_a_bad_token_expiry_is_named(alice_web, days):
    response = post(alice_web, "/account/tokens", {"name": "ci", "expiresInDays": days})
    assert response.status_code == 400 and 'id="expiresInDays-error"' in text(response)
    with database.connection_context():
        assert not ApiToken.select().exists()
