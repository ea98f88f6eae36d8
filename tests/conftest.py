from __future__ import annotations

import pytest

from tests import components

pytest_plugins = ("pytester",)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-components",
        action="store_true",
        help="fail instead of skipping tests whose external component is missing",
    )


def pytest_configure(config: pytest.Config) -> None:
    components.set_required(config.getoption("--require-components"))


@pytest.fixture
def app(okta_settings):
    from tests.site import make_site

    return make_site(okta_settings)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, for the whole test session."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_server(tmp_path_factory):
    """A redis-server of this test's own, to stop and start again (its data kept across restarts)."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"), persist=True).start()
    yield server
    server.stop()
