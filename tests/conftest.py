from __future__ import annotations

import pytest

from tests import components


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
