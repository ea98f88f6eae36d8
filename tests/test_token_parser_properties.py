"""Property tests: the token parser and the verifier fail only with ``TokenValidationError``.

Whatever text or bytes arrive (random, or a valid token with a character
flipped, dots inserted, or cut short), the parser (``split_compact``,
``decode_header``, ``decode_claims``) either returns the parts or raises
``TokenValidationError``; ``verify_access_token``
either returns the claims of the untouched token or raises
``TokenValidationError``, never anything else (which would be a 500).
"""

from __future__ import annotations

import base64
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_okta_client.errors import TokenValidationError
from flask_okta_client.protocol.validation import (
    MAX_TOKEN_LENGTH,
    decode_claims,
    decode_header,
    split_compact,
)
from tests.jose_helpers import access_claims, b64url_json, make_verifier, mint

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])

CLAIMS = access_claims()
VALID = mint(CLAIMS)
VERIFIER = make_verifier()
assert VERIFIER.verify_access_token(VALID) == CLAIMS  # warms the key cache; the fixture itself is sound

# Characters a mutation may write: the base64url alphabet, the separator, and troublemakers.
MUTATION_ALPHABET = string.ascii_letters + string.digits + "-_.=+/ \t\n\x00\\\"{}[]:,%é\u202e\U0001f600"


def parse(token) -> tuple[dict, dict, bytes]:
    header_segment, payload_segment, signature_segment = split_compact(token)
    return decode_header(header_segment), decode_claims(payload_segment), signature_segment


def parses_or_rejects(token) -> None:
    try:
        header, claims, _ = parse(token)
    except TokenValidationError:
        return
    assert isinstance(header, dict) and isinstance(claims, dict)
    assert isinstance(header["alg"], str)
    assert header.get("kid") is None or isinstance(header["kid"], str)


def verifies_as_original_or_rejects(token) -> None:
    try:
        claims = VERIFIER.verify_access_token(token)
    except TokenValidationError:
        return
    assert claims == CLAIMS


# ----------------------------------------------------------------- mutations of a valid token


@st.composite
def flipped(draw, token=VALID):
    index = draw(st.integers(0, len(token) - 1))
    char = draw(st.sampled_from(MUTATION_ALPHABET))
    return token[:index] + char + token[index + 1:]


@st.composite
def dots_inserted(draw, token=VALID):
    positions = sorted(draw(st.lists(st.integers(0, len(token)), min_size=1, max_size=3)), reverse=True)
    for position in positions:
        token = token[:position] + "." + token[position:]
    return token


@st.composite
def truncated(draw, token=VALID):
    start = draw(st.integers(0, len(token)))
    end = draw(st.integers(start, len(token)))
    return token[:start] + token[end:] if draw(st.booleans()) else token[:start]


@st.composite
def spliced(draw, token=VALID):
    """A segment replaced by base64url of arbitrary JSON-ish text."""
    segments = token.split(".")
    index = draw(st.integers(0, 2))
    value = draw(st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=10,
    ))
    segments[index] = b64url_json(value)
    return ".".join(segments)


@st.composite
def header_replaced(draw, token=VALID):
    """The header swapped for another plausible one: other alg, kid, crit, b64…"""
    header = {"alg": draw(st.sampled_from(["RS256", "RS512", "PS256", "ES256", "HS256", "none", "EdDSA", "", "rs256"]))}
    if draw(st.booleans()):
        header["kid"] = draw(st.one_of(st.text(max_size=10), st.integers(), st.none()))
    for name in draw(st.lists(st.sampled_from(["crit", "b64", "jku", "jwk", "x5u", "typ", "zip"]), max_size=3)):
        header[name] = draw(st.one_of(st.booleans(), st.text(max_size=5), st.lists(st.text(max_size=5), max_size=2)))
    _, payload, signature = token.split(".")
    return f"{b64url_json(header)}.{payload}.{signature}"


MUTATED = st.one_of(flipped(), dots_inserted(), truncated(), spliced(), header_replaced())


# ----------------------------------------------------------------- the parser


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
def test_parser_on_arbitrary_text_returns_the_parts_or_raises_token_validation_error(text):
    parses_or_rejects(text)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_parser_on_arbitrary_bytes_returns_the_parts_or_raises_token_validation_error(data):
    parses_or_rejects(data)


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=60), min_size=1, max_size=6))
def test_parser_on_dot_joined_base64ish_segments_returns_the_parts_or_raises(segments):
    parses_or_rejects(b".".join(base64.urlsafe_b64encode(s).rstrip(b"=") for s in segments))


@PROPERTY_SETTINGS
@given(MUTATED)
def test_parser_on_a_mutated_valid_token_returns_the_parts_or_raises(token):
    parses_or_rejects(token)


@PROPERTY_SETTINGS
@given(st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.text(max_size=5), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)))
def test_parser_on_non_string_input_raises_token_validation_error(value):
    parses_or_rejects(value)


def test_parser_on_the_valid_token_returns_its_parts():
    header, claims, signature_segment = parse(VALID)
    assert claims == CLAIMS
    assert header["alg"] == "RS256"
    assert signature_segment == VALID.rsplit(".", 1)[1].encode("ascii")


def test_parser_refuses_tokens_longer_than_the_limit():
    header, payload, signature = VALID.split(".")
    padding = "A" * (MAX_TOKEN_LENGTH - len(VALID) + 4)
    try:
        split_compact(f"{header}.{payload}{padding}.{signature}")
    except TokenValidationError:
        return
    raise AssertionError("an over-long token was parsed")


# ----------------------------------------------------------------- the whole verifier


@PROPERTY_SETTINGS
@given(MUTATED)
def test_verify_access_token_on_a_mutated_token_returns_the_original_claims_or_raises(token):
    verifies_as_original_or_rejects(token)


@PROPERTY_SETTINGS
@given(flipped())
def test_verify_access_token_accepts_a_flipped_token_only_if_nothing_changed(token):
    try:
        VERIFIER.verify_access_token(token)
    except TokenValidationError:
        return
    # strict base64url decoding: no second spelling of the same header, payload or signature
    assert token == VALID, "a changed token was accepted"


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_verify_access_token_on_arbitrary_text_raises_token_validation_error(text):
    verifies_as_original_or_rejects(text)
