"""The provider contract: one suite every provider plugin runs against its own recorded answers.

Subclass :class:`ProviderContract` in the plugin's tests (name the class ``Test...``), say which
provider it checks, and give the recorded answers as fixtures; pytest collects the inherited
tests. Everything goes through the hub's HTTP API, as a user's browser or a backend would use it,
with the provider played by ``requests-mock``::

    from hub.contract import ErrorCase, ProviderContract


    class TestAcmeContract(ProviderContract):
        provider = "acme"
        plugin = "acme=hub_acme"

        @pytest.fixture
        def contract_api(self, requests_mock):
            requests_mock.get(LIST_URL, json=load("root.json"))
            ...

        @pytest.fixture
        def contract_errors(self):
            return [ErrorCase("GET", LIST_URL, 404, "not_found", json=load("error_404.json"))]

What it checks, each failure said in one sentence: the declaration is valid and its icon safe;
the OAuth2 settings render and ask only for scopes the provider has; every service pages to the
end with stable cursors and no item twice; breadcrumbs end with the folder opened and extend its
parent's; downloads stream with a file name, the listed length and ``Range``; the provider's
error answers become the hub's errors; a ``401`` refreshes the token and retries; and, for
services that offer them, search pages to the end, views page and their folders open, and
thumbnails are images.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest

from hub.addresses import oauth_urls
from hub.db import database
from hub.models import Integration
from hub.providers import Provider, validate_provider
from hub.testing import assert_safe_icon

OLD_TOKEN = "contract-old-access-token"
NEW_TOKEN = "contract-new-access-token"
REFRESH_TOKEN = "contract-refresh-token"
_integrations = itertools.count(1)
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token


@dataclass(frozen=True)
class ErrorCase:
    """A provider's error answer and the hub error it must become.

    The answer is given to ``method`` ``url`` (a string: that URL, its query parameters a subset
    of the request's; or a compiled pattern searched in the whole URL) on a fresh connection,
    over the recorded API; then the service's top level is opened — or the folder ``parent``,
    or, with ``item``, the download of that item id, with ``request_headers`` (a ``Range``) —
    and the hub must answer the error ``code`` (``not_found``, ``forbidden``, ``rate_limited``,
    ``reauth_required``, ``upstream_failed``, ``range_not_satisfiable``, ...). The answer is
    removed after the case.
    """

    method: str
    url: str | re.Pattern[str]
    status: int
    code: str
    json: Any = None
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    service: str | None = None  # default: the contract's first browsable service
    parent: str | None = None  # a folder id: open it instead of the top level
    item: str | None = None  # a file id: download it instead of opening a folder
    request_headers: Mapping[str, str] = field(default_factory=dict)

    def matches(self, request: Any) -> bool:
        """Whether ``request`` is the one this case answers."""
        if request.method.upper() != self.method.upper():
            return False
        if isinstance(self.url, re.Pattern):
            return self.url.search(request.url) is not None
        wanted, sent = urlsplit(self.url), urlsplit(request.url)
        if (wanted.scheme, wanted.netloc.lower(), unquote(wanted.path)) != (
            sent.scheme,
            sent.netloc.lower(),
            unquote(sent.path),
        ):
            return False
        given = parse_qs(sent.query, keep_blank_values=True)
        return all(given.get(k) == v for k, v in parse_qs(wanted.query).items())

    def install(self, requests_mock: Any) -> Callable[[], None]:
        """Answer the matching request with this error; returns what removes the answer."""
        from requests_mock import create_response

        active = [True]

        def matcher(request: Any) -> Any:
            if not active[0] or not self.matches(request):
                return None
            answer: dict[str, Any] = {"status_code": self.status, "headers": dict(self.headers)}
            if self.json is not None:
                answer["json"] = self.json
            else:
                answer["text"] = self.text or ""
            return create_response(request, **answer)

        requests_mock.add_matcher(matcher)
        return lambda: active.__setitem__(0, False)


@dataclass
class Folder:
    """One folder as the walk saw it."""

    id: str | None
    name: str | None
    trail: list[dict[str, str]] | None  # its breadcrumbs, when it was opened
    items: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0


class ProviderContract:
    """The contract suite. Class attributes say what to check; fixtures give the answers."""

    #: The provider's name (``Provider.name``).
    provider: ClassVar[str]
    #: The plugin to load, as an entry point spec ``"name=module"`` (``None``: installed ones).
    plugin: ClassVar[str | None] = None
    #: Services to walk (default: every browsable one).
    services: ClassVar[tuple[str, ...] | None] = None
    #: The scopes the provider really has (from its documentation or its own clients); the
    #: declared default scopes must be among them. ``None``: not checked.
    known_scopes: ClassVar[frozenset[str] | None] = None
    #: Whether downloads honour ``Range`` (``206`` with ``Content-Range``).
    supports_range: ClassVar[bool] = True
    #: Whether pages carry breadcrumbs below the top level.
    breadcrumbs: ClassVar[bool] = True
    #: Whether the provider pages (then the recorded tree must have a folder of two pages).
    paged: ClassVar[bool] = True
    #: Bounds of the walk.
    max_folders: ClassVar[int] = 25
    max_pages: ClassVar[int] = 50
    max_downloads: ClassVar[int] = 5
    page_size: ClassVar[int] = 50
    #: For a service that declares ``search``: a query the recorded answers find items for.
    search_query: ClassVar[str | None] = None
    #: For a service that declares ``thumbnail``: the id of a picture whose thumbnail is recorded
    #: (one id for every such service, or a mapping of service name to id).
    thumbnail_item: ClassVar[str | Mapping[str, str] | None] = None

    # -- fixtures the plugin provides (or keeps) ------------------------------------------

    @pytest.fixture
    def hub_plugins(self) -> list[Any] | None:
        return [self.plugin] if self.plugin else None

    @pytest.fixture(autouse=True)
    def _contract_clock(self, hub_clock: Any) -> Any:
        """Waits between retries (the hub's and a plugin's ``ctx.sleep``) never sleep."""
        return hub_clock

    @pytest.fixture
    def contract_api(self, requests_mock: Any) -> None:
        """Install the recorded answers of a small tree (override this)."""
        raise NotImplementedError(
            f"{type(self).__name__} needs a contract_api fixture installing recorded answers"
        )

    @pytest.fixture
    def contract_errors(self) -> list[ErrorCase]:
        """The provider's recorded error answers and the hub errors they must become."""
        return []

    @pytest.fixture
    def contract_integration(self) -> dict[str, Any]:
        """The body of ``POST /api/integrations`` (settings a self-hosted provider needs)."""
        return {}

    @pytest.fixture
    def contract_credentials(self, contract_auth_type: str) -> dict[str, Any]:
        """The body of ``POST /api/integrations/{ref}/connection``."""
        if contract_auth_type == "oauth2":
            return {"accessToken": OLD_TOKEN, "refreshToken": REFRESH_TOKEN, "expiresIn": 3600}
        if contract_auth_type == "basic":
            return {"username": "contract", "password": "contract-password"}
        if contract_auth_type == "apikey":
            return {"apiKey": "contract-api-key"}
        return {"token": OLD_TOKEN}

    @pytest.fixture
    def contract_auth_type(self, contract_provider: Provider) -> str:
        """The auth type the walk connects with: bearer-like first, OAuth2 last."""
        for kind in ("bearer", "apikey", "basic", "oauth2"):
            if kind in contract_provider.auth_types:
                return kind
        return contract_provider.auth_types[0]

    # -- fixtures of the kit ----------------------------------------------------------------

    @pytest.fixture
    def contract_provider(self, hub_app: Any) -> Provider:
        declared = hub_app.extensions["hub"].registry.provider(self.provider)
        if declared is None:
            info = {p.name: p for p in hub_app.extensions["hub"].registry.listing()}
            failed = [f"{p.name}: {p.reason}" for p in info.values() if p.status == "failed"]
            pytest.fail(
                f"no provider {self.provider!r} is registered"
                + (f" (failed plugins: {'; '.join(failed)})" if failed else "")
            )
        return declared

    @pytest.fixture
    def contract_connected(
        self,
        hub_app: Any,
        hub_client: Any,
        contract_provider: Provider,
        contract_integration: dict[str, Any],
        contract_auth_type: str,
        contract_credentials: dict[str, Any],
        contract_api: None,
    ) -> int:
        """An integration of the provider, connected; its id."""
        return self._connect(
            hub_client, contract_integration, contract_auth_type, contract_credentials
        )

    # -- the declaration --------------------------------------------------------------------

    def test_the_declaration_is_valid(self, contract_provider: Provider) -> None:
        validate_provider(contract_provider)
        assert_safe_icon(contract_provider.icon)
        if self.plugin:
            name, _, module = self.plugin.partition("=")
            found = [
                point
                for point in metadata.entry_points(group="hub.plugins", name=name.strip())
                if point.value.split(":")[0] == module.strip()
            ]
            if not found:
                pytest.fail(
                    f"no installed distribution declares the hub.plugins entry point "
                    f"{name.strip()} = {module.strip()}: add it to setup.cfg and pip install it"
                )

    def test_the_hub_under_test_loads_only_this_plugin(self, hub_app: Any) -> None:
        if not self.plugin:
            pytest.skip("no plugin named: the hub loads every installed one")
        name = self.plugin.partition("=")[0].strip()
        loaded = sorted(
            p.name for p in hub_app.extensions["hub"].registry.listing() if not p.builtin
        )
        if loaded != [name]:
            pytest.fail(
                f"the hub under test loaded {', '.join(loaded) or 'no plugin'}, not only {name}: "
                "does a conftest.py hub_app ignore hub_plugins? build it with hub_make_app"
            )

    def test_the_oauth_settings_are_coherent(
        self, hub_app: Any, contract_provider: Provider, contract_integration: dict[str, Any]
    ) -> None:
        oauth2 = contract_provider.oauth2
        if oauth2 is None:
            pytest.skip(f"{self.provider} does not use OAuth2")
        for scope in oauth2.scopes:
            if not SCOPE_TOKEN.match(scope):
                pytest.fail(f"the default scope {scope!r} is not a single scope token")
        if self.known_scopes is not None:
            unknown = sorted(set(oauth2.scopes) - set(self.known_scopes))
            if unknown:
                pytest.fail(
                    f"{self.provider} asks for scopes it does not have: {', '.join(unknown)} "
                    f"(it has {', '.join(sorted(self.known_scopes))})"
                )
        settings = dict(contract_integration.get("settings") or {})
        integration = Integration(provider=self.provider, auth_type="oauth2", settings=settings)
        with hub_app.app_context():
            urls = oauth_urls(contract_provider, integration)
        for name, url in urls.by_field().items():
            if not url.startswith(("https://", "http://")):
                pytest.fail(f"the {name} renders to {url!r}, which is not an http(s) URL")

    # -- browsing ---------------------------------------------------------------------------

    def test_every_service_pages_to_the_end_with_stable_cursors(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        paged = False
        for service in self._services(contract_provider):
            folders = list(self._walk(hub_client, contract_connected, service))
            if not folders[0].items:
                pytest.fail(f"the recorded top level of {service} is empty: record a few items")
            paged = paged or any(folder.pages > 1 for folder in folders)
        if self.paged and not paged:
            pytest.fail(
                "no folder of the recorded tree has a second page: record one (or lower "
                "page_size), or set paged = False for a provider that never pages"
            )

    def test_breadcrumbs_end_with_the_folder_and_extend_its_parents(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        opened = 0
        for service in self._services(contract_provider):
            seen: dict[str | None, Folder] = {}
            for folder in self._walk(hub_client, contract_connected, service):
                seen[folder.id] = folder
                if folder.id is None:
                    if folder.trail:
                        pytest.fail(f"the top level of {service} has breadcrumbs {folder.trail}")
                    continue
                opened += 1
                if not self.breadcrumbs:
                    continue
                self._check_trail(service, folder, seen)
        if opened == 0:
            pytest.skip("the recorded tree has no folder below the top level")

    # -- search, views, thumbnails ----------------------------------------------------------

    def test_search_finds_items_and_pages_to_the_end(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        searching = [s for s in contract_provider.services if s.search is not None]
        if not searching:
            pytest.skip(f"{self.provider} declares no search")
        if self.search_query is None:
            pytest.fail(
                f"{self.provider} declares search: set search_query to a query the recorded "
                "answers find items for"
            )
        for service in searching:
            where = f"searching {service.name} for {self.search_query!r}"
            found = self._read_folder(
                hub_client,
                contract_connected,
                service.name,
                None,
                None,
                url=lambda cursor, name=service.name: self._search_url(
                    contract_connected, name, cursor
                ),
                where=where,
                repeats=True,  # a search may find an item again on a later page (Dropbox's)
            )
            if not found.items:
                pytest.fail(f"{where} found nothing: record an answer with a few items")
            for item in found.items:
                _check_parent(item, where)

    def test_views_page_to_the_end_and_their_folders_open(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        views = [(s, v) for s in contract_provider.services for v in s.views]
        if not views:
            pytest.skip(f"{self.provider} declares no view")
        for service, view in views:
            where = f"the view {view.name!r} of {service.name}"
            seen = self._read_folder(
                hub_client,
                contract_connected,
                service.name,
                None,
                None,
                url=lambda cursor, s=service.name, v=view.name: self._view_url(
                    contract_connected, s, v, cursor
                ),
                where=where,
            )
            for item in seen.items:
                _check_parent(item, where)
            folder = next((i for i in seen.items if i["kind"] == "folder"), None)
            if folder is not None and service.browse is not None:
                self._page(
                    hub_client,
                    contract_connected,
                    service.name,
                    folder["id"],
                    None,
                    f"{where}: its folder {folder['name']!r}",
                )

    def test_thumbnails_are_images(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        showing = [s for s in contract_provider.services if s.thumbnail is not None]
        if not showing:
            pytest.skip(f"{self.provider} declares no thumbnails")
        if self.thumbnail_item is None:
            pytest.fail(
                f"{self.provider} declares thumbnails: set thumbnail_item to a picture whose "
                "thumbnail the recorded answers have"
            )
        for service in showing:
            chosen = (
                self.thumbnail_item
                if isinstance(self.thumbnail_item, str)
                else self.thumbnail_item.get(service.name)
            )
            if chosen is None:
                pytest.fail(f"{service.name} declares thumbnails: give thumbnail_item an id for it")
            item = quote(chosen, safe="")
            url = f"/api/integrations/{contract_connected}/services/{service.name}/items/{item}"
            answer = hub_client.get(f"{url}/thumbnail?size=128")
            where = f"the thumbnail of {chosen!r} ({service.name})"
            if answer.status_code != 200:
                pytest.fail(f"{where} answered {answer.status_code}: {_error_text(answer)}")
            if answer.headers.get("Content-Type") not in ("image/png", "image/jpeg", "image/webp"):
                pytest.fail(f"{where} is served as {answer.headers.get('Content-Type')!r}")

    # -- downloads ----------------------------------------------------------------------------

    def test_downloads_stream_with_a_name_and_the_listed_length(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        checked = 0
        for service, item in self._files(hub_client, contract_connected, contract_provider):
            answer = hub_client.get(self._download_url(contract_connected, service, item["id"]))
            where = f"downloading {item['name']!r} ({service})"
            if answer.status_code != 200:
                pytest.fail(f"{where} answered {answer.status_code}: {_error_text(answer)}")
            body = answer.get_data()
            if "filename*=" not in answer.headers.get("Content-Disposition", ""):
                pytest.fail(f"{where} gave no file name")
            length = answer.headers.get("Content-Length")
            size = item.get("size")
            if size is not None and not item.get("exportFormats"):
                if length is None:
                    pytest.fail(
                        f"{where} carries no length though the listing says {size} bytes: "
                        "give Download(size=...)"
                    )
                if int(length) != size or len(body) != size:
                    pytest.fail(
                        f"{where} sent {len(body)} bytes with Content-Length {length}, "
                        f"the listing says {size}"
                    )
            elif length is not None and int(length) != len(body):
                pytest.fail(f"{where} sent {len(body)} bytes with Content-Length {length}")
            checked += 1
        if checked == 0:
            pytest.skip("the recorded tree has no file")

    def test_a_range_is_honoured(
        self, hub_client: Any, contract_connected: int, contract_provider: Provider
    ) -> None:
        if not self.supports_range:
            pytest.skip(f"{self.provider} downloads do not support Range")
        for service, item in self._files(hub_client, contract_connected, contract_provider):
            if not item.get("size") or item.get("exportFormats"):
                continue
            answer = hub_client.get(
                self._download_url(contract_connected, service, item["id"]),
                headers={"Range": "bytes=0-0"},
            )
            where = f"downloading the first byte of {item['name']!r}"
            if answer.status_code != 206:
                pytest.fail(f"{where} answered {answer.status_code}, not 206")
            if not answer.headers.get("Content-Range", "").startswith("bytes 0-0/"):
                pytest.fail(f"{where} has no Content-Range 'bytes 0-0/...'")
            if len(answer.get_data()) != 1:
                pytest.fail(f"{where} sent {len(answer.get_data())} bytes")
            return
        pytest.skip("the recorded tree has no file with a known size")

    # -- errors and refresh ---------------------------------------------------------------------

    def test_error_answers_become_the_hubs_errors(
        self,
        hub_client: Any,
        contract_provider: Provider,
        contract_errors: list[ErrorCase],
        contract_integration: dict[str, Any],
        contract_auth_type: str,
        contract_credentials: dict[str, Any],
        contract_api: None,
        requests_mock: Any,
    ) -> None:
        if not contract_errors:
            pytest.fail(
                "no contract_errors: record the provider's error answers (not found, "
                "forbidden, rate limited, ...) and the hub errors they must become"
            )
        for case in contract_errors:
            # A fresh connection each: a case that ends a grant leaves the next ones alone.
            ref = self._connect(
                hub_client, contract_integration, contract_auth_type, contract_credentials
            )
            remove = case.install(requests_mock)
            service = case.service or self._services(contract_provider)[0]
            url = (
                self._download_url(ref, service, case.item)
                if case.item is not None
                else self._items_url(ref, service, case.parent, None)
            )
            answer = hub_client.get(url, headers=dict(case.request_headers))
            remove()
            got = (answer.get_json(silent=True) or {}).get("error", {}).get("code")
            if got != case.code:
                pytest.fail(
                    f"{case.status} from {case.method} {_pattern(case.url)} became "
                    f"{answer.status_code} {got or _error_text(answer)}, not {case.code}"
                )

    def test_a_refused_token_is_refreshed_and_the_call_retried(
        self,
        hub_app: Any,
        hub_client: Any,
        contract_provider: Provider,
        contract_integration: dict[str, Any],
        contract_api: None,
        requests_mock: Any,
    ) -> None:
        if "oauth2" not in contract_provider.auth_types:
            pytest.skip(f"{self.provider} does not use OAuth2")
        ref = self._connect(
            hub_client,
            contract_integration,
            "oauth2",
            {"accessToken": OLD_TOKEN, "refreshToken": REFRESH_TOKEN, "expiresIn": 3600},
        )
        with hub_app.app_context(), database.connection_context():
            urls = oauth_urls(contract_provider, Integration.get_by_id(ref))
        refresh = requests_mock.register_uri(
            contract_provider.oauth2.refresh_method if contract_provider.oauth2 else "POST",
            re.compile("^" + re.escape(urls.refresh)),
            json={"access_token": NEW_TOKEN, "token_type": "Bearer", "expires_in": 3600},
        )
        requests_mock.add_matcher(_refuse(OLD_TOKEN))

        service = self._services(contract_provider)[0]
        answer = hub_client.get(self._items_url(ref, service, None, None))

        if refresh.call_count != 1:
            pytest.fail(
                f"a 401 led to {refresh.call_count} refreshes at {urls.refresh}, not one "
                f"(the top level answered {answer.status_code}: {_error_text(answer)})"
            )
        if answer.status_code != 200:
            pytest.fail(
                f"after the refresh the top level answered {answer.status_code}: "
                f"{_error_text(answer)}"
            )
        last = requests_mock.request_history[-1]
        if NEW_TOKEN not in (last.headers.get("Authorization") or ""):
            pytest.fail("the call was not retried with the refreshed token")

    # -- the walk -----------------------------------------------------------------------------

    def _services(self, provider: Provider) -> list[str]:
        names = list(self.services or [s.name for s in provider.services if s.browse])
        if not names:
            pytest.skip(f"{self.provider} has no browsable service")
        return names

    def _connect(
        self, client: Any, integration: dict[str, Any], auth_type: str, credentials: dict[str, Any]
    ) -> int:
        body = {
            "name": f"Contract {next(_integrations)}",
            "provider": self.provider,
            "authType": auth_type,
        }
        if auth_type == "oauth2":
            # The integration's own client: a self-hosted server accepts no other.
            body |= {"clientId": "contract-client", "clientSecret": "contract-secret"}
        body |= integration
        created = client.post("/api/integrations", json=body)
        if created.status_code != 201:
            pytest.fail(f"the integration cannot be created: {_error_text(created)}")
        ref = created.get_json()["id"]
        connected = client.post(f"/api/integrations/{ref}/connection", json=credentials)
        if connected.status_code != 200:
            pytest.fail(f"the connection cannot be made: {_error_text(connected)}")
        return int(ref)

    def _items_url(self, ref: int, service: str, parent: str | None, cursor: str | None) -> str:
        query = {"limit": self.page_size}
        if parent is not None:
            query["parent"] = parent
        if cursor is not None:
            query["cursor"] = cursor
        return f"/api/integrations/{ref}/services/{service}/items?{urlencode(query)}"

    def _search_url(self, ref: int, service: str, cursor: str | None) -> str:
        query: dict[str, Any] = {"q": self.search_query, "limit": self.page_size}
        if cursor is not None:
            query["cursor"] = cursor
        return f"/api/integrations/{ref}/services/{service}/search?{urlencode(query)}"

    def _view_url(self, ref: int, service: str, view: str, cursor: str | None) -> str:
        query: dict[str, Any] = {"limit": self.page_size}
        if cursor is not None:
            query["cursor"] = cursor
        return f"/api/integrations/{ref}/services/{service}/views/{view}?{urlencode(query)}"

    def _download_url(self, ref: int, service: str, item: str) -> str:
        return f"/api/integrations/{ref}/services/{service}/items/{quote(item, safe='')}/download"

    def _walk(self, client: Any, ref: int, service: str) -> Iterator[Folder]:
        """Open the top level, then each folder found, breadth first, within the bounds."""
        queue: list[tuple[str | None, str | None]] = [(None, None)]
        opened = 0
        while queue and opened < self.max_folders:
            parent, name = queue.pop(0)
            folder = self._read_folder(client, ref, service, parent, name)
            opened += 1
            queue += [(i["id"], i["name"]) for i in folder.items if i["kind"] == "folder"]
            yield folder

    def _read_folder(
        self,
        client: Any,
        ref: int,
        service: str,
        parent: str | None,
        name: str | None,
        *,
        url: Callable[[str | None], str] | None = None,
        where: str | None = None,
        repeats: bool = False,
    ) -> Folder:
        """Every page of a folder — or, with ``url`` (the address of a page by its cursor), of
        a search or a view — checking cursors, items and breadcrumbs on the way."""
        where = where or f"{service} {'top level' if parent is None else repr(name)}"
        folder = Folder(parent, name, None)
        cursors: list[str] = []
        ids: set[str] = set()
        cursor = None
        repeated: list[str] | None = None
        for number in range(1, self.max_pages + 1):
            page = self._page(client, ref, service, parent, cursor, where, url)
            folder.pages = number
            if number == 2 and repeated != [i["id"] for i in page["items"]]:
                pytest.fail(f"the same cursor gave two different pages of {where}")
            if number == 1:
                folder.trail = page.get("path") or []
            elif page.get("path") and page["path"] != folder.trail:
                pytest.fail(f"page {number} of {where} has other breadcrumbs than page 1")
            for item in page["items"]:
                _check_item(item, where)
                if item["id"] in ids and not repeats:
                    pytest.fail(f"{item['id']!r} appears twice in {where} (page {number})")
                ids.add(item["id"])
                folder.items.append(item)
            cursor = page.get("nextCursor")
            if cursor is None:
                return folder
            if cursor in cursors:
                pytest.fail(f"{where} pages in a loop: cursor {cursor!r} came back")
            if number == 1:  # asked twice: once here, once as the next page
                again = self._page(client, ref, service, parent, cursor, where, url)
                repeated = [i["id"] for i in again["items"]]
            cursors.append(cursor)
        pytest.fail(f"{where} never ends: {self.max_pages} pages and still a next cursor")

    def _page(
        self,
        client: Any,
        ref: int,
        service: str,
        parent: str | None,
        cursor: str | None,
        where: str,
        url: Callable[[str | None], str] | None = None,
    ) -> dict[str, Any]:
        answer = client.get(url(cursor) if url else self._items_url(ref, service, parent, cursor))
        if answer.status_code != 200:
            pytest.fail(f"opening {where} answered {answer.status_code}: {_error_text(answer)}")
        return answer.get_json()

    def _check_trail(self, service: str, folder: Folder, seen: Mapping[str | None, Folder]) -> None:
        where = f"{service} {folder.name!r}"
        trail = folder.trail or []
        if not trail:
            pytest.fail(
                f"{where} has no breadcrumbs: give Page(path=...) ending with the folder, "
                "or set breadcrumbs = False"
            )
        last = trail[-1]
        if last.get("id") != folder.id:
            pytest.fail(
                f"the breadcrumbs of {where} end with {last.get('id')!r}, "
                f"not with the folder opened ({folder.id!r})"
            )
        reached = [i for f in seen.values() for i in f.items if i["id"] == folder.id]
        if reached and all(i.get("shortcut") for i in reached):
            return  # reached through a link: its trail says where it lives, not how it was found
        if last.get("name") != folder.name:
            pytest.fail(
                f"the breadcrumbs of {where} name it {last.get('name')!r}, "
                f"the listing {folder.name!r}"
            )
        parent = next(
            (f for f in seen.values() if any(i["id"] == folder.id for i in f.items)), None
        )
        # Ancestors are compared by name: a provider may name an ancestor by another id that
        # opens the same folder (Dropbox's path beside the id it was opened by).
        if parent is not None and parent.trail and _names(trail[:-1]) != _names(parent.trail):
            pytest.fail(
                f"the breadcrumbs of {where} ({_names(trail)}) do not extend "
                f"those of its parent ({_names(parent.trail)})"
            )

    def _files(
        self, client: Any, ref: int, provider: Provider
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        count = 0
        for service in self._services(provider):
            declared = next(s for s in provider.services if s.name == service)
            if declared.download is None:
                continue
            for folder in self._walk(client, ref, service):
                for item in folder.items:
                    if item["kind"] == "file" and count < self.max_downloads:
                        count += 1
                        yield service, item


def _check_item(item: Mapping[str, Any], where: str) -> None:
    if not isinstance(item.get("id"), str) or not item["id"]:
        pytest.fail(f"an item of {where} has no id: {dict(item)}")
    if not isinstance(item.get("name"), str) or not item["name"]:
        pytest.fail(f"item {item['id']!r} of {where} has no name")
    if item.get("kind") not in ("folder", "file"):
        pytest.fail(f"item {item['id']!r} of {where} is of kind {item.get('kind')!r}")
    size = item.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        pytest.fail(f"item {item['id']!r} of {where} has size {size!r}")


def _check_parent(item: Mapping[str, Any], where: str) -> None:
    parent = item.get("parent")
    if parent is None:
        return
    if not isinstance(parent, dict) or not isinstance(parent.get("id"), str):
        pytest.fail(f"item {item['id']!r} of {where} names its folder as {parent!r}")


def _refuse(token: str) -> Any:
    """A ``requests-mock`` matcher answering 401 to any request made with ``token``."""
    from requests_mock import create_response

    def matcher(request: Any) -> Any:
        if token not in (request.headers.get("Authorization") or ""):
            return None
        # A whole response (with its raw stream), so a streamed request can close it.
        return create_response(request, status_code=401, json={"error": "invalid_token"})

    return matcher


def _error_text(answer: Any) -> str:
    data = answer.get_json(silent=True) or {}
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    return answer.get_data(as_text=True)[:200]


def _pattern(url: str | re.Pattern[str]) -> str:
    return url.pattern if isinstance(url, re.Pattern) else unquote(url)


def _names(trail: list[dict[str, str]]) -> str:
    return " / ".join(str(crumb.get("name")) for crumb in trail) or "none"
