"""Back-Channel Logout 1.0 §2.6: validation of logout tokens, minted with python-jose."""

from __future__ import annotations

from typing import Any

import pytest

from flask_okta_client.errors import TokenValidationError
from flask_okta_client.protocol.verifier import LOGOUT_TOKEN_MAX_AGE
from tests.jose_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    DROP,
    ISSUER,
    NOW,
    SKEW,
    _apply,
    assemble,
    attacker,
    forge_rs256,
    make_verifier,
    mint,
    mint_hs256,
    primary,
)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TYP = {"typ": "logout+jwt"}


def logout_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid logout token at ``NOW``; ``DROP`` removes a claim."""
    return _apply(
        {"iss": ISSUER, "aud": CLIENT_ID, "iat": NOW - 5, "exp": NOW + 115, "jti": "bWJq",
         "sub": "00u1user", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "events": {LOGOUT_EVENT: {}}},
        overrides,
    )


def logout_token(claims: dict[str, Any], **kwargs: Any) -> str:
    """Minted with python-jose, typed ``logout+jwt`` (python-jose writes ``JWT`` otherwise)."""
    return mint(claims, **{"headers": LOGOUT_TYP, **kwargs})


def verify(token: str, **config: Any) -> dict[str, Any]:
    return make_verifier(**config).verify_logout_token(token)


def refused(token: str, message: str, **config: Any) -> None:
    with pytest.raises(TokenValidationError, match=message):
        verify(token, **config)


def test_accepts_a_valid_logout_token():
    claims = verify(logout_token(logout_claims()))
    assert (claims["sub"], claims["sid"], claims["jti"]) == ("00u1user", "08a5019c-17e1-4977-8f42-65a12843ea02", "bWJq")


@pytest.mark.parametrize("typ", ["logout+jwt", "application/logout+jwt", "Logout+JWT"])
def test_accepts_a_logout_typ(typ):
    assert verify(mint(logout_claims(), headers={"typ": typ}))["jti"] == "bWJq"


def test_accepts_a_token_without_typ():
    token = forge_rs256({"alg": "RS256", "kid": primary().kid}, logout_claims(), primary())
    assert verify(token)["jti"] == "bWJq"


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "secevent+jwt", 7])
def test_refuses_another_typ(typ):
    refused(mint(logout_claims(), headers={"typ": typ}), "not a logout token")


def test_accepts_only_a_sid_or_only_a_sub():
    assert verify(logout_token(logout_claims(sub=DROP)))["sid"]
    assert verify(logout_token(logout_claims(sid=DROP)))["sub"] == "00u1user"


def test_accepts_a_token_without_exp():
    assert verify(logout_token(logout_claims(exp=DROP)))["jti"] == "bWJq"


def test_refuses_alg_none():
    token = assemble({"alg": "none", "typ": "logout+jwt"}, logout_claims())
    refused(token, "algorithm 'none'")


def test_refuses_hmac_with_the_client_secret_unless_configured():
    token = mint_hs256(logout_claims(), CLIENT_SECRET, headers=LOGOUT_TYP)
    refused(token, "algorithm 'HS256'")
    assert verify(token, OKTA_ID_TOKEN_ALGORITHMS="HS256")["jti"] == "bWJq"


def test_refuses_a_token_signed_by_another_key():
    refused(logout_token(logout_claims(), key=attacker(), headers={**LOGOUT_TYP, "kid": primary().kid}), "signature is invalid")


def test_refuses_an_algorithm_not_allowed_by_discovery():
    # The discovery document offers RS256 only; a valid ES256 signature is still refused.
    from tests.jose_helpers import ec_key

    key = ec_key("ec-1")
    refused(logout_token(logout_claims(), key=key), "algorithm 'ES256'", keys=[primary(), key])


@pytest.mark.parametrize(("claims", "message"), [
    (logout_claims(aud="another-client"), "another audience"),
    (logout_claims(aud=["another-client"]), "another audience"),
    (logout_claims(aud=DROP), "audience is missing"),
    (logout_claims(iss="https://attacker.example"), "another issuer"),
    (logout_claims(iss=DROP), "another issuer"),
    (logout_claims(nonce="n-0S6_WzA2Mj"), "must not contain a nonce"),
    (logout_claims(events=DROP), "no back-channel logout event"),
    (logout_claims(events={"http://schemas.openid.net/event/other": {}}), "no back-channel logout event"),
    (logout_claims(events={LOGOUT_EVENT: "yes"}), "no back-channel logout event"),
    (logout_claims(events=[LOGOUT_EVENT]), "no back-channel logout event"),
    (logout_claims(jti=DROP), "no jti"),
    (logout_claims(jti=""), "no jti"),
    (logout_claims(jti=12), "no jti"),
    (logout_claims(sid=DROP, sub=DROP), "neither a session"),
    (logout_claims(sid=42), "'sid' claim is not a string"),
    (logout_claims(sub=""), "'sub' claim is not a string"),
    (logout_claims(iat=DROP), "'iat' claim is missing"),
    (logout_claims(iat=NOW + SKEW + 30), "issued in the future"),
    (logout_claims(iat=NOW - LOGOUT_TOKEN_MAX_AGE - SKEW - 1, exp=NOW + 60), "issued too long ago"),
    (logout_claims(exp=NOW - SKEW - 1), "expired"),
    (logout_claims(exp="soon"), "'exp' claim is missing or not a number"),
])
def test_refuses_a_token_breaking_a_rule(claims, message):
    refused(logout_token(claims), message)


def test_accepts_iat_within_the_window():
    assert verify(logout_token(logout_claims(iat=NOW - LOGOUT_TOKEN_MAX_AGE - SKEW + 1)))["jti"] == "bWJq"


def test_refuses_an_id_token_presented_as_a_logout_token():
    from tests.jose_helpers import id_claims

    refused(logout_token(id_claims()), "no back-channel logout event")
    refused(mint(id_claims()), "not a logout token")
