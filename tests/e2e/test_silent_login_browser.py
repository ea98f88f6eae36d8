"""Silent sign-in in headless Chromium: a real browser's page load sends the Sec-Fetch headers it needs."""

from __future__ import annotations

import re

import pytest

from tests.e2e.site import Site, create_site_app

pytestmark = pytest.mark.e2e


def test_chromium_tries_silent_sign_in_once_and_stays_on_the_page(site: Site, browser_context) -> None:
    from playwright.sync_api import expect

    context, _ = browser_context
    with site.serving(create_site_app(site.provider, "web", OKTA_SILENT_LOGIN=True)):
        page = context.new_page()
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url))
        page.goto(site.url("/"))
        assert any(url.startswith(site.provider.issuer) and "prompt=none" in url for url in seen)
        expect(page).to_have_url(re.compile("^" + re.escape(site.url("/")) + "$"))
        expect(page.locator("#sign-in")).to_have_text("Sign in")            # anonymous, no error page

        seen.clear()
        page.goto(site.url("/"))
        assert not any(url.startswith(site.provider.issuer) for url in seen)  # once per session
        page.evaluate("fetch('/')")                                          # scripts never try
        assert not any(url.startswith(site.provider.issuer) for url in seen)


def test_chromium_signed_in_at_the_provider_comes_back_signed_in(site: Site, browser_context) -> None:
    from playwright.sync_api import expect

    context, _ = browser_context
    with site.serving(create_site_app(site.provider, "web", OKTA_SILENT_LOGIN=True)):
        page = context.new_page()
        page.goto(site.url("/login"))                                       # a sign-in at the provider first
        login_form = page.locator("form:has(input[name=prompt][value=login])")
        login_form.locator("input[name=login]").fill("alice")
        login_form.locator("input[name=password]").fill("secret")
        with page.expect_navigation():
            login_form.locator("[type=submit]").click()
        if page.url.startswith(site.provider.issuer):
            with page.expect_navigation():
                page.locator("form:has(input[name=prompt][value=consent]) [type=submit]").click()
        expect(page.locator("h1")).to_contain_text("Welcome back")
        for name in ("session", "okta_session"):                            # a new browser session at the site
            context.clear_cookies(name=name)
        page.goto(site.url("/"))
        expect(page).to_have_url(re.compile("^" + re.escape(site.url("/")) + "$"))
        expect(page.locator("h1")).to_contain_text("Welcome back")
