"""Specification of ID token (and JWT access token) validation by ``TokenVerifier``.

Tokens are minted independently with python-jose, or assembled by hand for
attacks; keys come from a fake provider (no network).
"""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from flask_okta_client.errors import TokenValidationError
from tests.jose_helpers import (
    ATTACKER_JWKS_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    COOLDOWN,
    DROP,
    ISSUER,
    JWKS_URI,
    NONCE,
    NOW,
    SKEW,
    access_claims,
    assemble,
    attacker,
    b64url,
    b64url_json,
    discovery_document,
    ec_key,
    forge_hmac,
    forge_rs256,
    half_hash,
    id_claims,
    install_fake_monotonic,
    jwks_document,
    make_verifier,
    mint,
    mint_hs256,
    primary,
    rotated,
    self_signed_certificate_der,
    signing_input,
)


@pytest.fixture
def verifier():
    return make_verifier()


@pytest.fixture
def clock(monkeypatch):
    return install_fake_monotonic(monkeypatch)


def rejects(verifier, token, match=None, **kwargs):
    """``verify_id_token`` raises TokenValidationError (whose message matches ``match``)."""
    kwargs.setdefault("nonce", NONCE)
    with pytest.raises(TokenValidationError, match=match):
        verifier.verify_id_token(token, **kwargs)


def jwks_fetches(verifier) -> int:
    return verifier.jwks.http.count(JWKS_URI)


# ----------------------------------------------------------------- signature & algorithm


def forge_ps256(claims):
    """PS256 by hand (the published JWK declares alg RS256)."""
    header = {"alg": "PS256", "kid": primary().kid}
    data = signing_input(header, claims)
    signature = primary().private_key.sign(
        data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )
    return data.decode("ascii") + "." + b64url(signature)


def test_valid_id_token_is_accepted_and_its_claims_returned(verifier):
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims), nonce=NONCE) == claims


def test_id_token_with_bad_signature_is_rejected(verifier):
    header, payload, signature = mint(id_claims()).split(".")
    tampered = bytearray(base64.urlsafe_b64decode(signature + "=="))
    tampered[10] ^= 0x01
    rejects(verifier, f"{header}.{payload}.{b64url(bytes(tampered))}", match="signature is invalid")


def test_id_token_with_payload_changed_after_signing_is_rejected(verifier):
    header, _, signature = mint(id_claims()).split(".")
    rejects(verifier, f"{header}.{b64url_json(id_claims(sub='00u-admin'))}.{signature}", match="signature is invalid")


def test_id_token_signed_by_an_unpublished_key_is_rejected(verifier):
    rejects(verifier, mint(id_claims(), key=attacker(), headers={"kid": primary().kid}), match="signature is invalid")


def test_id_token_with_alg_none_is_rejected(verifier):
    rejects(verifier, assemble({"alg": "none", "typ": "JWT"}, id_claims()), match="algorithm .* is not allowed")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_id_token_with_any_spelling_of_alg_none_is_rejected(alg):
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256")
    rejects(verifier, assemble({"alg": alg, "kid": primary().kid}, id_claims()), match="algorithm .* is not allowed")


def test_id_token_with_alg_none_and_a_real_signature_is_rejected(verifier):
    real_signature = mint(id_claims()).split(".")[2]
    token = b64url_json({"alg": "none"}) + "." + b64url_json(id_claims()) + "." + real_signature
    rejects(verifier, token, match="algorithm .* is not allowed")


def test_hs256_signed_with_the_rsa_public_key_pem_is_rejected(verifier):
    header = {"alg": "HS256", "kid": primary().kid, "typ": "JWT"}
    rejects(verifier, forge_hmac(header, id_claims(), primary().public_pem), match="algorithm .* is not allowed")


def test_hs256_signed_with_the_rsa_public_key_pem_is_rejected_even_when_hs256_is_allowed():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256")
    header = {"alg": "HS256", "kid": primary().kid, "typ": "JWT"}
    rejects(verifier, forge_hmac(header, id_claims(), primary().public_pem), match="signature is invalid")


def test_hs256_signed_with_the_client_secret_is_rejected_by_default(verifier):
    rejects(verifier, mint_hs256(id_claims(), CLIENT_SECRET), match="algorithm .* is not allowed")


def test_hs256_signed_with_the_client_secret_is_accepted_when_configured():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256")
    claims = id_claims()
    assert verifier.verify_id_token(mint_hs256(claims, CLIENT_SECRET), nonce=NONCE) == claims


def test_hs256_signed_with_another_secret_is_rejected_when_configured():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256")
    rejects(verifier, mint_hs256(id_claims(), "another-secret-that-is-long-enough-0123456789"), match="signature is invalid")


def test_hs256_is_rejected_when_configured_but_there_is_no_client_secret():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256", OKTA_CLIENT_SECRET=DROP)
    rejects(verifier, forge_hmac({"alg": "HS256"}, id_claims(), b""), match="client secret")


def test_hs256_advertised_by_discovery_does_not_enable_hmac():
    verifier = make_verifier(discovery=discovery_document(id_token_signing_alg_values_supported=["RS256", "HS256"]))
    rejects(verifier, mint_hs256(id_claims(), CLIENT_SECRET), match="algorithm .* is not allowed")


def test_algorithm_not_advertised_by_discovery_is_rejected():
    verifier = make_verifier(keys=[primary().jwk(alg=DROP)])  # the key itself would fit RS512
    token = mint(id_claims(), algorithm="RS512")
    rejects(verifier, token, match="algorithm .* is not allowed")


def test_algorithm_advertised_by_discovery_is_accepted():
    verifier = make_verifier(discovery=discovery_document(id_token_signing_alg_values_supported=["RS512"]),
                             keys=[primary().jwk(alg=DROP)])
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims, algorithm="RS512"), nonce=NONCE) == claims


def test_configured_algorithms_override_discovery():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS384",
                             keys=[primary().jwk(alg=DROP)])
    rejects(verifier, mint(id_claims()))
    assert verifier.verify_id_token(mint(id_claims(), algorithm="RS384"), nonce=NONCE)["sub"] == "00u1user"


def test_es256_token_is_verified_when_discovery_allows_it():
    key = ec_key("ec-2024")
    verifier = make_verifier(discovery=discovery_document(id_token_signing_alg_values_supported=["RS256", "ES256"]),
                             keys=[primary(), key])
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims, key=key), nonce=NONCE) == claims


def test_es256_token_is_rejected_when_not_allowed():
    key = ec_key("ec-2024")
    verifier = make_verifier(keys=[primary(), key])
    rejects(verifier, mint(id_claims(), key=key), match="algorithm .* is not allowed")


def test_rs256_token_naming_an_ec_key_is_rejected():
    key = ec_key("ec-2024")
    verifier = make_verifier(discovery=discovery_document(id_token_signing_alg_values_supported=["RS256", "ES256"]),
                             keys=[primary(), key])
    rejects(verifier, mint(id_claims(), key=primary(), headers={"kid": key.kid}), match="unknown key")


def test_key_declaring_another_alg_is_not_used():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 PS256")
    # the published JWK says alg RS256; a PS256 signature by the same key must not be accepted
    rejects(verifier, forge_ps256(id_claims()), match="unknown key")


def test_ps256_is_accepted_with_a_key_that_declares_no_alg():
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="PS256", keys=[primary().jwk(alg=DROP)])
    assert verifier.verify_id_token(forge_ps256(id_claims()), nonce=NONCE)["sub"] == "00u1user"


# ----------------------------------------------------------------- claims


def test_wrong_issuer_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iss="https://evil.okta.com/oauth2/default")))


def test_issuer_with_trailing_slash_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iss=ISSUER + "/")))


def test_missing_issuer_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iss=DROP)))


def test_wrong_audience_is_rejected(verifier):
    rejects(verifier, mint(id_claims(aud="0oa-other-client")))


def test_missing_audience_is_rejected(verifier):
    rejects(verifier, mint(id_claims(aud=DROP)))


@pytest.mark.parametrize("aud", [[], [CLIENT_ID, 7], 42, None], ids=["empty-list", "non-string-member", "number", "null"])
def test_malformed_audience_is_rejected(verifier, aud):
    rejects(verifier, mint(id_claims(aud=aud)), match="audience")


def test_audience_list_containing_the_client_with_matching_azp_is_accepted(verifier):
    claims = id_claims(aud=[CLIENT_ID, "0oa-other"], azp=CLIENT_ID)
    assert verifier.verify_id_token(mint(claims), nonce=NONCE) == claims


def test_several_audiences_without_azp_are_rejected(verifier):
    rejects(verifier, mint(id_claims(aud=[CLIENT_ID, "0oa-other"])), match="authorized party")


def test_azp_of_another_client_is_rejected(verifier):
    rejects(verifier, mint(id_claims(azp="0oa-other")), match="another client")


def test_audience_list_without_the_client_is_rejected(verifier):
    rejects(verifier, mint(id_claims(aud=["0oa-other", "0oa-third"], azp=CLIENT_ID)))


def test_missing_subject_is_rejected(verifier):
    rejects(verifier, mint(id_claims(sub=DROP)))


def test_expired_token_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iat=NOW - 7200, exp=NOW - SKEW - 1)), match="expired")


def test_token_expired_within_clock_skew_is_accepted(verifier):
    claims = id_claims(iat=NOW - 3600, exp=NOW - SKEW + 5)
    assert verifier.verify_id_token(mint(claims), nonce=NONCE) == claims


def test_token_expiring_exactly_at_now_is_rejected_without_clock_skew():
    verifier = make_verifier(OKTA_CLOCK_SKEW=0)
    rejects(verifier, mint(id_claims(exp=NOW)))


def test_iat_in_the_future_beyond_skew_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iat=NOW + SKEW + 1, exp=NOW + 3600)), match="future")


def test_iat_in_the_future_within_skew_is_accepted(verifier):
    claims = id_claims(iat=NOW + SKEW - 1)
    assert verifier.verify_id_token(mint(claims), nonce=NONCE) == claims


def test_missing_iat_is_rejected(verifier):
    rejects(verifier, mint(id_claims(iat=DROP)))


def test_missing_exp_is_rejected(verifier):
    rejects(verifier, mint(id_claims(exp=DROP)))


def test_exp_as_a_string_is_rejected(verifier):
    rejects(verifier, mint(id_claims(exp=str(NOW + 3600))))


def test_exp_as_a_boolean_is_rejected(verifier):
    rejects(verifier, mint(id_claims(exp=True)))


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["NaN", "Infinity"])
def test_exp_that_is_not_a_finite_number_is_rejected(verifier, value):
    # NaN / Infinity are not JSON numbers (RFC 8259) and so not NumericDates (RFC 7519 §2);
    # Python's json module parses them anyway. A NaN exp compares false with everything,
    # so the token would never expire.
    rejects(verifier, mint(id_claims(exp=value)))


@pytest.mark.parametrize("claim", ["exp", "iat", "auth_time"])
def test_numeric_date_too_large_for_a_float_is_rejected_cleanly(verifier, claim):
    # a 400-digit JSON integer: must end in TokenValidationError, not OverflowError (a 500)
    rejects(verifier, mint(id_claims(**{claim: 10**400})), max_age=600)


def test_nonce_missing_is_rejected(verifier):
    rejects(verifier, mint(id_claims(nonce=DROP)), match="nonce")


def test_nonce_wrong_is_rejected(verifier):
    rejects(verifier, mint(id_claims(nonce="another-login")), match="nonce")


def test_nonce_not_a_string_is_rejected(verifier):
    rejects(verifier, mint(id_claims(nonce=12345)))


def test_nonce_is_not_checked_for_refreshed_id_tokens(verifier):
    claims = id_claims(nonce=DROP)
    assert verifier.verify_id_token(mint(claims), nonce=None) == claims


def test_at_hash_matching_the_access_token_is_accepted(verifier):
    access_token = "eyJraWQiOiJ4In0.access-token-value.sig"
    claims = id_claims(at_hash=half_hash(access_token))
    assert verifier.verify_id_token(mint(claims), nonce=NONCE, access_token=access_token) == claims


def test_at_hash_mismatch_is_rejected(verifier):
    claims = id_claims(at_hash=half_hash("some-other-access-token"))
    rejects(verifier, mint(claims), access_token="the-access-token-we-received", match="at_hash")


def test_auth_time_older_than_max_age_is_rejected(verifier):
    rejects(verifier, mint(id_claims(auth_time=NOW - 600 - SKEW - 1)), max_age=600, match="max_age")


def test_auth_time_within_max_age_is_accepted(verifier):
    claims = id_claims(auth_time=NOW - 590)
    assert verifier.verify_id_token(mint(claims), nonce=NONCE, max_age=600) == claims


def test_auth_time_missing_when_max_age_given_is_rejected(verifier):
    rejects(verifier, mint(id_claims(auth_time=DROP)), max_age=600, match="auth_time")


def test_auth_time_missing_without_max_age_is_accepted(verifier):
    claims = id_claims(auth_time=DROP)
    assert verifier.verify_id_token(mint(claims), nonce=NONCE) == claims


# ----------------------------------------------------------------- key selection & JWKS refresh


def test_unknown_kid_triggers_exactly_one_jwks_refetch_then_fails(verifier, clock):
    verifier.verify_id_token(mint(id_claims()), nonce=NONCE)
    before = jwks_fetches(verifier)
    clock.advance(COOLDOWN + 1)
    rejects(verifier, mint(id_claims(), key=rotated()), match="unknown key")
    assert jwks_fetches(verifier) == before + 1


def test_unknown_kid_within_the_cooldown_is_rejected_without_a_refetch(verifier, clock):
    verifier.verify_id_token(mint(id_claims()), nonce=NONCE)
    rejects(verifier, mint(id_claims(), key=rotated()))
    before = jwks_fetches(verifier)
    clock.advance(COOLDOWN / 2)
    rejects(verifier, mint(id_claims(), key=rotated()))
    assert jwks_fetches(verifier) == before


def test_key_rotation_new_kid_is_accepted_after_one_refetch(verifier, clock):
    verifier.verify_id_token(mint(id_claims()), nonce=NONCE)
    before = jwks_fetches(verifier)
    verifier.jwks.http.serve(JWKS_URI, jwks_document(rotated(), primary()))
    clock.advance(COOLDOWN + 1)
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims, key=rotated()), nonce=NONCE) == claims
    assert verifier.verify_id_token(mint(claims, key=primary()), nonce=NONCE) == claims
    assert jwks_fetches(verifier) == before + 1


def test_flood_of_random_kids_causes_at_most_one_refetch_within_the_cooldown(verifier, clock):
    verifier.verify_id_token(mint(id_claims()), nonce=NONCE)
    before = jwks_fetches(verifier)
    clock.advance(COOLDOWN + 1)
    for _ in range(50):
        rejects(verifier, mint(id_claims(), headers={"kid": secrets.token_urlsafe(12)}))
        clock.advance(0.1)
    assert jwks_fetches(verifier) - before <= 1


def test_single_key_jwks_and_token_without_kid_is_accepted():
    verifier = make_verifier(keys=[primary().jwk(kid=DROP)])
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims, headers={"kid": DROP}), nonce=NONCE) == claims


def test_single_key_jwks_with_kid_and_token_without_kid_is_accepted(verifier):
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims, headers={"kid": DROP}), nonce=NONCE) == claims


def test_two_keys_and_token_without_kid_is_rejected():
    verifier = make_verifier(keys=[primary(), rotated()])
    rejects(verifier, mint(id_claims(), headers={"kid": DROP}), match="unknown key")


def test_kid_that_is_not_a_string_is_rejected(verifier):
    rejects(verifier, mint(id_claims(), headers={"kid": 1}))


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_injected_key_url_is_not_used_for_key_selection(verifier, header):
    http = verifier.jwks.http
    http.serve(ATTACKER_JWKS_URL, jwks_document(attacker()))
    token = mint(id_claims(), key=attacker(), headers={header: ATTACKER_JWKS_URL})
    rejects(verifier, token, match="unknown key")
    assert http.count(ATTACKER_JWKS_URL) == 0


def test_embedded_jwk_of_the_attacker_is_not_trusted(verifier):
    token = mint(id_claims(), key=attacker(), headers={"kid": DROP, "jwk": attacker().public_jwk})
    rejects(verifier, token, match="signature is invalid")


def test_embedded_jwk_with_the_providers_kid_is_not_trusted(verifier):
    token = mint(id_claims(), key=attacker(),
                 headers={"kid": primary().kid, "jwk": attacker().jwk(kid=primary().kid)})
    rejects(verifier, token, match="signature is invalid")


def test_embedded_x5c_certificate_of_the_attacker_is_not_trusted(verifier):
    certificate = base64.b64encode(self_signed_certificate_der(attacker())).decode("ascii")
    token = mint(id_claims(), key=attacker(), headers={"kid": DROP, "x5c": [certificate]})
    rejects(verifier, token, match="signature is invalid")


def test_genuine_token_carrying_a_jku_header_is_still_verified_with_the_jwks_key(verifier):
    http = verifier.jwks.http
    claims = id_claims()
    token = mint(claims, headers={"jku": ATTACKER_JWKS_URL})
    assert verifier.verify_id_token(token, nonce=NONCE) == claims
    assert http.count(ATTACKER_JWKS_URL) == 0


def test_crit_header_is_rejected(verifier):
    token = forge_rs256({"alg": "RS256", "kid": primary().kid, "crit": ["exp"], "exp": NOW}, id_claims(), primary())
    rejects(verifier, token, match="critical")


def test_unencoded_payload_b64_false_is_rejected(verifier):
    token = forge_rs256({"alg": "RS256", "kid": primary().kid, "b64": False}, id_claims(), primary())
    rejects(verifier, token)


def test_oct_key_in_the_jwks_is_never_used_for_hmac():
    shared = b"jwks-published-symmetric-secret-0123456789"
    oct_jwk = {"kty": "oct", "kid": "hmac-kid", "k": b64url(shared)}
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256", keys=[primary(), oct_jwk])
    rejects(verifier, forge_hmac({"alg": "HS256", "kid": "hmac-kid"}, id_claims(), shared), match="signature is invalid")


def test_oct_key_in_the_jwks_is_never_used_for_rs256():
    shared = b"jwks-published-symmetric-secret-0123456789"
    oct_jwk = {"kty": "oct", "kid": "hmac-kid", "k": b64url(shared)}
    verifier = make_verifier(keys=[primary(), oct_jwk])
    rejects(verifier, forge_hmac({"alg": "RS256", "kid": "hmac-kid"}, id_claims(), shared), match="unknown key")


def test_jwks_key_with_use_enc_is_ignored():
    verifier = make_verifier(keys=[primary().jwk(use="enc")])
    rejects(verifier, mint(id_claims()), match="unknown key")


# ----------------------------------------------------------------- malformed tokens


def _valid_segments():
    return mint(id_claims()).split(".")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda h, p, s: f"{h}.{p}", id="two-segments"),
        pytest.param(lambda h, p, s: f"{h}.{p}.{s}.{s}", id="four-segments"),
        pytest.param(lambda h, p, s: f"{h}.{p}.{s}.", id="trailing-dot"),
        pytest.param(lambda h, p, s: f"{h}{p}{s}", id="no-dots"),
        pytest.param(lambda h, p, s: "", id="empty"),
        pytest.param(lambda h, p, s: "..", id="only-dots"),
        pytest.param(lambda h, p, s: f"{h}!.{p}.{s}", id="bad-base64-header"),
        pytest.param(lambda h, p, s: f"{h}.{p}*.{s}", id="bad-base64-payload"),
        pytest.param(lambda h, p, s: f"{h}.{p}.{s}$", id="bad-base64-signature"),
        pytest.param(lambda h, p, s: f"{h}=.{p}.{s}", id="padded-header"),
        pytest.param(lambda h, p, s: f"{b64url(b'not json')}.{p}.{s}", id="non-json-header"),
        pytest.param(lambda h, p, s: f"{b64url_json(['alg', 'RS256'])}.{p}.{s}", id="header-json-array"),
        pytest.param(lambda h, p, s: f"{b64url_json('RS256')}.{p}.{s}", id="header-json-string"),
        pytest.param(lambda h, p, s: f"{b64url_json({'kid': 'x'})}.{p}.{s}", id="header-without-alg"),
        pytest.param(lambda h, p, s: f"{b64url_json({'alg': 256})}.{p}.{s}", id="header-alg-not-string"),
        pytest.param(lambda h, p, s: f"{h}.{b64url_json([1, 2])}.{s}", id="payload-json-array"),
        pytest.param(lambda h, p, s: f"{h}.{b64url(b'[' * 5000 + b']' * 5000)}.{s}", id="deeply-nested-payload"),
        pytest.param(lambda h, p, s: h + "." + b64url(b"\xff\xfe garbage") + "." + s, id="payload-not-utf8"),
        pytest.param(lambda h, p, s: f"{h}.{p}.{s}\u00e9", id="non-ascii"),
        pytest.param(lambda h, p, s: f"{h}.{p}.{s}\u202e", id="non-ascii-rtl-override"),
        pytest.param(lambda h, p, s: f"{h}.{p}{'A' * 20000}.{s}", id="huge-token"),
        pytest.param(lambda h, p, s: f" {h}.{p}.{s}", id="leading-space"),
    ],
)
def test_malformed_token_is_rejected_cleanly(verifier, make_token):
    rejects(verifier, make_token(*_valid_segments()))


def test_jwe_shaped_five_part_token_is_rejected(verifier):
    header = b64url_json({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": primary().kid})
    token = ".".join([header, b64url(b"k" * 256), b64url(b"i" * 12), b64url(b"c" * 64), b64url(b"t" * 16)])
    rejects(verifier, token)


def test_token_as_bytes_is_accepted(verifier):
    claims = id_claims()
    assert verifier.verify_id_token(mint(claims).encode("ascii"), nonce=NONCE) == claims


@pytest.mark.parametrize("value", [None, 123, ["a.b.c"], {"token": "a.b.c"}])
def test_token_of_a_non_string_type_is_rejected(verifier, value):
    rejects(verifier, value)


# ----------------------------------------------------------------- access tokens


def test_access_token_for_the_default_audience_is_accepted(verifier):
    claims = access_claims()
    assert verifier.verify_access_token(mint(claims)) == claims


def test_access_token_for_another_audience_is_rejected(verifier):
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims(aud="api://other")))


def test_access_token_audience_can_be_given_per_call(verifier):
    claims = access_claims(aud="api://orders")
    assert verifier.verify_access_token(mint(claims), audience="api://orders") == claims
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(claims))


def test_access_token_audience_comes_from_okta_audience():
    verifier = make_verifier(OKTA_AUDIENCE="api://orders")
    claims = access_claims(aud="api://orders")
    assert verifier.verify_access_token(mint(claims)) == claims
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims()))


def test_access_token_with_future_nbf_is_rejected(verifier):
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims(nbf=NOW + SKEW + 60)))


def test_access_token_with_past_nbf_is_accepted(verifier):
    claims = access_claims(nbf=NOW - 5)
    assert verifier.verify_access_token(mint(claims)) == claims


def test_access_token_from_another_issuer_is_rejected(verifier):
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims(iss="https://evil.okta.com/oauth2/default")))


def test_expired_access_token_is_rejected(verifier):
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims(exp=NOW - SKEW - 1)))


def test_access_token_with_alg_none_is_rejected(verifier):
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(assemble({"alg": "none"}, access_claims()))


def test_access_token_algorithms_can_be_configured_separately():
    verifier = make_verifier(OKTA_ACCESS_TOKEN_ALGORITHMS="RS384", keys=[primary().jwk(alg=DROP)])
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(mint(access_claims()))
    assert verifier.verify_access_token(mint(access_claims(), algorithm="RS384")) == access_claims()


def test_access_token_hmac_signed_with_the_client_secret_is_rejected_even_when_id_tokens_allow_hs256():
    # RFC 9068 §4: a JWT access token is verified with the authorization server's published
    # keys. OKTA_ID_TOKEN_ALGORITHMS opts ID tokens (OIDC Core §10.1) into HMAC with the
    # client secret; that must not let whoever holds the client secret mint access tokens.
    verifier = make_verifier(OKTA_ID_TOKEN_ALGORITHMS="RS256 HS256")
    forged = mint_hs256(access_claims(sub="00u-admin", scp=["admin"]), CLIENT_SECRET)
    with pytest.raises(TokenValidationError):
        verifier.verify_access_token(forged)

