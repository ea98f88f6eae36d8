"""Sign-in options against the real oidc-provider: third-party-initiated login."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.e2e.site import Site, new_browser
from tests.e2e.test_sign_in_http import get, location

pytestmark = pytest.mark.e2e


def test_third_party_initiated_login_lands_on_the_target_page(site: Site) -> None:
    browser = new_browser()
    query = urlencode({"iss": site.provider.issuer, "target_link_uri": site.url("/protected"),
                       "login_hint": "alice"})
    authorize_url = location(get(browser, site.url(f"/login?{query}")))
    callback = site.provider.login(browser, authorize_url, "alice")
    assert location(get(browser, callback)) == site.url("/protected")
    assert get(browser, site.url("/protected")).status_code == 200


def test_third_party_initiated_login_posted_as_a_form(site: Site) -> None:
    browser = new_browser()
    relayed = browser.post(site.url("/login"), data={"iss": site.provider.issuer, "target_link_uri": "/protected"},
                           allow_redirects=False, timeout=5)
    assert relayed.status_code == 303
    callback = site.provider.login(browser, location(get(browser, location(relayed))), "alice")
    assert location(get(browser, callback)) == site.url("/protected")


@pytest.mark.parametrize("params", [
    {"iss": "https://evil.example", "target_link_uri": "/protected"},
    {"iss": "ISSUER", "target_link_uri": "https://evil.example/protected"},
])
def test_third_party_initiated_login_from_elsewhere_or_to_elsewhere_is_refused(site: Site, params) -> None:
    params = {name: site.provider.issuer if value == "ISSUER" else value for name, value in params.items()}
    response = get(new_browser(), site.url(f"/login?{urlencode(params)}"))
    assert response.status_code == 400
    assert "text/html" in response.headers["Content-Type"]
