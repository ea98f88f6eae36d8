"""Step-up authentication against oidc-provider started with authentication levels (``acrValues``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from flask_okta_client import OktaClient, current_user, login_required
from tests.e2e.provider import OidcProvider
from tests.e2e.site import Site, new_browser, site_with_own_provider
from tests.e2e.test_sign_in_http import get, location, query_of
from tests.site import add_cart_views

pytestmark = pytest.mark.e2e

PASSWORD = "urn:e2e:loa:1fa"
TWO_FACTOR = "urn:e2e:loa:2fa"


@pytest.fixture(scope="module")
def leveled_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """oidc-provider with two authentication levels, and a site of its own registered with it."""
    work_dir = tmp_path_factory.mktemp("oidc_provider_acr")
    with site_with_own_provider(work_dir, {"acrValues": [PASSWORD, TWO_FACTOR]}) as site, \
            site.serving(step_up_app(site.provider)):
        yield site


def step_up_app(provider: OidcProvider) -> Flask:
    client = provider.clients["web"]
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(32), OKTA_ISSUER=provider.issuer,
                      OKTA_CLIENT_ID=client["client_id"], OKTA_CLIENT_SECRET=client["client_secret"])
    OktaClient(app)

    @app.get("/protected")
    @login_required
    def protected() -> str:
        return f"signed in at {current_user.claims.get('acr')}"

    @app.get("/payments")
    @login_required(acr_values=TWO_FACTOR, max_age=300)
    def payments() -> str:
        return f"payments at {current_user.claims['acr']}"

    add_cart_views(app)
    return app


def signed_in_with_a_password(site: Site) -> requests.Session:
    browser = new_browser()
    authorize_url = location(get(browser, site.url("/login?next=/protected")))
    callback = site.provider.login(browser, authorize_url, "alice")
    assert location(get(browser, callback)) == site.url("/protected")
    assert get(browser, site.url("/protected")).text == "signed in at None"  # no acr asked, none given
    return browser


def start_step_up(site: Site, browser: requests.Session) -> str:
    """Open the page that needs two factors; the authorization URL the site sends the browser to."""
    to_login = location(get(browser, site.url("/payments")))
    assert query_of(to_login) == {"next": "/payments", "acr_values": TWO_FACTOR, "max_age": "300"}
    authorize_url = location(get(browser, to_login))
    assert authorize_url.startswith(site.provider.issuer)
    return authorize_url


def test_step_up_signs_in_again_with_two_factors_and_returns_to_the_page(leveled_site: Site) -> None:
    browser = signed_in_with_a_password(leveled_site)
    callback = leveled_site.provider.login(browser, start_step_up(leveled_site, browser), "alice", acr=TWO_FACTOR)
    assert location(get(browser, callback)) == leveled_site.url("/payments")
    page = get(browser, leveled_site.url("/payments"))
    assert (page.status_code, page.text) == (200, f"payments at {TWO_FACTOR}")
    assert leveled_site.signed_in_user(browser).claims["acr"] == TWO_FACTOR


def test_a_weaker_answer_gets_a_403_page_and_keeps_the_earlier_sign_in(leveled_site: Site) -> None:
    browser = signed_in_with_a_password(leveled_site)
    get(browser, leveled_site.url("/remember"))
    callback = leveled_site.provider.login(browser, start_step_up(leveled_site, browser), "alice", acr=PASSWORD)
    answer = get(browser, callback)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["Content-Type"]
    assert "did not confirm the sign-in this page needs" in answer.text
    assert get(browser, leveled_site.url("/protected")).text == "signed in at None"
    assert get(browser, leveled_site.url("/cart")).text == "3 apples"


def test_an_api_call_with_a_password_sign_in_gets_the_rfc_9470_challenge(leveled_site: Site) -> None:
    browser = signed_in_with_a_password(leveled_site)
    response = browser.get(leveled_site.url("/payments"), headers={"Accept": "application/json"},
                           allow_redirects=False, timeout=5)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_user_authentication"')
    assert f'acr_values="{TWO_FACTOR}"' in challenge and "max_age=300" in challenge
