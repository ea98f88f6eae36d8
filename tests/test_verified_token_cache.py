"""Specification of ``VerifiedTokenCache``: found by the exact token, bounded, least recently used out first,
expiry on every hit."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from flask_okta_client.protocol.bearer import VerifiedToken, VerifiedTokenCache

LEEWAY = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def entry(expires_at: float) -> VerifiedToken:
    return VerifiedToken(MappingProxyType({"exp": expires_at}), frozenset(), expires_at)


def test_a_stored_entry_is_found_by_the_same_token_only():
    cache = VerifiedTokenCache(10, Clock())
    stored = entry(2_000_000.0)
    cache.put("a.b.c", stored)
    assert cache.get("a.b.c", LEEWAY) is stored
    assert cache.get("a.b.d", LEEWAY) is None


def test_a_copy_with_the_same_signature_over_another_payload_is_a_miss():
    cache = VerifiedTokenCache(10, Clock())
    stored = entry(2_000_000.0)
    cache.put("header.payload.signature", stored)
    assert cache.get("header.payl0ad.signature", LEEWAY) is None
    assert cache.get("header.payload.signature", LEEWAY) is stored  # the genuine token still hits


def test_a_copy_with_another_signature_is_a_miss():
    cache = VerifiedTokenCache(10, Clock())
    cache.put("header.payload.signature", entry(2_000_000.0))
    assert cache.get("header.payload.signaturf", LEEWAY) is None
    assert cache.get("header.payload.signature ", LEEWAY) is None


def test_the_cache_never_holds_more_than_its_size():
    cache = VerifiedTokenCache(3, Clock())
    for i in range(10):
        cache.put(f"token-{i}", entry(2_000_000.0))
    assert len(cache) == 3
    assert [cache.get(f"token-{i}", LEEWAY) is not None for i in range(7, 10)] == [True] * 3


def test_the_least_recently_used_entry_is_evicted_first():
    cache = VerifiedTokenCache(3, Clock())
    for name in ("a", "b", "c"):
        cache.put(name, entry(2_000_000.0))
    assert cache.get("a", LEEWAY) is not None  # "a" is now the most recently used
    cache.put("d", entry(2_000_000.0))
    assert cache.get("b", LEEWAY) is None
    assert all(cache.get(name, LEEWAY) is not None for name in ("a", "c", "d"))


@pytest.mark.parametrize("size", [2, 3, 10, 11])
def test_an_entry_used_within_the_last_half_size_insertions_is_never_evicted(size):
    cache = VerifiedTokenCache(size, Clock())
    cache.put("hot", entry(2_000_000.0))
    for i in range(10 * size):
        if i % (size // 2) == 0:
            assert cache.get("hot", LEEWAY) is not None, i
        cache.put(f"cold-{i}", entry(2_000_000.0))
    assert len(cache) == size


def test_a_hit_soon_after_insertion_leaves_the_entry_where_it_is():
    cache = VerifiedTokenCache(10, Clock())
    cache.put("once", entry(2_000_000.0))
    for i in range(4):
        cache.put(f"cold-{i}", entry(2_000_000.0))
    assert cache.get("once", LEEWAY) is not None  # used, but recently inserted: left where it is
    for i in range(4, 10):
        cache.put(f"cold-{i}", entry(2_000_000.0))
    assert cache.get("once", LEEWAY) is None
    assert len(cache) == 10


def test_an_expired_entry_is_dropped_when_it_is_asked_for():
    clock = Clock()
    cache = VerifiedTokenCache(10, clock)
    cache.put("a", entry(clock.now + 10))
    clock.now += 10 + LEEWAY - 1
    assert cache.get("a", LEEWAY) is not None  # within the leeway
    clock.now += 1
    assert cache.get("a", LEEWAY) is None
    assert len(cache) == 0


def test_a_cache_of_size_zero_stores_nothing():
    cache = VerifiedTokenCache(0, Clock())
    cache.put("a", entry(2_000_000.0))
    assert len(cache) == 0
    assert cache.get("a", LEEWAY) is None
