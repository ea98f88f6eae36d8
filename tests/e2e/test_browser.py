"""One sign-in / profile / sign-out in headless Chromium (Playwright) against the real oidc-provider
(Chromium kept on loopback: see ``tests/e2e/chromium.py``)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.chromium import sign_in_at_provider
from tests.e2e.site import Site

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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

    sign_in.click()
    sign_in_at_provider(page, issuer, "alice")

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
