"""The token lifecycle through the extension against the real oidc-provider, over HTTP.

A site of its own (``tests/e2e/lifecycle_site.py``) is served on the shared e2e origin
and signed into with ``requests``: refreshing an aged access token (with refresh-token
rotation), one refresh for concurrent requests, token exchange, cross-app access
(ID-JAG + JWT bearer) and a refused refresh ending the session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from flask_okta_client.sessions.storage import SignedInUser
from tests.concurrency import run_concurrently
from tests.e2e.lifecycle_site import (
    DOWNSTREAM_AUDIENCE,
    copy_session_cookie,
    create_lifecycle_app,
    flask_client_sharing_cookie,
    unverified_claims,
)
from tests.e2e.provider import OidcProvider
from tests.e2e.site import Site, new_browser
from tests.lifecycle_helpers import expire_access_token, stored_user

pytestmark = pytest.mark.e2e

TIMEOUT = 5
CONCURRENT_REQUESTS = 8


@pytest.fixture(scope="module")
def lifecycle_app(oidc_provider: OidcProvider) -> Flask:
    return create_lifecycle_app(oidc_provider)


@pytest.fixture
def lifecycle_site(site: Site, lifecycle_app: Flask) -> Iterator[Site]:
    """The shared origin serving the lifecycle site for one test (then the sample site again)."""
    with site.serving(lifecycle_app):
        yield site


@dataclass
class Browser:
    """A signed-in ``requests`` session and the site it is signed into."""

    site: Site
    session: requests.Session

    @property
    def app(self) -> Flask:
        return self.site.app

    def get(self, path: str, session: requests.Session | None = None) -> requests.Response:
        return (session or self.session).get(self.site.url(path), allow_redirects=False, timeout=TIMEOUT)

    def stored(self) -> SignedInUser | None:
        """The sign-in the site keeps for this browser, read through a test client sharing its cookie."""
        with flask_client_sharing_cookie(self.app, self.session) as client:
            return stored_user(self.app, client)

    def age_access_token(self) -> None:
        with flask_client_sharing_cookie(self.app, self.session) as client:
            expire_access_token(self.app, client)
        assert self.stored().expires_at < time.time()

    def protected_jti(self, session: requests.Session | None = None) -> str:
        response = self.get("/protected", session)
        assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
        return response.json()["access_token"]["jti"]


def sign_in(site: Site) -> Browser:
    session = new_browser()
    login = session.get(site.url("/login?next=/protected"), allow_redirects=False, timeout=TIMEOUT)
    assert login.is_redirect, login.text[:500]
    callback_url = site.provider.login(session, urljoin(login.url, login.headers["Location"]))
    assert callback_url.startswith(site.provider.redirect_uri + "?"), callback_url
    callback = session.get(callback_url, allow_redirects=False, timeout=TIMEOUT)
    assert callback.status_code == 302, callback.text[:500]
    assert callback.headers["Location"] in ("/protected", site.url("/protected"))
    browser = Browser(site, session)
    assert browser.stored().refresh_token, "offline_access with prompt=consent: a refresh token was expected"
    return browser


@pytest.fixture
def browser(lifecycle_site: Site) -> Browser:
    return sign_in(lifecycle_site)


def web_client_auth(provider: OidcProvider) -> tuple[str, str]:
    client = provider.clients["web"]
    return str(client["client_id"]), str(client["client_secret"])


def redeem_refresh_token(provider: OidcProvider, refresh_token: str) -> requests.Response:
    """A refresh at the provider's token endpoint, outside the site."""
    return requests.post(
        str(provider.discovery()["token_endpoint"]),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=web_client_auth(provider),
        timeout=TIMEOUT,
    )


def introspect(provider: OidcProvider, token: str) -> dict[str, Any]:
    response = requests.post(
        str(provider.discovery()["introspection_endpoint"]),
        data={"token": token},
        auth=web_client_auth(provider),
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


def test_aged_access_token_is_refreshed_and_the_refresh_token_rotated(browser: Browser) -> None:
    provider = browser.site.provider
    before = browser.stored()
    old_jti = browser.protected_jti()
    assert old_jti == unverified_claims(before.access_token)["jti"]
    browser.age_access_token()

    new_jti = browser.protected_jti()

    after = browser.stored()
    assert new_jti != old_jti
    assert new_jti == unverified_claims(after.access_token)["jti"]
    assert after.access_token != before.access_token
    assert after.expires_at > time.time() + 60
    assert after.refresh_token and after.refresh_token != before.refresh_token
    assert after.claims["sub"] == before.claims["sub"] == "alice"
    assert introspect(provider, after.refresh_token)["active"] is True
    # Rotation: the refresh token the site used is spent ...
    replay = redeem_refresh_token(provider, before.refresh_token)
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"
    # ... and replaying it revoked its family, the site's new refresh token included. So a second
    # refresh with one refresh token (the next test rules it out) would end the sign-in.
    assert introspect(provider, after.refresh_token) == {"active": False}


def test_concurrent_requests_share_one_refresh(browser: Browser) -> None:
    before = browser.stored()
    browser.age_access_token()
    sessions = []
    for _ in range(CONCURRENT_REQUESTS):
        session = new_browser()
        copy_session_cookie(browser.session, session)
        sessions.append(session)
    responses = run_concurrently([lambda s=s: browser.get("/protected", s) for s in sessions], timeout=2 * TIMEOUT)
    assert all(isinstance(r, requests.Response) for r in responses), responses
    assert [r.status_code for r in responses] == [200] * CONCURRENT_REQUESTS, [r.text[:200] for r in responses]
    jtis = {r.json()["access_token"]["jti"] for r in responses}
    assert len(jtis) == 1, f"{len(jtis)} different access tokens: more than one refresh happened"
    assert jtis != {unverified_claims(before.access_token)["jti"]}
    refresh_tokens = {Browser(browser.site, session).stored().refresh_token for session in sessions}
    assert len(refresh_tokens) == 1 and None not in refresh_tokens
    assert refresh_tokens != {before.refresh_token}

    # Carry on with the cookie one of the requests got back: the sign-in still works, and
    # another refresh succeeds, so the provider did not see the old refresh token twice
    # (which would have revoked the whole family, as the previous test shows).
    copy_session_cookie(sessions[0], browser.session)
    (shared_jti,) = jtis
    assert browser.protected_jti() == shared_jti
    browser.age_access_token()
    again = browser.protected_jti()
    assert again != shared_jti
    assert browser.stored().refresh_token not in refresh_tokens | {before.refresh_token}
    assert introspect(browser.site.provider, browser.stored().refresh_token)["active"] is True


def test_token_exchange_for_a_downstream_api_is_cached(browser: Browser) -> None:
    first = browser.get("/downstream")
    assert first.status_code == 200, first.text[:500]
    claims = first.json()
    assert claims["aud"] == DOWNSTREAM_AUDIENCE
    assert claims["iss"] == browser.site.provider.issuer
    assert claims["sub"] == "alice"
    assert claims["client_id"] == "web-client"
    assert claims["scope"] == "openid"
    assert claims["jti"] != unverified_claims(browser.stored().access_token)["jti"]

    second = browser.get("/downstream")

    assert second.status_code == 200, second.text[:500]
    assert second.json()["jti"] == claims["jti"]


def test_cross_app_access_with_an_id_jag_redeemed_by_jwt_bearer(browser: Browser) -> None:
    provider = browser.site.provider
    response = browser.get("/cross-app")

    assert response.status_code == 200, response.text[:500]
    token = response.json()["token"]
    keys = KeySet.import_key_set(requests.get(str(provider.discovery()["jwks_uri"]), timeout=TIMEOUT).json())
    verified = jwt.decode(token, keys, algorithms=["RS256", "ES256"])
    assert verified.header["typ"] == "at+jwt"  # an access token, not the ID-JAG (oauth-id-jag+jwt)
    claims = verified.claims
    assert claims["iss"] == provider.issuer
    assert claims["sub"] == "alice"
    assert claims["client_id"] == "web-client"
    assert claims["aud"] == "api://default"
    assert claims["exp"] > time.time()
    assert browser.get("/cross-app").json()["token"] == token  # cached for the session


def test_refused_refresh_ends_the_session_and_returns_to_sign_in(browser: Browser) -> None:
    provider = browser.site.provider
    refresh_token = browser.stored().refresh_token
    revoked = requests.post(
        str(provider.discovery()["revocation_endpoint"]),
        data={"token": refresh_token, "token_type_hint": "refresh_token"},
        auth=web_client_auth(provider),
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200, revoked.text
    assert introspect(provider, refresh_token) == {"active": False}
    browser.age_access_token()

    response = browser.get("/protected")

    assert response.status_code == 302, response.text[:500]
    target = urlsplit(urljoin(response.url, response.headers["Location"]))
    assert target.path == "/login"
    assert parse_qs(target.query) == {"next": ["/protected"]}
    assert browser.stored() is None
    again = browser.get("/protected")
    assert again.status_code == 302
    assert urlsplit(again.headers["Location"]).path == "/login"
