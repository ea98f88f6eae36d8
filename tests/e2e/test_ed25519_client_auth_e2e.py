"""``private_key_jwt`` with an Ed25519 key at oidc-provider, which lists RFC 9864's ``Ed25519`` among its
client-assertion algorithms: the site's assertions say ``Ed25519``, not the deprecated ``EdDSA``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from tests.e2e.provider import OidcProvider, client_registrations, running_provider
from tests.e2e.site import create_site_app

pytestmark = pytest.mark.e2e

KEY = OKPKey.generate_key("Ed25519", private=True)
ORIGIN = "http://127.0.0.1:9"  # no site is served: client credentials only


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """oidc-provider with one more client: private_key_jwt, its Ed25519 public key, and assertions
    it accepts only when signed as Ed25519 (``token_endpoint_auth_signing_alg``)."""
    clients = client_registrations(ORIGIN)
    clients["ed25519"] = {
        "client_id": "ed25519-client",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "Ed25519",
        "jwks": {"keys": [{**KEY.as_dict(private=False), "kid": KEY.thumbprint()}]},  # the site names it so
        "grant_types": ["client_credentials"],
        "redirect_uris": [],
        "response_types": [],
    }
    with running_provider(ORIGIN, tmp_path_factory.mktemp("oidc_provider_ed25519"),
                          {"clients": list(clients.values())}) as running:
        running.clients = clients
        yield running


def test_client_credentials_with_an_ed25519_private_key_jwt(provider: OidcProvider) -> None:
    app = create_site_app(provider, "ed25519", OKTA_SCOPES="openid", OKTA_CLIENT_AUTH_METHOD="private_key_jwt",
                          OKTA_PRIVATE_KEY=KEY.as_dict(private=True))
    state = app.extensions["okta"]
    assert "Ed25519" in state.metadata.get()["token_endpoint_auth_signing_alg_values_supported"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        token = state.grants.client_credentials_token("messages:read")
    assert token.access_token
    assert not [w for w in caught if issubclass(w.category, SecurityWarning)]
