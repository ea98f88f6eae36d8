"""Sign-in and sign-out on the sample site against the real oidc-provider, with requests as the browser."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

from tests.e2e.forms import parse_forms
from tests.e2e.site import Site, create_site_app, new_browser

pytestmark = pytest.mark.e2e

TIMEOUT = 5


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**query_of(url), **changes}
    return urlunsplit(parts._replace(query=urlencode(query)))


def location(response: requests.Response) -> str:
    assert response.is_redirect, f"{response.status_code} from {response.url}: {response.text[:500]}"
    return urljoin(response.url, response.headers["Location"])


def get(browser: requests.Session, url: str) -> requests.Response:
    return browser.get(url, allow_redirects=False, timeout=TIMEOUT)


@dataclass
class SignIn:
    browser: requests.Session
    callback_url: str
    callback: requests.Response


def start_sign_in(site: Site, browser: requests.Session, **query: str) -> str:
    """GET /login and return the authorization URL the site redirects to."""
    response = get(browser, site.url("/login?" + urlencode(query)) if query else site.url("/login"))
    authorize_url = location(response)
    assert authorize_url.startswith(site.provider.issuer + "/"), authorize_url
    return authorize_url


def provider_callback(site: Site, browser: requests.Session, **query: str) -> str:
    """Start signing in and let alice sign in at the provider; the callback URL it sends back (not yet opened)."""
    callback_url = site.provider.login(browser, start_sign_in(site, browser, **query))
    assert callback_url.startswith(site.provider.redirect_uri + "?"), callback_url
    return callback_url


def sign_in(site: Site, browser: requests.Session | None = None, **query: str) -> SignIn:
    browser = browser or new_browser()
    callback_url = provider_callback(site, browser, **query)
    return SignIn(browser, callback_url, get(browser, callback_url))


def assert_signed_out(site: Site, browser: requests.Session) -> None:
    response = get(browser, site.url("/protected"))
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/login"
    assert site.signed_in_user(browser) is None


def introspect(site: Site, token: str) -> dict[str, object]:
    client = site.provider.clients["web"]
    response = requests.post(
        f"{site.provider.issuer}/token/introspection",
        data={"token": token},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def signed_in(site: Site) -> SignIn:
    return sign_in(site, next="/protected")


def test_sign_in_lands_on_the_next_page(site: Site, signed_in: SignIn) -> None:
    assert signed_in.callback.status_code == 302
    assert location(signed_in.callback) == site.url("/protected")

    page = get(signed_in.browser, site.url("/protected"))

    assert page.status_code == 200
    assert "<code>alice</code>" in page.text


def test_authorization_request_is_pushed_with_use_par_always(site: Site) -> None:
    """With PAR (RFC 9126) the browser only carries client_id and request_uri, and still signs in."""
    with site.serving(create_site_app(site.provider, "web", OKTA_USE_PAR="always")):
        browser = new_browser()
        authorize_url = start_sign_in(site, browser, next="/protected")
        assert set(query_of(authorize_url)) == {"client_id", "request_uri"}
        assert query_of(authorize_url)["client_id"] == "web-client"
        callback = get(browser, site.provider.login(browser, authorize_url))
        assert location(callback) == site.url("/protected")


def test_auto_does_not_push_where_the_provider_offers_but_does_not_require_par(site: Site) -> None:
    """An anonymous page load costs no outbound call: the request travels in the URL."""
    authorize_url = start_sign_in(site, new_browser(), next="/protected")

    assert {"client_id", "state", "nonce", "code_challenge", "redirect_uri"} <= set(query_of(authorize_url))
    assert "request_uri" not in query_of(authorize_url)


def test_profile_shows_id_token_claims(site: Site, signed_in: SignIn) -> None:
    page = get(signed_in.browser, site.url("/profile"))

    assert page.status_code == 200
    assert "alice@example.com" in page.text
    assert site.provider.issuer in page.text  # the iss claim
    assert site.signed_in_user(signed_in.browser).claims["sub"] == "alice"


def test_callback_response_is_not_cached_and_sends_no_referrer(signed_in: SignIn) -> None:
    headers = signed_in.callback.headers

    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_replayed_callback_while_signed_in_goes_to_the_landing_page(site: Site, signed_in: SignIn) -> None:
    replay = get(signed_in.browser, signed_in.callback_url)

    assert replay.status_code == 302
    assert location(replay) == site.url("/")
    assert get(signed_in.browser, site.url("/protected")).status_code == 200


def test_replayed_callback_in_a_fresh_session_asks_to_sign_in_again(site: Site, signed_in: SignIn) -> None:
    stranger = new_browser()

    replay = get(stranger, signed_in.callback_url)

    assert replay.status_code == 400
    assert "text/html" in replay.headers["Content-Type"]
    assert "sign in again" in replay.text.lower()
    assert "login_expired" in replay.text
    assert_signed_out(site, stranger)


def test_callback_with_tampered_state_is_refused(site: Site) -> None:
    browser = new_browser()
    callback_url = provider_callback(site, browser, next="/protected")
    tampered = with_query(callback_url, state=query_of(callback_url)["state"][:-4] + "AAAA")

    response = get(browser, tampered)

    assert response.status_code == 400
    assert "login_expired" in response.text
    assert_signed_out(site, browser)


def test_callback_from_another_issuer_is_refused(site: Site) -> None:
    browser = new_browser()
    callback_url = provider_callback(site, browser, next="/protected")
    assert query_of(callback_url)["iss"] == site.provider.issuer
    forged = with_query(callback_url, iss="http://127.0.0.1:9/evil-issuer")

    response = get(browser, forged)

    assert response.status_code == 400
    assert "invalid_issuer" in response.text
    assert_signed_out(site, browser)


def test_provider_error_is_shown_to_the_user(site: Site) -> None:
    browser = new_browser()  # no session at the provider, so prompt=none cannot succeed
    authorize_url = start_sign_in(site, browser, prompt="none")

    answer = get(browser, authorize_url)
    callback_url = location(answer)
    assert callback_url.startswith(site.provider.redirect_uri + "?")
    assert query_of(callback_url)["error"] == "login_required"
    response = get(browser, callback_url)

    assert 400 <= response.status_code < 500
    assert "login_required" in response.text
    assert_signed_out(site, browser)


def test_sign_out_ends_both_sessions_and_revokes_the_refresh_token(site: Site) -> None:
    # prompt=consent: oidc-provider grants offline_access (so issues a refresh token) only then.
    signed_in = sign_in(site, next="/protected", prompt="consent")
    browser = signed_in.browser
    stored = site.signed_in_user(browser)
    refresh_token = stored.refresh_token
    assert refresh_token, "the site asked for offline_access with prompt=consent: a refresh token was expected"
    assert introspect(site, refresh_token)["active"] is True

    confirmation = get(browser, site.url("/logout"))
    assert confirmation.status_code == 200
    form = next(f for f in parse_forms(confirmation.text) if f.method == "post" and "csrf_token" in f.fields)
    assert urljoin(site.url("/logout"), form.action) == site.url("/logout")
    csrf_token = form.fields["csrf_token"]
    assert csrf_token

    refused = browser.post(site.url("/logout"), data={}, allow_redirects=False, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert "invalid_csrf_token" in refused.text
    assert get(browser, site.url("/protected")).status_code == 200, "a refused sign-out must keep the session"

    signed_out = browser.post(
        site.url("/logout"), data={"csrf_token": csrf_token}, allow_redirects=False, timeout=TIMEOUT
    )
    end_session_url = location(signed_out)
    end_session_endpoint = site.provider.discovery()["end_session_endpoint"]
    assert end_session_url.split("?")[0] == end_session_endpoint
    logout_query = query_of(end_session_url)
    assert logout_query["id_token_hint"] == stored.id_token
    assert logout_query["post_logout_redirect_uri"] == site.provider.post_logout_redirect_uri
    assert logout_query["state"]
    assert site.signed_in_user(browser) is None

    # oidc-provider asks for confirmation: a form (with its xsrf field) and a logout=yes button.
    prompt = get(browser, end_session_url)
    assert prompt.status_code == 200, prompt.text[:500]
    (logout_form,) = [f for f in parse_forms(prompt.text) if f.method == "post"]
    yes = next(b for b in logout_form.buttons if b.get("value") == "yes")
    confirmed = browser.post(
        urljoin(prompt.url, logout_form.action),
        data={**logout_form.fields, yes["name"]: yes["value"]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    back = location(confirmed)
    assert back.startswith(site.provider.post_logout_redirect_uri + "?")
    assert query_of(back)["state"] == logout_query["state"]

    landing = get(browser, back)
    assert landing.status_code == 302
    assert location(landing) == site.url("/")

    assert_signed_out(site, browser)
    assert introspect(site, refresh_token) == {"active": False}
    # The provider session is gone too: a silent sign-in now fails.
    silent = location(get(browser, start_sign_in(site, browser, prompt="none")))
    assert query_of(silent)["error"] == "login_required"


def test_public_client_signs_in_with_pkce_only(public_site: Site) -> None:
    okta_config = public_site.app.extensions["okta"].config
    assert (okta_config.client_id, okta_config.client_secret) == ("public-client", None)
    assert okta_config.client_auth_method == "none"

    signed_in = sign_in(public_site, next="/profile")

    assert location(signed_in.callback) == public_site.url("/profile")
    profile = get(signed_in.browser, public_site.url("/profile"))
    assert profile.status_code == 200
    assert "alice@example.com" in profile.text
    assert public_site.signed_in_user(signed_in.browser).claims["aud"] == "public-client"
