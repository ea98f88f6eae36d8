"""One sign-in / profile / sign-out in headless Chromium (Playwright) against the real oidc-provider.

Chromium is kept on loopback: background networking, component updates, sync and
QUIC are off, every host name fails to resolve, and any request the pages make to
a non-loopback address (oidc-provider's pages @import Google Fonts) is aborted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.components import require_component
from tests.e2e.site import Site

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name resolution beyond loopback
]
STEP_TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


@pytest.fixture
def browser_context() -> Iterator[tuple[object, list[str]]]:
    """A fresh headless Chromium context and the list of outside requests it tried (and was refused)."""
    require_component(CHROMIUM.exists(), "Debian chromium is not installed")
    playwright_api = pytest.importorskip("playwright.sync_api")
    refused: list[str] = []

    def loopback_only(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if is_loopback_url(url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            refused.append(url)
            route.abort("blockedbyclient")  # type: ignore[attr-defined]

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=STEP_TIMEOUT_MS * 3
        )
        try:
            context = browser.new_context(service_workers="block")
            context.set_default_timeout(STEP_TIMEOUT_MS)
            context.set_default_navigation_timeout(STEP_TIMEOUT_MS)
            context.route("**/*", loopback_only)
            yield context, refused
            context.close()
        finally:
            browser.close()


def test_sign_in_profile_and_sign_out_in_chromium(site: Site, browser_context: tuple[object, list[str]]) -> None:
    from playwright.sync_api import expect

    context, refused = browser_context
    issuer = site.provider.issuer
    page = context.new_page()  # type: ignore[attr-defined]
    site_home = re.compile("^" + re.escape(site.url("/")) + "$")

    # The site's home page, signed out.
    page.goto(site.url("/"))
    sign_in = page.locator("#sign-in")
    expect(sign_in).to_have_text("Sign in")

    # Sign in at the provider: its login form, then its consent form if it asks.
    sign_in.click()
    page.wait_for_url(issuer + "/**")
    login_form = page.locator("form:has(input[name=prompt][value=login])")
    login_form.locator("input[name=login]").fill("alice")
    login_form.locator("input[name=password]").fill("secret")
    with page.expect_navigation():
        login_form.locator("[type=submit]").click()
    if page.url.startswith(issuer):
        consent_form = page.locator("form:has(input[name=prompt][value=consent])")
        expect(consent_form).to_have_count(1)
        with page.expect_navigation():
            consent_form.locator("[type=submit]").click()

    # Back on the site, signed in.
    page.wait_for_url(site_home)
    expect(page.locator("h1")).to_contain_text("Welcome back")

    # The profile shows the ID token's claims.
    page.goto(site.url("/profile"))
    expect(page.locator("#claim-email")).to_have_text("alice@example.com")
    expect(page.locator("#claim-sub")).to_have_text("alice")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

    # Sign out here, then confirm at the provider when it asks.
    with page.expect_navigation():
        page.locator("#sign-out").click()
    if page.url.startswith(issuer):
        with page.expect_navigation():
            page.locator("button[name=logout][value=yes]").click()

    page.wait_for_url(site_home)
    expect(page.locator("#sign-in")).to_have_text("Sign in")
    page.goto(site.url("/protected"))
    assert urlsplit(page.url).netloc == urlsplit(issuer).netloc, "signed out: /protected must ask to sign in"
    # Whatever the pages tried to load from elsewhere (oidc-provider's Google Fonts @import) was refused.
    print("refused outside requests:", refused)
