"""DPoP (RFC 9449) end to end: the sample site with ``OKTA_DPOP`` against oidc-provider requiring nonces.

The provider binds every token the site obtains to the site's key (code exchange, refresh,
token exchange, client credentials), after a ``use_dpop_nonce`` challenge; the sample site's
``/messages`` page calls its own API through ``okta.api_session()``, which sends the bound
token with a proof, and the API refuses the bound token without a proof of that key.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator

import pytest
import requests
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from flask_okta_client.errors import ConfigError
from flask_okta_client.protocol.dpop import DPoPKey
from tests.e2e.lifecycle_site import flask_client_sharing_cookie, unverified_claims
from tests.e2e.site import Site, create_site_app, site_with_own_provider
from tests.e2e.test_sign_in_http import get, sign_in
from tests.lifecycle_helpers import expire_access_token

pytestmark = pytest.mark.e2e

SCOPES = "openid profile email offline_access messages:read"


@pytest.fixture(scope="module")
def dpop_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """oidc-provider requiring DPoP nonces, and the sample site with OKTA_DPOP on its registered origin."""
    work_dir = tmp_path_factory.mktemp("oidc_provider_dpop")
    with site_with_own_provider(work_dir, {"dpop": {"requireNonce": True}}) as site:
        app = create_site_app(site.provider, "web", OKTA_DPOP=True, OKTA_SCOPES=SCOPES, OKTA_PROMPT="consent",
                              SAMPLE_API_URL=site.url("/api/messages"))
        with site.serving(app):
            yield site


def site_key(site: Site) -> str:
    return site.app.extensions["okta"].dpop.key.thumbprint


@pytest.fixture
def browser(dpop_site: Site) -> requests.Session:
    signed = sign_in(dpop_site, next="/protected")
    assert signed.callback.status_code == 302, signed.callback.text[:500]
    return signed.browser


def test_sign_in_gets_a_token_bound_to_the_site_key(dpop_site: Site, browser: requests.Session) -> None:
    stored = dpop_site.signed_in_user(browser)
    assert stored.token_type == "DPoP"
    assert unverified_claims(stored.access_token)["cnf"] == {"jkt": site_key(dpop_site)}


def test_messages_page_calls_the_api_with_a_proof(dpop_site: Site, browser: requests.Session) -> None:
    page = get(browser, dpop_site.url("/messages"))
    assert page.status_code == 200, page.text[:500]
    assert '<strong id="api-status">200</strong>' in page.text
    assert "Authorization: DPoP" in page.text
    assert "Hello, alice!" in page.text


def test_the_bound_token_is_useless_without_the_key(dpop_site: Site, browser: requests.Session) -> None:
    token = dpop_site.signed_in_user(browser).access_token
    api = dpop_site.url("/api/messages")
    as_bearer = requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert as_bearer.status_code == 401
    assert as_bearer.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    thief = DPoPKey.generate("ES256")
    stolen = requests.get(api, timeout=5, headers={"Authorization": f"DPoP {token}",
                                                   "DPoP": thief.proof("GET", api, access_token=token)})
    assert stolen.status_code == 401
    assert stolen.headers["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')


def test_refresh_keeps_the_binding(dpop_site: Site, browser: requests.Session) -> None:
    before = dpop_site.signed_in_user(browser)
    with flask_client_sharing_cookie(dpop_site.app, browser) as client:
        expire_access_token(dpop_site.app, client)
    assert get(browser, dpop_site.url("/messages")).status_code == 200
    after = dpop_site.signed_in_user(browser)
    assert after.access_token != before.access_token
    assert after.expires_at > time.time()
    assert unverified_claims(after.access_token)["cnf"] == {"jkt": site_key(dpop_site)}


def test_token_exchange_is_bound(dpop_site: Site, browser: requests.Session) -> None:
    state = dpop_site.app.extensions["okta"]
    subject = dpop_site.signed_in_user(browser).access_token
    exchanged = state.grants.token_exchange(subject, audience="api://default", scope="messages:read")
    assert exchanged.token_type == "DPoP"
    assert unverified_claims(exchanged.access_token)["cnf"] == {"jkt": site_key(dpop_site)}


def test_client_credentials_token_is_bound(dpop_site: Site) -> None:
    service = dpop_site.provider.clients["service"]
    app = create_site_app(dpop_site.provider, "service", OKTA_DPOP=True, OKTA_SCOPES="openid")
    assert service["client_id"] == app.config["OKTA_CLIENT_ID"]
    state = app.extensions["okta"]
    token = state.grants.client_credentials_token("messages:read")
    assert token.token_type == "DPoP"
    assert unverified_claims(token.access_token)["cnf"] == {"jkt": state.dpop.key.thumbprint}


@pytest.mark.parametrize("key, alg", [
    (ECKey.generate_key("P-256", private=True), "ES256"),
    (OKPKey.generate_key("Ed25519", private=True), "Ed25519"),
], ids=["EC", "Ed25519"])
def test_a_configured_ec_or_ed25519_key_binds_the_tokens(dpop_site: Site, key, alg: str) -> None:
    """README: OKTA_DPOP_KEY may be RSA, EC or Ed25519 (PEM or JWK); oidc-provider lists RFC 9864's
    Ed25519, so an Ed25519 key signs as Ed25519, not as the deprecated EdDSA."""
    app = create_site_app(dpop_site.provider, "service", OKTA_DPOP=True, OKTA_SCOPES="openid",
                          OKTA_DPOP_KEY=key.as_dict(private=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        token = app.extensions["okta"].grants.client_credentials_token("messages:read")
    assert app.extensions["okta"].dpop.key.algorithm == alg
    assert token.token_type == "DPoP"
    assert unverified_claims(token.access_token)["cnf"] == {"jkt": key.thumbprint()}
    assert not [w for w in caught if issubclass(w.category, SecurityWarning)]


def test_an_ed25519_key_signs_as_eddsa_for_a_provider_without_ed25519(tmp_path) -> None:
    """A provider that predates RFC 9864 lists EdDSA only: the site's proofs say EdDSA, which joserfc
    warns is deprecated, and the tokens are bound."""
    options = {"dpop": {"requireNonce": True, "signingAlgValues": ["ES256", "EdDSA"]}}
    with site_with_own_provider(tmp_path, options) as site:
        key = OKPKey.generate_key("Ed25519", private=True)
        app = create_site_app(site.provider, "service", OKTA_DPOP=True, OKTA_SCOPES="openid",
                              OKTA_DPOP_KEY=key.as_dict(private=True))
        assert app.extensions["okta"].metadata.get()["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]
        with pytest.warns(SecurityWarning, match="EdDSA"):
            token = app.extensions["okta"].grants.client_credentials_token("messages:read")
    assert app.extensions["okta"].dpop.key.algorithm == "EdDSA"
    assert unverified_claims(token.access_token)["cnf"] == {"jkt": key.thumbprint()}


def test_a_configured_key_the_provider_does_not_accept_is_named_at_the_first_token_request(dpop_site: Site) -> None:
    """oidc-provider takes ES256, Ed25519 and EdDSA proofs only: an RSA key is a configuration error that names it."""
    app = create_site_app(dpop_site.provider, "service", OKTA_DPOP=True, OKTA_SCOPES="openid",
                          OKTA_DPOP_KEY=RSAKey.generate_key(2048, private=True).as_dict(private=True))
    state = app.extensions["okta"]
    assert not any(alg.startswith(("RS", "PS")) for alg in state.metadata.get()["dpop_signing_alg_values_supported"])
    with pytest.raises(ConfigError, match="OKTA_DPOP_KEY signs with RS256"):
        state.grants.client_credentials_token("messages:read")
