"""Fixtures for the e2e tests: Node's oidc-provider and the sample site served against it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.e2e.chromium import chromium_context
from tests.e2e.provider import OidcProvider, require_oidc_provider, running_provider
from tests.e2e.site import Site, create_site_app, running_site


@pytest.fixture(scope="session")
def e2e_site_port() -> int:
    """Loopback port reserved for the Flask site under test (its redirect URIs are registered with it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider(e2e_site_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """oidc-provider for the whole session, with the test clients registered for the site's origin."""
    require_oidc_provider()
    site_origin = f"http://127.0.0.1:{e2e_site_port}"
    with running_provider(site_origin, tmp_path_factory.mktemp("oidc_provider")) as provider:
        yield provider


@pytest.fixture(scope="session")
def site(oidc_provider: OidcProvider, e2e_site_port: int) -> Iterator[Site]:
    """The sample site for the confidential ``web-client`` (client_secret_basic), on the registered origin."""
    with running_site(oidc_provider, e2e_site_port) as running:
        yield running


@pytest.fixture
def public_site(site: Site) -> Iterator[Site]:
    """The same origin serving the sample site configured for ``public-client`` (no secret, PKCE only)."""
    with site.serving(create_site_app(site.provider, "public")):
        yield site


@pytest.fixture
def browser_context() -> Iterator[tuple[object, list[str]]]:
    """A fresh headless Chromium context and the list of outside requests it tried (and was refused)."""
    with chromium_context() as context:
        yield context
