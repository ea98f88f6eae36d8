"""The sample site served for real (werkzeug, loopback) against the oidc-provider harness.

Test modules import the fixtures they use::

    from tests.e2e.site import Site, public_site, site  # noqa: F401  (pytest fixtures)

One HTTP server listens on ``e2e_site_port`` (the origin whose redirect URIs are
registered with the provider) for the whole session. It serves whichever app is
current: the sample site configured for the confidential ``web-client`` by default;
``public_site`` swaps in one configured for ``public-client`` for one test and
restores the web site afterwards, so both clients share the registered redirect URI.

pytest registers an imported fixture once per importing module, so two modules
would each start a "session" server on the same port; the server is therefore
shared and reference-counted here and stops when its last user finishes.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

import sample_app
from tests.e2e.conftest import OidcProvider

BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "User-Agent": "flask-okta-client-e2e (requests)",
}


def create_site_app(provider: OidcProvider, client_name: str = "web", **overrides: Any) -> Flask:
    """The sample site configured for one of the provider's registered clients."""
    client = provider.clients[client_name]
    config: dict[str, Any] = {
        "OKTA_ISSUER": provider.issuer,
        "OKTA_CLIENT_ID": client["client_id"],
        "OKTA_CLIENT_SECRET": client.get("client_secret"),
        "SECRET_KEY": secrets.token_hex(32),
        "OKTA_POST_LOGOUT_REDIRECT_URI": provider.post_logout_redirect_uri,
        # offline_access so a refresh token is issued (with prompt=consent) and its revocation can be checked
        "OKTA_SCOPES": "openid profile email offline_access",
        **overrides,
    }
    app = sample_app.create_app(config)
    app.config["TESTING"] = False  # errors must be rendered by the site, as in production
    return app


class _Dispatcher:
    """A WSGI app forwarding to whichever Flask app is current."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class Site:
    """The running site: its origin, current app and the provider it signs in with."""

    origin: str
    provider: OidcProvider
    _dispatcher: _Dispatcher = field(repr=False)

    @property
    def app(self) -> Flask:
        return self._dispatcher.app

    def url(self, path: str) -> str:
        return self.origin + path

    @contextmanager
    def serving(self, app: Flask) -> Iterator[Flask]:
        """Serve ``app`` on this origin for the duration of the block."""
        previous, self._dispatcher.app = self._dispatcher.app, app
        try:
            yield app
        finally:
            self._dispatcher.app = previous

    def session_data(self, browser: requests.Session) -> dict[str, Any]:
        """The (signed, not encrypted) Flask session cookie ``browser`` holds, decoded with the app's key."""
        cookie = browser.cookies.get(self.app.config.get("SESSION_COOKIE_NAME", "session"))
        if cookie is None:
            return {}
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        assert serializer is not None
        return serializer.loads(cookie)

    def signed_in_user(self, browser: requests.Session) -> Any:
        """The sign-in (claims and tokens) the site keeps for ``browser``, through the extension's token store."""
        with self.app.test_request_context():
            return self.app.extensions["okta"].store.load(self.session_data(browser))


def new_browser() -> requests.Session:
    """A cookie jar that asks for HTML like a browser's page navigation does."""
    browser = requests.Session()
    browser.headers.update(BROWSER_HEADERS)
    return browser


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str]
    buttons: list[dict[str, str]]


class _FormParser(HTMLParser):
    """Forms with their inputs and submit buttons (also buttons attached with ``form="id"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []
        self._ids: dict[str, HtmlForm] = {}
        self._open: HtmlForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            form = HtmlForm(attributes.get("action", ""), attributes.get("method", "get").lower(), {}, [])
            self.forms.append(form)
            if "id" in attributes:
                self._ids[attributes["id"]] = form
            self._open = form
            return
        owner = self._ids.get(attributes["form"]) if "form" in attributes else self._open
        if owner is None:
            return
        if tag == "input" and "name" in attributes and attributes.get("type", "text") not in ("submit", "button"):
            owner.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" or (tag == "input" and attributes.get("type") == "submit"):
            owner.buttons.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def parse_forms(html: str) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class _SharedServer:
    lock = threading.Lock()
    site: Site | None = None
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None
    users = 0


@contextmanager
def _running_site(provider: OidcProvider, port: int) -> Iterator[Site]:
    shared = _SharedServer
    with shared.lock:
        if shared.site is None:
            dispatcher = _Dispatcher(create_site_app(provider, "web"))
            server = make_server("127.0.0.1", port, dispatcher, threaded=True)
            thread = threading.Thread(target=server.serve_forever, name="e2e-site", daemon=True)
            thread.start()
            shared.site = Site(origin=f"http://127.0.0.1:{port}", provider=provider, _dispatcher=dispatcher)
            shared.server, shared.thread = server, thread
        shared.users += 1
        site = shared.site
    assert site.origin == provider.site_origin, "the site must run on the origin registered with the provider"
    try:
        yield site
    finally:
        with shared.lock:
            shared.users -= 1
            if shared.users == 0 and shared.server is not None:
                shared.server.shutdown()
                shared.server.server_close()
                assert shared.thread is not None
                shared.thread.join(timeout=5)
                shared.site = shared.server = shared.thread = None


@pytest.fixture(scope="session")
def site(oidc_provider: OidcProvider, e2e_site_port: int) -> Iterator[Site]:
    """The sample site for the confidential ``web-client`` (client_secret_basic), on the registered origin."""
    with _running_site(oidc_provider, e2e_site_port) as running:
        yield running


@pytest.fixture
def public_site(site: Site) -> Iterator[Site]:
    """The same origin serving the sample site configured for ``public-client`` (no secret, PKCE only)."""
    with site.serving(create_site_app(site.provider, "public")):
        yield site
