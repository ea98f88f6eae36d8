"""``check_access_token_claims`` accepts exactly the claims the individual checks accept.

Its one-expression path for valid tokens must never let through what
``check_issuer``, ``check_audience``, ``check_subject`` and ``check_times``
refuse, and must refuse with their message: property tests over claims whose
every member may be missing, of the wrong type, out of range or off by the
clock skew.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_okta_client.errors import TokenValidationError
from flask_okta_client.protocol.validation import (
    MAX_NUMERIC_DATE,
    check_access_token_claims,
    check_audience,
    check_issuer,
    check_subject,
    check_times,
)

ISSUER = "https://example.okta.com/oauth2/default"
AUDIENCE = "api://default"
NOW = 1_700_000_000.0
LEEWAY = 60.0
MISSING = object()

ODD_VALUES = st.sampled_from([None, True, False, 0, -1, "", "x", [], {}, math.nan, math.inf, -math.inf,
                              MAX_NUMERIC_DATE + 1, -MAX_NUMERIC_DATE - 1, MISSING])
DATES = st.one_of(
    st.sampled_from([NOW, NOW - LEEWAY, NOW + LEEWAY, NOW - LEEWAY - 1, NOW + LEEWAY + 1, NOW + 3600, NOW - 3600,
                     int(NOW), MAX_NUMERIC_DATE, -MAX_NUMERIC_DATE]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), ODD_VALUES,
)
AUDIENCES = st.one_of(
    st.sampled_from([AUDIENCE, "api://other", AUDIENCE + " "]),
    st.lists(st.one_of(st.sampled_from([AUDIENCE, "api://other"]), ODD_VALUES), max_size=3),
    ODD_VALUES,
)
MEMBERS = {
    "iss": st.one_of(st.sampled_from([ISSUER, ISSUER + "/", "https://evil.example"]), ODD_VALUES),
    "aud": AUDIENCES,
    "sub": st.one_of(st.sampled_from(["ann@example.com", ""]), ODD_VALUES),
    "exp": DATES,
    "iat": DATES,
    "nbf": DATES,
}
VALID = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ann@example.com", "exp": NOW + 600, "iat": NOW, "nbf": MISSING}


@st.composite
def claims_near_valid(draw) -> dict:
    """Valid claims with one to three members replaced: most refusals then hinge on one member."""
    names = draw(st.lists(st.sampled_from(sorted(MEMBERS)), min_size=1, max_size=3, unique=True))
    return {**VALID, **{name: draw(MEMBERS[name]) for name in names}}


CLAIMS = st.one_of(claims_near_valid(), st.fixed_dictionaries(MEMBERS))


def present(claims: dict) -> dict:
    return {name: value for name, value in claims.items() if value is not MISSING}


def refusal(check, claims: dict) -> str | None:
    try:
        check(claims)
    except TokenValidationError as error:
        return error.description
    return None


def one_by_one(claims: dict) -> None:
    check_issuer(claims, ISSUER)
    check_audience(claims, AUDIENCE)
    check_subject(claims)
    check_times(claims, now=NOW, leeway=LEEWAY)


def at_once(claims: dict) -> None:
    check_access_token_claims(claims, issuer=ISSUER, audience=AUDIENCE, now=NOW, leeway=LEEWAY)


@settings(max_examples=3000, deadline=None, database=None)
@given(CLAIMS)
def test_the_combined_check_refuses_exactly_what_the_individual_checks_refuse(claims):
    claims = present(claims)
    assert refusal(at_once, claims) == refusal(one_by_one, claims)


@pytest.mark.parametrize("overrides", [
    {}, {"aud": [AUDIENCE, "api://other"]}, {"nbf": NOW + LEEWAY}, {"exp": NOW - LEEWAY + 1}, {"iat": int(NOW)},
])
def test_valid_claims_pass(overrides):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ann", "exp": NOW + 600, "iat": NOW, **overrides}
    at_once(claims)


@pytest.mark.parametrize("overrides", [
    {"aud": [AUDIENCE, 1]}, {"exp": NOW - LEEWAY}, {"iat": True}, {"nbf": math.nan}, {"sub": ""},
    {"exp": MAX_NUMERIC_DATE + 1}, {"iat": NOW + LEEWAY + 1},
])
def test_near_misses_are_refused(overrides):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ann", "exp": NOW + 600, "iat": NOW, **overrides}
    with pytest.raises(TokenValidationError):
        at_once(claims)
