"""LocalCopies: a bounded LRU that keeps only what no invalidation can have overtaken."""

from __future__ import annotations

from flask_okta_client.sessions.local_copies import MISS, LocalCopies


def kept(copies: LocalCopies, key: str, value: str) -> None:
    ticket = copies.begin_read(key)
    copies.end_read(key, ticket, value)


def test_a_read_keeps_its_value_when_nothing_changed_meanwhile():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    kept(copies, "a", "v1")
    assert copies.get("a", epoch) == "v1"


def test_an_invalidation_during_a_read_keeps_the_read_from_storing_its_old_value():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    ticket = copies.begin_read("a")  # the read is under way with the old value ...
    copies.forget(["a"])  # ... when another instance's write is announced
    copies.end_read("a", ticket, "old")
    assert copies.get("a", epoch) is MISS
    kept(copies, "a", "new")  # the next read keeps what it found
    assert copies.get("a", epoch) == "new"


def test_an_invalidation_of_another_key_does_not_void_a_read():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    ticket = copies.begin_read("a")
    copies.forget(["b"])
    copies.end_read("a", ticket, "v1")
    assert copies.get("a", epoch) == "v1"


def test_every_read_under_way_is_voided_by_an_invalidation_of_its_key():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    first, second = copies.begin_read("a"), copies.begin_read("a")
    copies.forget(["a"])
    copies.end_read("a", first, "old")
    copies.end_read("a", second, "old")
    assert copies.get("a", epoch) is MISS


def test_a_flush_voids_reads_under_way_and_drops_every_copy():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    kept(copies, "a", "v1")
    ticket = copies.begin_read("b")
    copies.forget_all()
    copies.end_read("b", ticket, "old")
    assert copies.get("a", epoch) is MISS and copies.get("b", epoch) is MISS


def test_nothing_is_kept_or_handed_out_while_dark():
    copies = LocalCopies(10)
    assert copies.begin_read("a") is None
    epoch = copies.go_live()
    kept(copies, "a", "v1")
    ticket = copies.begin_read("b")
    copies.go_dark()
    copies.end_read("b", ticket, "v2")
    assert copies.get("a", epoch) is MISS and copies.get("b", epoch) is MISS
    assert len(copies) == 0
    assert copies.begin_read("c") is None


def test_a_copy_is_handed_out_only_for_the_live_period_its_caller_checked():
    copies = LocalCopies(10)
    before = copies.go_live()
    copies.go_dark()
    after = copies.go_live()
    kept(copies, "a", "v1")
    assert copies.get("a", before) is MISS
    assert copies.get("a", after) == "v1"


def test_a_read_started_before_a_reconnection_keeps_nothing():
    copies = LocalCopies(10)
    copies.go_live()
    ticket = copies.begin_read("a")
    copies.go_dark()
    epoch = copies.go_live()
    copies.end_read("a", ticket, "old")
    assert copies.get("a", epoch) is MISS


def test_the_least_recently_used_copy_goes_first_beyond_the_size():
    copies = LocalCopies(2)
    epoch = copies.go_live()
    kept(copies, "a", "1")
    kept(copies, "b", "2")
    assert copies.get("a", epoch) == "1"  # a is now the most recently used
    kept(copies, "c", "3")
    assert len(copies) == 2
    assert copies.get("b", epoch) is MISS
    assert copies.get("a", epoch) == "1" and copies.get("c", epoch) == "3"


def test_a_failed_read_keeps_nothing_and_leaves_no_ticket_behind():
    copies = LocalCopies(10)
    epoch = copies.go_live()
    ticket = copies.begin_read("a")
    copies.end_read("a", ticket, MISS)
    assert copies.get("a", epoch) is MISS
    assert copies._reads == {}
