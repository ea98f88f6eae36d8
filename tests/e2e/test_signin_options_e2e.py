"""Sign-in options against the real oidc-provider: third-party-initiated login, silent sign-in,
route parameters and login state."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from flask import Flask, request

from flask_okta_client import OktaClient, current_user, login_required
from tests.e2e.site import Site, create_site_app, new_browser
from tests.e2e.test_sign_in_http import get, location, query_of

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


PAGE_LOAD = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


@pytest.fixture
def silent_site(site: Site):
    """The sample site (web-client) with OKTA_SILENT_LOGIN on."""
    with site.serving(create_site_app(site.provider, "web", OKTA_SILENT_LOGIN=True)):
        yield site


def provider_cookies_only(browser: requests.Session) -> requests.Session:
    """The same browser after the site's cookies are gone (a new browser session at the site)."""
    fresh = new_browser()
    for cookie in browser.cookies:
        if cookie.name.startswith("_"):                 # oidc-provider's _session, _interaction… cookies
            fresh.cookies.set_cookie(cookie)
    return fresh


def silent_attempt(site: Site, browser: requests.Session) -> requests.Response:
    """Open the home page as a browser page load; the provider's answer to the prompt=none request."""
    response = browser.get(site.url("/"), headers=PAGE_LOAD, allow_redirects=False, timeout=5)
    authorize_url = location(response)
    assert authorize_url.startswith(site.provider.issuer)
    return get(browser, authorize_url)


def test_silent_sign_in_signs_in_a_visitor_signed_in_at_the_provider(silent_site: Site) -> None:
    browser = new_browser()
    site_login = location(get(browser, silent_site.url("/login")))
    get(browser, silent_site.provider.login(browser, site_login, "alice"))
    browser = provider_cookies_only(browser)
    callback = location(silent_attempt(silent_site, browser))
    assert "code" in query_of(callback)
    assert location(get(browser, callback)) == silent_site.url("/")
    assert silent_site.signed_in_user(browser).claims["sub"] == "alice"


def test_silent_sign_in_leaves_a_stranger_anonymous_on_the_page(silent_site: Site) -> None:
    browser = new_browser()
    callback = location(silent_attempt(silent_site, browser))
    assert query_of(callback)["error"] == "login_required"
    assert location(get(browser, callback)) == silent_site.url("/")
    page = browser.get(silent_site.url("/"), headers=PAGE_LOAD, allow_redirects=False, timeout=5)
    assert page.status_code == 200                      # tried once per session
    assert silent_site.signed_in_user(browser) is None


def test_silent_sign_in_without_consent_leaves_the_visitor_anonymous(silent_site: Site) -> None:
    browser = new_browser()
    with silent_site.serving(create_site_app(silent_site.provider, "public")):   # consent given to another client
        get(browser, silent_site.provider.login(browser, location(get(browser, silent_site.url("/login"))), "bob"))
    browser = provider_cookies_only(browser)
    callback = location(silent_attempt(silent_site, browser))
    assert query_of(callback)["error"] == "consent_required"
    assert location(get(browser, callback)) == silent_site.url("/")
    assert silent_site.signed_in_user(browser) is None


def partner_app(site: Site, seen: list[dict[str, object]]) -> Flask:
    client = site.provider.clients["web"]
    okta = OktaClient()
    app = Flask(__name__)
    app.config.update(SECRET_KEY="e2e-partner-site-secret-0123456789", OKTA_ISSUER=site.provider.issuer,
                      OKTA_CLIENT_ID=client["client_id"], OKTA_CLIENT_SECRET=client["client_secret"])
    okta.init_app(app)

    @okta.state_for_login
    def campaign():
        return {"campaign": request.args.get("campaign", "none")}

    @okta.after_login
    def remember(user):
        seen.append(okta.login_state)

    @app.get("/partners")
    @login_required(authorization_params={"login_hint": "carol", "ui_locales": "fr"})
    def partners() -> str:
        return f"partners for {current_user.sub}"

    return app


def test_route_parameters_and_login_state_through_the_provider(site: Site) -> None:
    seen: list[dict[str, object]] = []
    with site.serving(partner_app(site, seen)):
        browser = new_browser()
        authorize_url = location(browser.get(site.url("/partners?campaign=spring"), headers=PAGE_LOAD,
                                             allow_redirects=False, timeout=5))
        assert (query_of(authorize_url)["login_hint"], query_of(authorize_url)["ui_locales"]) == ("carol", "fr")
        login_page = browser.get(authorize_url, timeout=5)
        assert 'value="carol"' in login_page.text             # the provider read the route's login_hint
        callback = site.provider.login(browser, authorize_url, "carol")
        assert location(get(browser, callback)) == site.url("/partners?campaign=spring")
        assert get(browser, site.url("/partners")).text == "partners for carol"
    assert seen == [{"campaign": "spring"}]


def test_require_login_protects_the_sample_site_but_not_its_static_files(site: Site) -> None:
    with site.serving(create_site_app(site.provider, "web", OKTA_REQUIRE_LOGIN=True)):
        browser = new_browser()
        to_login = location(get(browser, site.url("/")))
        assert to_login == site.url("/login?next=/")
        assert get(browser, site.url("/static/site.css")).status_code == 200
        assert get(browser, site.url("/no-such-page")).status_code == 404
        api = browser.get(site.url("/api/public"), headers={"Accept": "application/json"}, timeout=5)
        assert (api.status_code, api.json()["error"]) == (401, "unauthorized")
        callback = site.provider.login(browser, location(get(browser, to_login)), "alice")
        assert location(get(browser, callback)) == site.url("/")
        assert get(browser, site.url("/")).status_code == 200
