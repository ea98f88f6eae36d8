"""Several providers end to end: the sample site's customers at one oidc-provider (the default
registration), staff at a second oidc-provider process (a registration named ``staff``), with
requests as the browser."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask

from flask_okta_client import OktaClient, current_user, login_required
from tests.e2e.chromium import sign_in_at_provider
from tests.e2e.forms import parse_forms
from tests.e2e.provider import OidcProvider, running_provider
from tests.e2e.site import Site, create_site_app, new_browser
from tests.e2e.test_sign_in_http import get, location

pytestmark = pytest.mark.e2e

STAFF_CLIENT = {
    "client_id": "staff-client",
    "client_secret": "staff-client-secret-0123456789abcdef",
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}


@pytest.fixture(scope="module")
def staff_provider(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The workforce provider: a second oidc-provider process whose one client is registered with
    the staff registration's own redirect URIs."""
    client = {**STAFF_CLIENT, "redirect_uris": [site.url("/staff/authorization-code/callback")],
              "post_logout_redirect_uris": [site.url("/staff/logout/callback")]}
    with running_provider(site.origin, tmp_path_factory.mktemp("staff_provider"), {"clients": [client]}) as provider:
        yield provider


def two_provider_app(site: Site, staff: OidcProvider) -> Flask:
    """The sample site (customers) with a staff registration and a staff page."""
    app = create_site_app(site.provider, "web", STAFF_ISSUER=staff.issuer, STAFF_CLIENT_ID=STAFF_CLIENT["client_id"],
                          STAFF_CLIENT_SECRET=STAFF_CLIENT["client_secret"],
                          STAFF_SCOPES="openid profile email offline_access")
    OktaClient(app, name="staff")

    @app.get("/staff-area")
    @login_required(provider="staff")
    def staff_area() -> str:
        return f"{current_user.provider} {current_user.claims['iss']} {current_user.sub}"

    return app


@pytest.fixture
def two_providers(site: Site, staff_provider: OidcProvider) -> Iterator[Site]:
    with site.serving(two_provider_app(site, staff_provider)):
        yield site


def customer_callback(site: Site, browser: requests.Session, next_path: str = "/protected") -> str:
    authorize_url = location(get(browser, site.url(f"/login?next={next_path}")))
    assert authorize_url.startswith(site.provider.issuer + "/")
    return site.provider.login(browser, authorize_url, "alice")


def staff_callback(site: Site, staff: OidcProvider, browser: requests.Session, next_path: str = "/staff-area") -> str:
    authorize_url = location(get(browser, site.url(f"/staff/login?next={next_path}")))
    assert authorize_url.startswith(staff.issuer + "/")
    callback = staff.login(browser, authorize_url, "bob")
    assert callback.startswith(site.url("/staff/authorization-code/callback?"))
    return callback


def test_a_customer_signs_in_at_the_staff_provider_too_and_stays_a_customer(
        two_providers: Site, staff_provider: OidcProvider) -> None:
    site, browser = two_providers, new_browser()
    assert location(get(browser, customer_callback(site, browser))) == site.url("/protected")
    assert get(browser, site.url("/protected")).status_code == 200
    sent_to = location(get(browser, site.url("/staff-area")))
    assert sent_to == site.url("/staff/login?next=/staff-area")
    landed = location(get(browser, staff_callback(site, staff_provider, browser)))
    assert landed == site.url("/staff-area")
    page = get(browser, site.url("/staff-area"))
    assert page.text == f"staff {staff_provider.issuer} bob"
    assert get(browser, site.url("/protected")).status_code == 200  # the customer sign-in stays
    assert {"okta_session", "staff_session"} <= {cookie.name for cookie in browser.cookies}


def test_mix_up_a_customer_code_at_the_staff_callback_is_refused_and_nothing_is_lost(
        two_providers: Site, staff_provider: OidcProvider) -> None:
    site, browser = two_providers, new_browser()
    location(get(browser, site.url("/staff/login?next=/staff-area")))  # a staff sign-in is pending too
    customer_return = customer_callback(site, browser)
    query = urlsplit(customer_return).query
    assert "iss=" in query and "code=" in query
    refused = get(browser, site.url(f"/staff/authorization-code/callback?{query}"))
    assert refused.status_code == 400
    assert 'href="/staff/login"' in refused.text
    assert location(get(browser, site.url("/staff-area"))).startswith(site.url("/staff/login"))
    assert location(get(browser, customer_return)) == site.url("/protected")
    assert get(browser, site.url("/protected")).status_code == 200


def test_staff_sign_out_ends_only_the_staff_sign_in(two_providers: Site, staff_provider: OidcProvider) -> None:
    site, browser = two_providers, new_browser()
    get(browser, customer_callback(site, browser))
    get(browser, staff_callback(site, staff_provider, browser))
    confirmation = get(browser, site.url("/staff/logout"))
    form = next(f for f in parse_forms(confirmation.text) if f.action == "/staff/logout")
    end_session = location(browser.post(site.url("/staff/logout"), data={"csrf_token": form.fields["csrf_token"]},
                                        allow_redirects=False, timeout=5))
    assert end_session.startswith(staff_provider.issuer + "/")
    assert location(get(browser, site.url("/staff-area"))).startswith(site.url("/staff/login"))
    assert get(browser, site.url("/protected")).status_code == 200


def test_both_sign_ins_in_chromium(two_providers: Site, staff_provider: OidcProvider,
                                   browser_context: tuple[object, list[str]]) -> None:
    """A real browser keeps both providers' cookies apart: customer first, then the staff page."""
    from playwright.sync_api import expect

    site, (context, _refused) = two_providers, browser_context
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(site.url("/protected"))
    sign_in_at_provider(page, site.provider.issuer, "alice")
    page.wait_for_url(site.url("/protected"))
    page.goto(site.url("/staff-area"))
    sign_in_at_provider(page, staff_provider.issuer, "bob")
    page.wait_for_url(site.url("/staff-area"))
    expect(page.locator("body")).to_have_text(f"staff {staff_provider.issuer} bob")
    page.goto(site.url("/staff/profile"))
    expect(page.locator("#claim-iss")).to_have_text(staff_provider.issuer)
    page.goto(site.url("/profile"))
    expect(page.locator("#claim-iss")).to_have_text(site.provider.issuer)
    names = {cookie["name"] for cookie in context.cookies()}  # type: ignore[attr-defined]
    assert {"okta_session", "staff_session"} <= names
