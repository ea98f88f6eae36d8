"""Anonymous page loads cost no outbound call unless the provider requires PAR; the mock server forgets
what expired, so a flood of page loads cannot grow its memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from flask_okta_client.testing import MockClient, MockOktaServer, _mock_store
from flask_okta_client.testing._mock_store import MAX_HELD, Store
from flask_okta_client.testing.tokens import TEST_CLIENT_ID
from tests.site import make_site, query, sign_in, start_login


def test_auto_sends_the_request_in_the_url_when_the_provider_only_offers_par(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_USE_PAR="auto").test_client()
    for _ in range(3):
        params = query(start_login(client))
        assert {"state", "nonce", "code_challenge", "redirect_uri"} <= set(params)
    assert okta_mock_server.count("par") == 0


@pytest.fixture(scope="module")
def par_required() -> Iterator[MockOktaServer]:
    with MockOktaServer(require_par=True) as okta:
        okta.add_client(MockClient(TEST_CLIENT_ID, "secret-0123456789",
                                   redirect_uris=["http://localhost/authorization-code/callback"]))
        yield okta


def test_auto_pushes_when_the_provider_requires_par(par_required):
    par_required.reset()
    client = make_site({"OKTA_ISSUER": par_required.issuer, "OKTA_CLIENT_ID": TEST_CLIENT_ID,
                        "OKTA_CLIENT_SECRET": "secret-0123456789"}, OKTA_USE_PAR="auto").test_client()
    assert sign_in(client, par_required).headers["Location"] == "/protected"
    assert par_required.count("par") == 1


def test_a_mock_that_requires_par_refuses_a_request_in_the_url(par_required):
    url = par_required.endpoint_url("authorize") + f"?client_id={TEST_CLIENT_ID}&response_type=code"
    assert requests.get(url, timeout=5, allow_redirects=False).status_code == 400


# ---------------------------------------------------------------- the mock server forgets


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_mock_store, "time", fake)
    return fake


def test_expired_pushed_requests_and_pending_sign_ins_are_purged(clock):
    store = Store()
    for _ in range(50):
        store.push_request({"client_id": "c"})
        store.hold_sign_in({"client_id": "c"})
    clock.now += _mock_store.PENDING_SIGN_IN_TTL + 1
    kept_push = store.push_request({"client_id": "c"})
    kept_sign_in = store.hold_sign_in({"client_id": "c"})
    assert (store.held()["pushed"], store.held()["pending"]) == (1, 1)
    assert store.take_pushed_request(kept_push, "c") == {"client_id": "c"}
    assert store.take_sign_in(kept_sign_in) == {"client_id": "c"}


def test_a_flood_within_the_lifetime_is_bounded(clock):
    store = Store()
    first = store.hold_sign_in({"n": "first"})
    for _ in range(MAX_HELD + 10):
        store.hold_sign_in({})
    assert store.held()["pending"] == MAX_HELD
    assert store.take_sign_in(first) is None  # the oldest made room


def test_used_assertion_ids_are_swept_after_they_expire(clock):
    store = Store()
    assert store.first_use("issuer", "jti-1", clock.now + 60)
    assert not store.first_use("issuer", "jti-1", clock.now + 60)  # replay still refused
    clock.now += 61
    assert store.held()["jtis"] == 0


def test_the_running_mock_drops_codes_and_tokens_that_expired(okta_mock_server, okta_settings, monkeypatch):
    client = make_site(okta_settings).test_client()
    sign_in(client, okta_mock_server)
    before = okta_mock_server.held()
    assert before["codes"] >= 1 and before["tokens"] >= 1
    later = Clock()
    later.now = _mock_store.time.time() + 8 * 24 * 3600  # past every code, access and refresh token lifetime
    monkeypatch.setattr(_mock_store, "time", later)
    held = okta_mock_server.held()
    assert (held["codes"], held["tokens"]) == (0, 0)
