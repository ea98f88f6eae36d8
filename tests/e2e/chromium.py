"""Headless Chromium (Playwright) for the e2e tests, kept on loopback: background networking,
component updates, sync and QUIC are off, every host name fails to resolve, and any request the
pages make to a non-loopback address (oidc-provider's pages @import Google Fonts) is aborted."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.components import require_component

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


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def sign_in_at_provider(page: object, issuer: str, username: str) -> None:
    """On the way to ``issuer``: sign in with its login form, then its consent form if it asks."""
    from playwright.sync_api import expect

    page.wait_for_url(issuer + "/**")  # type: ignore[attr-defined]
    login_form = page.locator("form:has(input[name=prompt][value=login])")  # type: ignore[attr-defined]
    login_form.locator("input[name=login]").fill(username)
    login_form.locator("input[name=password]").fill("secret")
    with page.expect_navigation():  # type: ignore[attr-defined]
        login_form.locator("[type=submit]").click()
    if page.url.startswith(issuer):  # type: ignore[attr-defined]
        consent_form = page.locator("form:has(input[name=prompt][value=consent])")  # type: ignore[attr-defined]
        expect(consent_form).to_have_count(1)
        with page.expect_navigation():  # type: ignore[attr-defined]
            consent_form.locator("[type=submit]").click()


@contextmanager
def chromium_context() -> Iterator[tuple[object, list[str]]]:
    """A fresh headless Chromium context (loopback only) and the list of outside requests it tried (and
    was refused)."""
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
