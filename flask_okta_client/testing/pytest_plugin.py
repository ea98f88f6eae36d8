"""pytest fixtures for apps that use flask-okta-client (registered via ``pytest11``).

Example::

    @pytest.fixture
    def app(okta_settings):
        app = create_app({**okta_settings, "SECRET_KEY": "test", "TESTING": True})
        return app

    def test_reports_need_finance_group(client, okta_sign_in):
        okta_sign_in(client, "ann", groups=["Staff"])
        assert client.get("/reports").status_code == 403

    def test_api(client, okta_access_token):
        token = okta_access_token(scopes=["messages:read"])
        assert client.get("/api/messages", headers={"Authorization": f"Bearer {token}"}).status_code == 200
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..sessions.invalidation import close_all
from .mock_server import MockClient, MockOktaServer
from .tokens import TEST_CLIENT_ID, TestTokens

TEST_ORIGINS = ("http://localhost", "http://127.0.0.1")


@pytest.fixture(autouse=True)
def okta_close_store_listeners() -> Iterator[None]:
    """At the end of each test, Redis token stores close this process's invalidation listener
    (a later read starts it again): a suite that builds many apps keeps no thread per app."""
    yield
    close_all()


@pytest.fixture(scope="session")
def okta_client_secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def okta_mock_server(okta_client_secret: str) -> Iterator[MockOktaServer]:
    """A mock Okta authorization server on loopback, with a client for Flask's test client."""
    with MockOktaServer() as server:
        server.add_client(MockClient(
            TEST_CLIENT_ID,
            okta_client_secret,
            redirect_uris=[f"{origin}/authorization-code/callback" for origin in TEST_ORIGINS],
            post_logout_redirect_uris=[f"{origin}/logout/callback" for origin in TEST_ORIGINS],
        ))
        yield server


@pytest.fixture
def okta_settings(okta_mock_server: MockOktaServer, okta_client_secret: str) -> dict[str, Any]:
    """``OKTA_*`` settings for an app that signs in at the mock server."""
    okta_mock_server.reset()
    return {
        "OKTA_ISSUER": okta_mock_server.issuer,
        "OKTA_CLIENT_ID": TEST_CLIENT_ID,
        "OKTA_CLIENT_SECRET": okta_client_secret,
    }


@pytest.fixture
def okta_tokens(okta_mock_server: MockOktaServer) -> TestTokens:
    return TestTokens(okta_mock_server)


@pytest.fixture
def okta_sign_in(okta_tokens: TestTokens) -> Callable[..., Any]:
    """``okta_sign_in(client, username="tester", **claims)`` signs a test client in."""
    return okta_tokens.sign_in


def app_audience(request: pytest.FixtureRequest, provider: str | None = None) -> str | None:
    """``OKTA_AUDIENCE`` of the test's ``app`` fixture (of its registration ``provider``; default: the
    default one), if it has one that uses the extension."""
    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        return None
    extensions = getattr(app, "extensions", {})
    state = extensions.get("okta") if provider is None else extensions.get("okta_providers", {}).get(provider)
    return None if state is None else state.config.audience


@pytest.fixture
def okta_access_token(okta_tokens: TestTokens, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``okta_access_token(scopes=[...], audience=None, provider=None, **claims)``: a bearer token the
    app accepts, for the ``app`` fixture's ``OKTA_AUDIENCE`` (``provider``'s, with several) unless
    ``audience`` is given."""

    def mint(*args: Any, audience: str | None = None, provider: str | None = None, **claims: Any) -> str:
        return okta_tokens.access_token(*args, audience=audience or app_audience(request, provider), **claims)

    return mint


class FlaskClientFixture:
    """The ``client`` fixture pytest-flask gives (``app.test_client()``), for projects without it."""

    @pytest.fixture
    def client(self, app: Any) -> Any:
        return app.test_client()


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("flask"):  # pytest-flask's own client fixture comes first
        config.pluginmanager.register(FlaskClientFixture(), "flask_okta_client.client")
