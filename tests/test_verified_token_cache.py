"""Specification of ``VerifiedTokenCache``: found by the exact token, bounded, oldest out first,
usable until expiry plus the leeway."""

from __future__ import annotations

from types import MappingProxyType

from flask_okta_client.protocol.bearer import VerifiedToken, VerifiedTokenCache

LEEWAY = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def entry(expires_at: float) -> VerifiedToken:
    return VerifiedToken(MappingProxyType({"exp": expires_at}), frozenset(), expires_at)


def cache_of(size: int, clock: Clock | None = None) -> VerifiedTokenCache:
    return VerifiedTokenCache(size, LEEWAY, clock or Clock())


def test_a_stored_entry_is_found_by_the_same_token_only():
    cache = cache_of(10)
    stored = entry(2_000_000.0)
    cache.put("a.b.c", stored)
    assert cache.get("a.b.c") is stored
    assert cache.get("a.b.d") is None


def test_a_copy_with_the_same_signature_over_another_payload_is_a_miss():
    cache = cache_of(10)
    stored = entry(2_000_000.0)
    cache.put("header.payload.signature", stored)
    assert cache.get("header.payl0ad.signature") is None
    assert cache.get("header.payload.signature") is stored  # the genuine token still hits


def test_a_copy_with_another_signature_is_a_miss():
    cache = cache_of(10)
    cache.put("header.payload.signature", entry(2_000_000.0))
    assert cache.get("header.payload.signaturf") is None
    assert cache.get("header.payload.signature ") is None


def test_the_cache_never_holds_more_than_its_size():
    cache = cache_of(3)
    for i in range(10):
        cache.put(f"token-{i}", entry(2_000_000.0))
    assert len(cache) == 3
    assert [cache.get(f"token-{i}") is not None for i in range(10)] == [False] * 7 + [True] * 3


def test_the_oldest_entry_is_evicted_first_even_when_it_was_just_used():
    cache = cache_of(3)
    for name in ("a", "b", "c"):
        cache.put(name, entry(2_000_000.0))
    assert cache.get("a") is not None  # a hit does not move an entry
    cache.put("d", entry(2_000_000.0))
    assert cache.get("a") is None
    assert all(cache.get(name) is not None for name in ("b", "c", "d"))


def test_an_evicted_token_verified_again_is_stored_as_the_newest():
    cache = cache_of(2)
    cache.put("hot", entry(2_000_000.0))
    cache.put("cold-1", entry(2_000_000.0))
    cache.put("cold-2", entry(2_000_000.0))
    assert cache.get("hot") is None
    cache.put("hot", entry(2_000_000.0))
    cache.put("cold-3", entry(2_000_000.0))
    assert cache.get("hot") is not None and cache.get("cold-2") is None


def test_an_entry_is_usable_until_its_expiry_plus_the_leeway():
    clock = Clock()
    cache = cache_of(10, clock)
    cache.put("a", entry(clock.now + 10))
    clock.now += 10 + LEEWAY - 1
    assert cache.get("a") is not None  # within the leeway
    clock.now += 1
    assert cache.get("a") is None


def test_a_cache_of_size_zero_stores_nothing():
    cache = cache_of(0)
    cache.put("a", entry(2_000_000.0))
    assert len(cache) == 0
    assert cache.get("a") is None
