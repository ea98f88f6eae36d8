"""RFC 9864's fully-specified ``Ed25519`` algorithm, beside the deprecated polymorphic ``EdDSA``.

Accepted wherever ``EdDSA`` is (DPoP proofs at this site's API, token signatures when configured
or advertised) with an Ed25519 key only; the site's own DPoP proofs say ``Ed25519`` when the
provider lists it, else ``EdDSA``. Proofs and tokens are signed with ``cryptography`` directly
(python-jose has no EdDSA), independently of the library's JOSE code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from flask_okta_client.errors import ConfigError, TokenValidationError
from flask_okta_client.protocol.client_auth import (
    PrivateKeyAssertion,
    signing_algorithm,
)
from flask_okta_client.protocol.dpop import choose_algorithm
from flask_okta_client.protocol.validation import signature_check
from flask_okta_client.testing.mock_server import MockOktaServer
from tests.jose_helpers import (
    CLIENT_SECRET,
    NONCE,
    access_claims,
    b64url,
    discovery_document,
    forge_hmac,
    id_claims,
    make_verifier,
    signing_input,
)
from tests.site import make_site
from tests.test_dpop_api import ath, call
from tests.test_dpop_client import claims_of, machine_app

API = "http://localhost/api/messages"


# --------------------------------------------------------------------------- keys and signatures by hand


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members (exactly those given here), sorted, no spaces."""
    return b64url(hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest())


class OkpSigner:
    """An Ed25519 or Ed448 private key, its public JWK and RFC 7638 thumbprint, written out by hand."""

    def __init__(self, curve: str = "Ed25519", kid: str | None = None) -> None:
        self.private_key = ed25519.Ed25519PrivateKey.generate() if curve == "Ed25519" else \
            ed448.Ed448PrivateKey.generate()
        x = b64url(self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        self.jwk: dict[str, Any] = {"kty": "OKP", "crv": curve, "x": x}
        self.jkt = thumbprint(self.jwk)
        if kid is not None:
            self.jwk = {**self.jwk, "kid": kid, "use": "sig"}

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        data = signing_input(header, claims)
        return data.decode("ascii") + "." + b64url(self.private_key.sign(data))


class P256Signer:
    """A P-256 key signing ES256-style (raw r || s), whatever the header says."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private_key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big"))}

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        data = signing_input(header, claims)
        r, s = decode_dss_signature(self.private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return data.decode("ascii") + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def proof_claims(token: str) -> dict[str, Any]:
    return {"htm": "GET", "htu": API, "iat": int(time.time()), "jti": secrets.token_hex(12), "ath": ath(token)}


def proof(signer: OkpSigner | P256Signer, token: str, alg: str, jwk: dict[str, Any] | None = None) -> str:
    return signer.sign({"typ": "dpop+jwt", "alg": alg, "jwk": jwk or signer.jwk}, proof_claims(token))


@pytest.fixture
def holder() -> OkpSigner:
    return OkpSigner()


@pytest.fixture
def bound_token(okta_access_token, holder) -> str:
    return okta_access_token(scopes=["messages:read"], cnf={"jkt": holder.jkt})


@pytest.fixture
def api(okta_settings):
    return make_site(okta_settings).test_client()


def assert_refused(response) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_dpop_proof"


# --------------------------------------------------------------------------- DPoP proofs at this site's API


def test_an_ed25519_proof_is_accepted(api, holder, bound_token):
    response = call(api, bound_token, proof(holder, bound_token, "Ed25519"))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_an_eddsa_proof_with_an_ed25519_key_is_still_accepted(api, holder, bound_token):
    response = call(api, bound_token, proof(holder, bound_token, "EdDSA"))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_challenge_lists_ed25519_and_eddsa(api, holder, bound_token):
    challenge = call(api, bound_token, None).headers["WWW-Authenticate"]
    algs = challenge.split('algs="')[1].rstrip('"').split()
    assert "Ed25519" in algs and "EdDSA" in algs


def test_an_ed25519_proof_signed_by_an_ed448_key_is_refused(okta_access_token, api):
    ed448_holder = OkpSigner("Ed448")
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": ed448_holder.jkt})
    assert_refused(call(api, token, proof(ed448_holder, token, "Ed25519")))


def test_an_ed25519_proof_carrying_a_p256_key_is_refused(okta_access_token, api):
    p256 = P256Signer()
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": thumbprint(p256.jwk)})
    assert_refused(call(api, token, proof(p256, token, "Ed25519")))


def test_an_ed25519_proof_signed_by_another_key_is_refused(api, holder, bound_token):
    forger = OkpSigner()
    assert_refused(call(api, bound_token, proof(forger, bound_token, "Ed25519", jwk=holder.jwk)))


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_none_or_hmac_over_the_ed25519_public_key_is_refused(api, holder, bound_token, alg):
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": holder.jwk}
    public = holder.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    forged = forge_hmac(header, proof_claims(bound_token), public)
    if alg == "none":
        forged = forged.rsplit(".", 1)[0] + "."
    assert_refused(call(api, bound_token, forged))


def test_proof_algorithms_can_be_narrowed_to_ed25519(okta_settings, holder, bound_token):
    api = make_site(okta_settings, OKTA_DPOP_PROOF_ALGORITHMS="Ed25519").test_client()
    assert_refused(call(api, bound_token, proof(holder, bound_token, "EdDSA")))
    assert call(api, bound_token, proof(holder, bound_token, "Ed25519")).status_code == 200


# --------------------------------------------------------------------------- token signatures


def test_an_ed25519_id_token_is_verified_when_configured():
    key = OkpSigner(kid="ed-1")
    verifier = make_verifier(keys=[key.jwk], OKTA_ID_TOKEN_ALGORITHMS="Ed25519")
    access_token = "an-access-token"
    at_hash = b64url(hashlib.sha512(access_token.encode()).digest()[:32])  # SHA-512 for Ed25519
    claims = id_claims(at_hash=at_hash)
    token = key.sign({"alg": "Ed25519", "kid": "ed-1"}, claims)
    assert verifier.verify_id_token(token, nonce=NONCE, access_token=access_token) == claims


def test_an_ed25519_access_token_is_verified_when_discovery_advertises_it():
    key = OkpSigner(kid="ed-1")
    verifier = make_verifier(keys=[key.jwk],
                             discovery=discovery_document(id_token_signing_alg_values_supported=["Ed25519"]))
    claims = access_claims()
    token = key.sign({"alg": "Ed25519", "kid": "ed-1"}, claims)
    assert verifier.verify_access_token(token, audience="api://default") == claims


def test_an_eddsa_token_with_an_ed25519_key_is_still_verified_when_configured():
    key = OkpSigner(kid="ed-1")
    verifier = make_verifier(keys=[key.jwk], OKTA_ID_TOKEN_ALGORITHMS="EdDSA")
    claims = id_claims()
    assert verifier.verify_id_token(key.sign({"alg": "EdDSA", "kid": "ed-1"}, claims), nonce=NONCE) == claims


def test_an_ed25519_token_is_refused_unless_allowed():
    key = OkpSigner(kid="ed-1")
    verifier = make_verifier(keys=[key.jwk])
    with pytest.raises(TokenValidationError, match="algorithm .* is not allowed"):
        verifier.verify_id_token(key.sign({"alg": "Ed25519", "kid": "ed-1"}, id_claims()), nonce=NONCE)


def test_an_ed25519_token_signed_by_an_ed448_key_is_refused():
    key = OkpSigner("Ed448", kid="ed448-1")
    verifier = make_verifier(keys=[key.jwk], OKTA_ID_TOKEN_ALGORITHMS="Ed25519 EdDSA")
    with pytest.raises(TokenValidationError, match="unknown key"):
        verifier.verify_id_token(key.sign({"alg": "Ed25519", "kid": "ed448-1"}, id_claims()), nonce=NONCE)


def test_the_ed25519_signature_check_refuses_an_ed448_key_it_is_handed():
    key = OkpSigner("Ed448")
    data = b"header.payload"
    check = signature_check("Ed25519", OKPKey.import_key(key.jwk))
    assert not check(key.private_key.sign(data), data)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_none_or_hmac_with_an_ed25519_key_is_refused(alg):
    key = OkpSigner(kid="ed-1")
    verifier = make_verifier(keys=[key.jwk], OKTA_ID_TOKEN_ALGORITHMS="Ed25519")
    public = key.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    for secret in (public, CLIENT_SECRET.encode()):
        forged = forge_hmac({"alg": alg, "kid": "ed-1"}, id_claims(), secret)
        if alg == "none":
            forged = forged.rsplit(".", 1)[0] + "."
        with pytest.raises(TokenValidationError, match="algorithm .* is not allowed"):
            verifier.verify_id_token(forged, nonce=NONCE)


# --------------------------------------------------------------------------- this site's own DPoP proofs


@pytest.mark.parametrize("accepted, expected", [
    (None, "EdDSA"),
    (["ES256", "EdDSA"], "EdDSA"),
    (["ES256", "Ed25519", "EdDSA"], "Ed25519"),
])
def test_an_ed25519_key_signs_as_ed25519_where_accepted(accepted, expected):
    assert signing_algorithm(OKPKey.generate_key("Ed25519"), accepted) == expected


def test_an_ed448_key_or_a_key_declaring_eddsa_keeps_eddsa():
    assert signing_algorithm(OKPKey.generate_key("Ed448"), ["Ed25519"]) == "EdDSA"
    declared = OKPKey.import_key({**OKPKey.generate_key("Ed25519").as_dict(private=True), "alg": "EdDSA"})
    assert signing_algorithm(declared, ["Ed25519", "EdDSA"]) == "EdDSA"


@pytest.mark.parametrize("supported, expected", [
    (["Ed25519", "EdDSA"], "Ed25519"),
    (["EdDSA"], "EdDSA"),
])
def test_a_generated_key_follows_the_providers_ed25519_support(supported, expected):
    assert choose_algorithm(None, supported) == expected


@pytest.fixture(scope="module")
def provider() -> Iterator[MockOktaServer]:
    with MockOktaServer() as server:
        yield server


def ed25519_app(server: MockOktaServer, advertised: tuple[str, ...], **settings: Any):
    server.dpop_signing_algorithms = advertised  # the mock refuses proofs with any other alg
    return machine_app(server, **settings)


@pytest.mark.parametrize("advertised", [("Ed25519",), ("ES256", "Ed25519", "EdDSA")])
def test_the_site_signs_its_proofs_as_ed25519_when_the_provider_lists_it(provider, advertised):
    key = OKPKey.generate_key("Ed25519")
    app = ed25519_app(provider, advertised, OKTA_DPOP_KEY=key.as_dict(private=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        token = app.extensions["okta"].grants.client_credentials_token("api.read")
    assert app.extensions["okta"].dpop.key.algorithm == "Ed25519"
    assert claims_of(token.access_token)["cnf"] == {"jkt": key.thumbprint()}
    assert not [w for w in caught if issubclass(w.category, SecurityWarning)]


def test_a_generated_ed25519_key_signs_as_ed25519(provider):
    app = ed25519_app(provider, ("Ed25519",), OKTA_DPOP_ALGORITHM="Ed25519")
    token = app.extensions["okta"].grants.client_credentials_token("api.read")
    assert claims_of(token.access_token)["cnf"] == {"jkt": app.extensions["okta"].dpop.key.thumbprint}


def test_the_site_signs_as_eddsa_for_a_provider_that_lists_only_eddsa(provider):
    """An older provider knows only the deprecated name; joserfc warns about it, as it should."""
    key = OKPKey.generate_key("Ed25519")
    app = ed25519_app(provider, ("ES256", "EdDSA"), OKTA_DPOP_KEY=key.as_dict(private=True))
    with pytest.warns(SecurityWarning, match="EdDSA"):
        token = app.extensions["okta"].grants.client_credentials_token("api.read")
    assert app.extensions["okta"].dpop.key.algorithm == "EdDSA"
    assert claims_of(token.access_token)["cnf"] == {"jkt": key.thumbprint()}


def test_a_provider_without_ed25519_or_eddsa_names_the_key(provider):
    app = ed25519_app(provider, ("ES256",), OKTA_DPOP_KEY=OKPKey.generate_key("Ed25519").as_dict(private=True))
    with pytest.raises(ConfigError, match="OKTA_DPOP_KEY signs with EdDSA"):
        app.extensions["okta"].grants.client_credentials_token("api.read")


def test_the_mock_lists_and_accepts_only_the_algorithms_it_is_given(provider):
    provider.dpop_signing_algorithms = ("Ed25519",)
    document = requests.get(provider.endpoint_url("discovery"), timeout=5).json()
    assert document["dpop_signing_alg_values_supported"] == ["Ed25519"]
    provider.require_dpop_nonce = False
    holder = OkpSigner()
    url = provider.endpoint_url("token")
    claims = {"htm": "POST", "htu": url, "iat": int(time.time())}
    try:
        for alg, status in (("EdDSA", 400), ("Ed25519", 401)):  # 401: past the proof, no client credentials
            sent = holder.sign({"typ": "dpop+jwt", "alg": alg, "jwk": holder.jwk}, {**claims, "jti": secrets.token_hex(8)})
            response = requests.post(url, data={"grant_type": "client_credentials"}, headers={"DPoP": sent}, timeout=5)
            assert response.status_code == status, response.text
    finally:
        provider.require_dpop_nonce = True


# --------------------------------------------------------------------------- private_key_jwt client assertions


def assertion_header(assertion: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))


def test_an_ed25519_client_assertion_says_ed25519_where_the_provider_lists_it():
    key = OKPKey.generate_key("Ed25519")
    auth = PrivateKeyAssertion(key, lambda: ("RS256", "Ed25519", "EdDSA"))
    assertion = auth.sign(SimpleNamespace(client_id="0oa1"), "https://as.example/v1/token")
    assert assertion_header(assertion)["alg"] == "Ed25519"
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key.as_dict()["x"] + "=="))
    data, signature = assertion.rsplit(".", 1)
    public.verify(base64.urlsafe_b64decode(signature + "=="), data.encode())


def test_an_ed25519_client_assertion_says_eddsa_to_a_provider_without_ed25519():
    auth = PrivateKeyAssertion(OKPKey.generate_key("Ed25519"), lambda: ("RS256", "EdDSA"))
    with pytest.warns(SecurityWarning, match="EdDSA"):
        assertion = auth.sign(SimpleNamespace(client_id="0oa1"), "https://as.example/v1/token")
    assert assertion_header(assertion)["alg"] == "EdDSA"
