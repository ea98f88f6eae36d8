"""The sample site served for real (werkzeug, loopback) against the oidc-provider harness.

One HTTP server listens on the origin whose redirect URIs are registered with the
provider and serves whichever app is current: the sample site configured for the
confidential ``web-client`` by default; ``Site.serving`` swaps in another app (the
``public-client`` site, the lifecycle site) for a block, so all share the registered
redirect URI. The pytest fixtures are in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

import sample_app
from tests.components import require_component
from tests.e2e.provider import NODE, PROVIDER_DIR, OidcProvider, running_provider

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

    def signed_in_user(self, browser: requests.Session) -> Any:
        """The sign-in (claims and tokens) the site keeps for ``browser``, through the extension's token store."""
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)
        with self.app.test_request_context(headers={"Cookie": cookies}):
            state = self.app.extensions["okta"]
            return state.store.load(state.sign_in_cookie())


@contextmanager
def running_site(provider: OidcProvider, port: int) -> Iterator[Site]:
    """Serve the ``web-client`` sample site on loopback ``port`` (the provider's registered origin) until exit."""
    dispatcher = _Dispatcher(create_site_app(provider, "web"))
    server = make_server("127.0.0.1", port, dispatcher, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-site", daemon=True)
    thread.start()
    try:
        site = Site(origin=f"http://127.0.0.1:{port}", provider=provider, _dispatcher=dispatcher)
        assert site.origin == provider.site_origin, "the site must run on the origin registered with the provider"
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def site_with_own_provider(work_dir: Path, options: dict[str, object]) -> Iterator[Site]:
    """oidc-provider started with ``options`` (its CONFIG_JSON), and the sample site on a free
    loopback port registered with it, until exit."""
    require_component(shutil.which(NODE) is not None, "node is not installed (needed for the oidc-provider e2e tests)")
    require_component((PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(), "oidc-provider is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with running_provider(f"http://127.0.0.1:{port}", work_dir, options) as provider, \
            running_site(provider, port) as site:
        yield site


def new_browser() -> requests.Session:
    """A cookie jar that asks for HTML like a browser's page navigation does."""
    browser = requests.Session()
    browser.headers.update(BROWSER_HEADERS)
    return browser
