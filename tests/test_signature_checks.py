"""Signature checks are built once per signing key: they follow the key set, and any key works or refuses.

Each (kid, alg) keeps the check built for the key object the JWKS returned;
a refetched key set brings new objects, so a key replaced under the same kid
is used from then on, and the old one no longer verifies anything.
"""

from __future__ import annotations

import pytest

from flask_okta_client.errors import TokenValidationError
from flask_okta_client.protocol.validation import signature_check
from tests.jose_helpers import (
    DROP,
    JWKS_TTL,
    JWKS_URI,
    access_claims,
    ec_key,
    forge_rs256,
    install_fake_monotonic,
    jwks_document,
    make_verifier,
    mint,
    primary,
    rotated,
)


def test_a_key_replaced_under_the_same_kid_verifies_once_the_key_set_is_refetched(monkeypatch):
    clock = install_fake_monotonic(monkeypatch)
    verifier = make_verifier()
    claims = access_claims()
    assert verifier.verify_access_token(mint(claims)) == claims

    replacement = rotated().jwk(kid=primary().kid)
    verifier.jwks.http.serve(JWKS_URI, jwks_document(replacement))
    clock.advance(JWKS_TTL)
    signed_by_replacement = forge_rs256({"alg": "RS256", "kid": primary().kid}, claims, rotated())

    assert verifier.verify_access_token(signed_by_replacement) == claims
    with pytest.raises(TokenValidationError, match="signature"):
        verifier.verify_access_token(mint(claims))  # the replaced key's signature


@pytest.mark.parametrize("key_ops", [["encrypt"], ["sign"]])
def test_a_key_that_may_not_verify_refuses_tokens_cleanly(key_ops):
    verifier = make_verifier(keys=[primary().jwk(key_ops=key_ops, use=DROP)])
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims()))


def test_an_ec_key_that_may_not_verify_refuses_tokens_cleanly():
    key = ec_key("ec-2024")
    verifier = make_verifier(OKTA_ACCESS_TOKEN_ALGORITHMS="ES256", keys=[key.jwk(key_ops=["sign"], use=DROP)])
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims(), key=key))


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_checks_accept_their_own_signature_only(alg):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from joserfc.jwk import RSAKey

    private = primary().private_key
    sha = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]()
    scheme = padding.PKCS1v15() if alg.startswith("RS") else padding.PSS(padding.MGF1(sha), sha.digest_size)
    signature = private.sign(b"header.payload", scheme, sha)
    check = signature_check(alg, RSAKey.import_key(primary().jwk(alg=alg)))

    assert check(signature, b"header.payload")
    assert not check(signature, b"header.payloae")
    assert not check(signature[:-1] + bytes([signature[-1] ^ 1]), b"header.payload")
    other = "PS" if alg.startswith("RS") else "RS"  # the same key and hash under the other padding
    assert not signature_check(other + alg[2:], RSAKey.import_key(primary().jwk(alg=other + alg[2:])))(
        signature, b"header.payload")
