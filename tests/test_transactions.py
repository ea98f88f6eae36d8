"""Specification of pending sign-ins (state, nonce, PKCE) kept in the session."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from flask_okta_client.sessions import transactions
from flask_okta_client.sessions.transactions import (
    SESSION_KEY,
    LoginTransaction,
    begin_login,
    take_login,
)

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1


class FakeTime:
    """``time.time`` that only moves when told to (and ticks a microsecond per call)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        self.now += 1e-6
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(transactions, "time", fake)
    return fake


def begin(session, lifetime=600, max_pending=5, **kwargs):
    kwargs.setdefault("redirect_uri", "https://app.example/authorization-code/callback")
    kwargs.setdefault("next_url", "/")
    return begin_login(session, lifetime=lifetime, max_pending=max_pending, **kwargs)


def test_begin_then_take_returns_the_same_transaction(clock):
    session = {}
    started = begin(session, next_url="/reports?y=2024", max_age=300)
    taken = take_login(session, started.state)
    assert taken == started
    assert taken.next_url == "/reports?y=2024"
    assert taken.max_age == 300


def test_transaction_survives_a_json_round_trip_of_the_session(clock):
    import json

    session = {}
    started = begin(session)
    restored = json.loads(json.dumps(session))
    assert take_login(restored, started.state) == started


def test_take_is_single_use(clock):
    session = {}
    started = begin(session)
    assert take_login(session, started.state) is not None
    assert take_login(session, started.state) is None


def test_taking_the_last_transaction_removes_the_session_key(clock):
    session = {}
    started = begin(session)
    take_login(session, started.state)
    assert SESSION_KEY not in session


@pytest.mark.parametrize("state", [None, "", "unknown-state"])
def test_unknown_or_empty_state_returns_none(clock, state):
    session = {}
    begin(session)
    assert take_login(session, state) is None


def test_take_on_an_empty_session_returns_none(clock):
    assert take_login({}, "anything") is None


def test_expired_transaction_returns_none(clock):
    session = {}
    started = begin(session, lifetime=600)
    clock.advance(601)
    assert take_login(session, started.state) is None


def test_expired_transaction_cannot_be_taken_later_either(clock):
    session = {}
    started = begin(session, lifetime=600)
    clock.advance(601)
    take_login(session, started.state)
    clock.now -= 601  # even if the clock went back
    assert take_login(session, started.state) is None


def test_transaction_just_before_expiry_is_returned(clock):
    session = {}
    started = begin(session, lifetime=600)
    clock.advance(599)
    assert take_login(session, started.state) == started


def test_two_concurrent_logins_are_both_completable(clock):
    session = {}
    first = begin(session, next_url="/tab-one")
    second = begin(session, next_url="/tab-two")
    assert take_login(session, first.state).next_url == "/tab-one"
    assert take_login(session, second.state).next_url == "/tab-two"


def test_two_concurrent_logins_complete_in_either_order(clock):
    session = {}
    first = begin(session)
    second = begin(session)
    assert take_login(session, second.state) == second
    assert take_login(session, first.state) == first


def test_cap_on_pending_logins_keeps_the_newest(clock):
    session = {}
    started = [begin(session, max_pending=3, next_url=f"/{i}") for i in range(7)]
    assert set(session[SESSION_KEY]) == {t.state for t in started[-3:]}
    for old in started[:-3]:
        assert take_login(session, old.state) is None
    for new in started[-3:]:
        assert take_login(session, new.state) == new


@pytest.mark.parametrize("tabs", [2, 3, 4, 5])
def test_logins_up_to_the_cap_are_all_kept(clock, tabs):
    session = {}
    started = [begin(session, max_pending=5) for _ in range(tabs)]
    for transaction in started:
        assert take_login(session, transaction.state) == transaction


def test_cap_of_one_keeps_only_the_latest(clock):
    session = {}
    first = begin(session, max_pending=1)
    second = begin(session, max_pending=1)
    assert list(session[SESSION_KEY]) == [second.state]
    assert take_login(session, first.state) is None


def test_expired_transactions_are_dropped_when_a_new_login_begins(clock):
    session = {}
    old = begin(session, lifetime=60)
    clock.advance(61)
    new = begin(session, lifetime=60)
    assert list(session[SESSION_KEY]) == [new.state]
    assert old.state not in session[SESSION_KEY]


def test_garbage_in_the_session_is_ignored(clock):
    session = {SESSION_KEY: "not-a-dict"}
    started = begin(session)
    assert take_login(session, started.state) == started


def test_tampered_stored_transaction_returns_none(clock):
    session = {SESSION_KEY: {"s1": {"state": "s1", "unexpected": True}}}
    assert take_login(session, "s1") is None


def test_pkce_code_challenge_is_the_s256_of_the_verifier(clock):
    transaction = begin({})
    digest = hashlib.sha256(transaction.code_verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    assert transaction.code_challenge == expected


def test_pkce_code_verifier_meets_rfc_7636(clock):
    for _ in range(20):
        assert PKCE_VERIFIER.match(begin({}).code_verifier)


def test_state_and_nonce_have_at_least_128_bits_and_are_url_safe(clock):
    transaction = begin({})
    for value in (transaction.state, transaction.nonce):
        assert len(value) >= 22
        assert URL_SAFE.match(value)


def test_state_nonce_and_verifier_differ_each_time(clock):
    made = [begin({}) for _ in range(50)]
    values = [t.state for t in made] + [t.nonce for t in made] + [t.code_verifier for t in made]
    assert len(set(values)) == len(values)


def test_login_transaction_is_immutable(clock):
    transaction = begin({})
    with pytest.raises(AttributeError):
        transaction.state = "x"  # type: ignore[misc]
    assert isinstance(transaction, LoginTransaction)
