"""A provider that stalls while access tokens come due, against the real oidc-provider.

oidc-provider rotates refresh tokens and, when a spent one comes back, revokes the whole
grant. Here it sits behind a loopback proxy that holds every byte for a while: the request
that sent the refresh answers 503 after OKTA_HTTP_TIMEOUT, the refresh keeps waiting for
the provider's answer and keeps it, and the session's next request uses it, so the spent
refresh token is never sent again and the session survives, for each kind of store.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.lifecycle_site import create_lifecycle_app, unverified_claims
from tests.e2e.provider import OidcProvider, require_oidc_provider, running_provider
from tests.e2e.site import Site
from tests.e2e.test_token_lifecycle_e2e import Browser, introspect, sign_in
from tests.loopback_proxy import LoopbackProxy
from tests.redis_server import free_port

pytestmark = pytest.mark.e2e

HTTP_TIMEOUT = 1.0  # OKTA_HTTP_TIMEOUT of the site
STALL = 3.0  # how long the provider stalls: longer than HTTP_TIMEOUT, shorter than OKTA_REFRESH_TIMEOUT
ATTEMPTS = 30


@pytest.fixture(scope="module")
def stalling_provider(e2e_site_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[OidcProvider, LoopbackProxy]]:
    """oidc-provider reached only through a proxy that can stall (its issuer is the proxy's URL)."""
    require_oidc_provider()
    port = free_port()
    proxy = LoopbackProxy(port).start()
    try:
        with running_provider(f"http://127.0.0.1:{e2e_site_port}", tmp_path_factory.mktemp("stalling_provider"),
                              {"issuer": proxy.url}, port=port) as provider:
            yield provider, proxy
    finally:
        proxy.close()


@pytest.fixture(params=["session", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    return "session" if request.param == "session" else request.getfixturevalue("redis_url")


@pytest.fixture
def stalling_site(site: Site, stalling_provider: tuple[OidcProvider, LoopbackProxy], store: str) -> Iterator[Site]:
    provider, _ = stalling_provider
    app = create_lifecycle_app(provider, OKTA_HTTP_TIMEOUT=HTTP_TIMEOUT, OKTA_TOKEN_STORE=store)
    with site.serving(app):
        yield dataclasses.replace(site, provider=provider)


def first_answer_but_503(browser: Browser) -> requests.Response:
    for _ in range(ATTEMPTS):
        response = browser.get("/protected")
        if response.status_code != 503:
            return response
        time.sleep(0.1)
    raise AssertionError(f"still 503 after {ATTEMPTS} tries")


def test_refresh_sent_while_the_provider_stalls_is_kept_and_the_session_survives(
        stalling_site: Site, stalling_provider: tuple[OidcProvider, LoopbackProxy]) -> None:
    provider, proxy = stalling_provider
    browser = sign_in(stalling_site)
    before = browser.stored()
    browser.age_access_token()

    with proxy.stalled():
        started = time.monotonic()
        first = browser.get("/protected")
        again = browser.get("/protected")  # the user reloads: the same refresh is still under way
        time.sleep(max(0.0, STALL - (time.monotonic() - started)))
    response = first_answer_but_503(browser)

    assert first.status_code == 503 and first.headers["Retry-After"]
    assert again.status_code == 503
    assert response.status_code == 200, response.text[:500]
    after = browser.stored()
    assert after.refresh_token != before.refresh_token
    assert response.json()["access_token"]["jti"] == unverified_claims(after.access_token)["jti"]
    assert introspect(provider, after.refresh_token)["active"] is True  # no replay revoked the grant
    browser.age_access_token()
    assert browser.protected_jti() != response.json()["access_token"]["jti"]  # and it refreshes again


def test_provider_resetting_connections_during_a_refresh_answers_503_and_keeps_the_session(
        stalling_site: Site, stalling_provider: tuple[OidcProvider, LoopbackProxy]) -> None:
    provider, proxy = stalling_provider
    browser = sign_in(stalling_site)
    before = browser.stored()
    browser.age_access_token()

    with proxy.resetting():
        refused = browser.get("/protected")

    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert browser.stored().refresh_token == before.refresh_token
    response = browser.get("/protected")
    assert response.status_code == 200, response.text[:500]
    assert introspect(provider, browser.stored().refresh_token)["active"] is True
