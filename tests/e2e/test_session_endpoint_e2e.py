"""The session endpoint against the real oidc-provider: over HTTP, and from pages in headless Chromium.

The sample site serves it at ``/auth/session`` (with the user's own access token
as ``api``) and a page whose script calls it. A page on another loopback port,
a different origin of the same site, must get nothing out of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask, request

from tests.e2e.site import Site, create_site_app, new_browser

pytestmark = pytest.mark.e2e

PATH = "/auth/session"
TIMEOUT = 5
FRONT_END = {"X-Requested-With": "fetch"}


@pytest.fixture
def session_site(site: Site) -> Iterator[tuple[Site, list[tuple[str, int]]]]:
    """The sample site (asking for consent, so a refresh token is issued) and the endpoint's answers."""
    app: Flask = create_site_app(site.provider, "web", OKTA_PROMPT="consent")
    answers: list[tuple[str, int]] = []

    @app.after_request
    def record(response: Any) -> Any:
        if request.path == PATH and request.method != "OPTIONS":  # not CORS preflights
            answers.append((request.headers.get("Sec-Fetch-Site", "-"), response.status_code))
        return response

    with site.serving(app):
        yield site, answers


def signed_in_browser(site: Site) -> requests.Session:
    browser = new_browser()
    login = browser.get(site.url("/login?next=/"), allow_redirects=False, timeout=TIMEOUT)
    assert login.is_redirect, login.text[:500]
    callback_url = site.provider.login(browser, urljoin(login.url, login.headers["Location"]))
    callback = browser.get(callback_url, allow_redirects=False, timeout=TIMEOUT)
    assert callback.status_code == 302, callback.text[:500]
    return browser


def userinfo_subject(site: Site, access_token: str) -> str:
    """Who the provider's UserInfo endpoint says ``access_token`` belongs to (it refuses a dead token)."""
    response = requests.get(str(site.provider.discovery()["userinfo_endpoint"]), timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {access_token}"})
    response.raise_for_status()
    return response.json()["sub"]


def test_session_token_and_refresh_over_http(session_site: tuple[Site, list[tuple[str, int]]]) -> None:
    site, _ = session_site
    browser = signed_in_browser(site)
    endpoint = site.url(PATH)

    status = browser.get(endpoint, headers=FRONT_END, timeout=TIMEOUT)
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    assert status.json()["authenticated"] is True and status.json()["claims"]["sub"] == "alice"

    token = browser.get(endpoint, params={"token": "api"}, headers=FRONT_END, timeout=TIMEOUT).json()["token"]
    assert userinfo_subject(site, token["access_token"]) == "alice"

    refreshed = browser.post(endpoint, params={"token": "api"}, headers=FRONT_END, timeout=TIMEOUT)
    assert refreshed.status_code == 200, refreshed.text[:500]
    new_token = refreshed.json()["token"]
    assert new_token["access_token"] != token["access_token"]
    assert userinfo_subject(site, new_token["access_token"]) == "alice"
    assert new_token["expires_at"] >= token["expires_at"]

    cross_site = browser.get(endpoint, params={"token": "api"}, timeout=TIMEOUT,
                             headers={**FRONT_END, "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403 and "access_token" not in cross_site.text


class _OtherOrigin(BaseHTTPRequestHandler):
    """Serves one page that tries to read the site's session endpoint from another origin."""

    page = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def other_origin(session_site: tuple[Site, list[tuple[str, int]]]) -> Iterator[str]:
    """A page on another loopback port whose script calls the site's endpoint, with and without the header."""
    site, _ = session_site
    endpoint = site.url(PATH + "?token=api")
    _OtherOrigin.page = f"""<!doctype html><title>elsewhere</title><p id="with-header">…</p><p id="no-cors">…</p>
<script>
fetch({endpoint!r}, {{credentials: "include", headers: {{"X-Requested-With": "fetch"}}}})
  .then(r => r.text()).then(t => document.getElementById("with-header").textContent = "read: " + t,
                            e => document.getElementById("with-header").textContent = "blocked");
fetch({endpoint!r}, {{credentials: "include", mode: "no-cors"}})
  .then(r => document.getElementById("no-cors").textContent = "opaque:" + r.type,
        e => document.getElementById("no-cors").textContent = "blocked");
</script>""".encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherOrigin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_same_origin_page_reads_the_session_and_another_origin_gets_nothing(
        session_site: tuple[Site, list[tuple[str, int]]], other_origin: str,
        browser_context: tuple[object, list[str]]) -> None:
    from playwright.sync_api import expect

    site, answers = session_site
    context, _ = browser_context
    signed_in = signed_in_browser(site)
    context.add_cookies([  # type: ignore[attr-defined]
        {"name": c.name, "value": c.value, "url": site.url("/")} for c in signed_in.cookies
    ])
    page = context.new_page()  # type: ignore[attr-defined]

    page.goto(site.url("/session"))
    page.locator("#check-session").click()
    expect(page.locator("#session-status")).to_have_text("signed in as alice")
    page.locator("#get-token").click()
    expect(page.locator("#session-answer")).to_contain_text('"name": "api"')
    assert ("same-origin", 200) in answers

    answers.clear()
    page.goto(other_origin)
    expect(page.locator("#with-header")).to_have_text("blocked")  # the CORS preflight is never approved
    expect(page.locator("#no-cors")).to_have_text("opaque:opaque")
    # The only request that reached the endpoint (the no-cors one) was refused; the page could read nothing.
    assert answers and all(status == 403 for _, status in answers), answers
    assert all(site_value == "same-site" for site_value, _ in answers), answers
