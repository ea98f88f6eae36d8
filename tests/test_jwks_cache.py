"""Specification of ``JwksCache``: expiry, single-flight refetch, rate limit, failures."""

from __future__ import annotations

import time

import pytest

from flask_okta_client.errors import (
    ProviderError,
    ProviderUnavailable,
    TokenValidationError,
)
from flask_okta_client.protocol.jwks import JwksCache, import_signing_keys, key_fits
from tests.concurrency import run_concurrently
from tests.jose_helpers import (
    DROP,
    JWKS_URI,
    FakeHttp,
    b64url,
    ec_key,
    install_fake_monotonic,
    jwks_document,
    primary,
    rotated,
)

TTL = 300.0
COOLDOWN = 30.0


@pytest.fixture
def clock(monkeypatch):
    return install_fake_monotonic(monkeypatch)


def make_cache(*keys, ttl=TTL, cooldown=COOLDOWN, delay=0.0):
    http = FakeHttp({JWKS_URI: jwks_document(*(keys or (primary(),)))}, delay=delay)
    return JwksCache(lambda: JWKS_URI, http, ttl, cooldown), http


# ----------------------------------------------------------------- fetching & expiry


def test_nothing_is_fetched_before_a_key_is_needed():
    _, http = make_cache()
    assert http.count(JWKS_URI) == 0


def test_first_lookup_fetches_the_key_set_and_returns_the_key_for_the_kid(clock):
    cache, http = make_cache(primary(), rotated())
    key = cache.key_for(rotated().kid, "RS256")
    assert key.kid == rotated().kid
    assert key.get("n") == rotated().public_jwk["n"]
    assert http.count(JWKS_URI) == 1


def test_keys_are_served_from_the_cache_within_the_ttl(clock):
    cache, http = make_cache()
    for _ in range(10):
        cache.key_for(primary().kid, "RS256")
        clock.advance(TTL / 20)
    assert http.count(JWKS_URI) == 1


def test_key_set_is_refetched_once_the_ttl_has_passed(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    clock.advance(TTL)
    cache.key_for(primary().kid, "RS256")
    assert http.count(JWKS_URI) == 2


def test_expiry_with_a_real_clock_and_a_tiny_ttl():
    cache, http = make_cache(ttl=0.05, cooldown=0.05)
    cache.key_for(primary().kid, "RS256")
    cache.key_for(primary().kid, "RS256")
    assert http.count(JWKS_URI) == 1
    time.sleep(0.08)
    cache.key_for(primary().kid, "RS256")
    assert http.count(JWKS_URI) == 2


def test_keys_removed_from_the_provider_are_dropped_after_expiry(clock):
    cache, http = make_cache(primary(), rotated())
    cache.key_for(primary().kid, "RS256")
    http.serve(JWKS_URI, jwks_document(rotated()))
    clock.advance(TTL)
    with pytest.raises(TokenValidationError):
        cache.key_for(primary().kid, "RS256")


def test_a_key_found_before_a_refetch_is_looked_up_again_after_it(clock):
    cache, http = make_cache(primary())
    cache.key_for(primary().kid, "RS256")
    http.serve(JWKS_URI, jwks_document(rotated().jwk(kid=primary().kid)))
    with pytest.raises(TokenValidationError):
        cache.key_for("no-such-kid", "RS256")  # refetches: the provider now has other material for the kid
    assert cache.key_for(primary().kid, "RS256").get("n") == rotated().public_jwk["n"]


def test_a_key_found_for_one_algorithm_is_still_checked_for_another(clock):
    cache, _ = make_cache(primary().jwk(alg="RS256"))
    assert cache.key_for(primary().kid, "RS256").kid == primary().kid
    with pytest.raises(TokenValidationError):
        cache.key_for(primary().kid, "PS256")


def test_jwks_uri_is_asked_for_at_fetch_time(clock):
    http = FakeHttp({"https://a.example/keys": jwks_document(primary()),
                     "https://b.example/keys": jwks_document(rotated())})
    uri = ["https://a.example/keys"]
    cache = JwksCache(lambda: uri[0], http, TTL, COOLDOWN)
    cache.key_for(primary().kid, "RS256")
    uri[0] = "https://b.example/keys"
    clock.advance(TTL)
    assert cache.key_for(rotated().kid, "RS256").kid == rotated().kid


# ----------------------------------------------------------------- unknown kid, single flight, rate limit


def test_unknown_kid_refetches_once_after_the_cooldown_then_fails(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    clock.advance(COOLDOWN)
    with pytest.raises(TokenValidationError):
        cache.key_for("no-such-kid", "RS256")
    assert http.count(JWKS_URI) == 2


def test_first_unknown_kid_refetches_at_once_even_right_after_a_fetch(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    with pytest.raises(TokenValidationError):
        cache.key_for("no-such-kid", "RS256")
    assert http.count(JWKS_URI) == 2


def test_unknown_kid_within_the_cooldown_of_the_last_refetch_does_not_refetch(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    with pytest.raises(TokenValidationError):
        cache.key_for("no-such-kid", "RS256")
    clock.advance(COOLDOWN - 1)
    with pytest.raises(TokenValidationError):
        cache.key_for("another-kid", "RS256")
    assert http.count(JWKS_URI) == 2


def test_repeated_unknown_kids_refetch_at_most_once_per_cooldown(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    clock.advance(COOLDOWN)
    for i in range(100):
        with pytest.raises(TokenValidationError):
            cache.key_for(f"random-{i}", "RS256")
        clock.advance(COOLDOWN / 100 * 0.99)
    assert http.count(JWKS_URI) == 2


def test_new_kid_published_by_the_provider_is_found_by_the_refetch(clock):
    cache, http = make_cache(primary())
    cache.key_for(primary().kid, "RS256")
    http.serve(JWKS_URI, jwks_document(primary(), rotated()))
    clock.advance(COOLDOWN)
    assert cache.key_for(rotated().kid, "RS256").kid == rotated().kid
    assert http.count(JWKS_URI) == 2


def test_twenty_threads_asking_for_an_unknown_kid_cause_exactly_one_fetch(clock):
    cache, http = make_cache(primary(), delay=0.05)
    cache.key_for(primary().kid, "RS256")
    clock.advance(COOLDOWN)
    outcomes = run_concurrently([lambda: cache.key_for("no-such-kid", "RS256")] * 20)
    assert len(outcomes) == 20
    assert all(isinstance(o, TokenValidationError) for o in outcomes)
    assert http.count(JWKS_URI) == 2


def test_twenty_threads_asking_for_a_newly_published_kid_cause_exactly_one_fetch(clock):
    cache, http = make_cache(primary(), delay=0.05)
    cache.key_for(primary().kid, "RS256")
    http.serve(JWKS_URI, jwks_document(primary(), rotated()))
    clock.advance(COOLDOWN)
    outcomes = run_concurrently([lambda: cache.key_for(rotated().kid, "RS256")] * 20)
    assert [getattr(o, "kid", o) for o in outcomes] == [rotated().kid] * 20
    assert http.count(JWKS_URI) == 2


def test_twenty_threads_on_a_cold_cache_cause_exactly_one_fetch():
    cache, http = make_cache(primary(), delay=0.05)
    outcomes = run_concurrently([lambda: cache.key_for(primary().kid, "RS256")] * 20)
    assert [getattr(o, "kid", o) for o in outcomes] == [primary().kid] * 20
    assert http.count(JWKS_URI) == 1


# ----------------------------------------------------------------- failures


def test_first_fetch_failing_raises_provider_unavailable():
    cache, http = make_cache()
    http.fail(JWKS_URI)
    with pytest.raises(ProviderUnavailable):
        cache.key_for(primary().kid, "RS256")


def test_first_fetch_of_a_malformed_key_set_raises_provider_error():
    cache, http = make_cache()
    http.serve(JWKS_URI, {"keys": "not-a-list"})
    with pytest.raises(ProviderError):
        cache.key_for(primary().kid, "RS256")


def test_cache_recovers_after_the_first_fetch_failed():
    cache, http = make_cache()
    http.fail(JWKS_URI)
    with pytest.raises(ProviderUnavailable):
        cache.key_for(primary().kid, "RS256")
    http.recover(JWKS_URI)
    assert cache.key_for(primary().kid, "RS256").kid == primary().kid


def test_failed_refresh_after_expiry_keeps_the_cached_keys(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    http.fail(JWKS_URI)
    clock.advance(TTL)
    assert cache.key_for(primary().kid, "RS256").kid == primary().kid
    assert http.count(JWKS_URI) == 2


def test_failed_refresh_is_not_retried_on_every_request(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    http.fail(JWKS_URI)
    clock.advance(TTL)
    for _ in range(10):
        cache.key_for(primary().kid, "RS256")
    assert http.count(JWKS_URI) == 2


def test_failed_unknown_kid_refetch_keeps_the_cached_keys(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    http.fail(JWKS_URI)
    clock.advance(COOLDOWN)
    with pytest.raises(TokenValidationError):
        cache.key_for("no-such-kid", "RS256")
    assert cache.key_for(primary().kid, "RS256").kid == primary().kid


def test_malformed_key_set_on_refresh_keeps_the_cached_keys(clock):
    cache, http = make_cache()
    cache.key_for(primary().kid, "RS256")
    http.serve(JWKS_URI, {"no": "keys"})
    clock.advance(TTL)
    assert cache.key_for(primary().kid, "RS256").kid == primary().kid


# ----------------------------------------------------------------- which keys are usable


def test_symmetric_and_encryption_keys_are_dropped_on_import():
    keys = import_signing_keys(jwks_document(
        primary(),
        {"kty": "oct", "kid": "hmac", "k": b64url(b"0123456789abcdef0123")},
        rotated().jwk(use="enc"),
    ))
    assert [k.kid for k in keys] == [primary().kid]


def test_private_members_of_a_published_key_are_discarded():
    numbers = primary().private_key.private_numbers()
    private_jwk = primary().jwk(d=b64url(numbers.d.to_bytes(256, "big")))
    (key,) = import_signing_keys({"keys": [private_jwk]})
    assert not key.is_private


def test_malformed_key_entries_are_skipped():
    keys = import_signing_keys({"keys": ["junk", {"kty": "RSA", "kid": "broken", "n": "!!"}, primary().public_jwk]})
    assert [k.kid for k in keys] == [primary().kid]


def test_key_declaring_rs256_does_not_fit_ps256():
    (key,) = import_signing_keys(jwks_document(primary()))
    assert key_fits(key, "RS256")
    assert not key_fits(key, "PS256")


def test_p256_key_does_not_fit_es384():
    (key,) = import_signing_keys(jwks_document(ec_key("ec-1").jwk(alg="ES256")))
    assert key_fits(key, "ES256")
    assert not key_fits(key, "ES384")


def test_rsa_key_does_not_fit_ec_or_hmac_algorithms():
    (key,) = import_signing_keys(jwks_document(primary().jwk(alg=DROP)))
    for alg in ("ES256", "HS256", "none", "EdDSA"):
        assert not key_fits(key, alg)


def test_kid_naming_a_key_of_the_wrong_type_is_rejected(clock):
    cache, _ = make_cache(primary(), ec_key("ec-1"))
    with pytest.raises(TokenValidationError):
        cache.key_for("ec-1", "RS256")
