"""A refresh, once sent, is never lost: when the provider answers after the request that sent
it gave up (503), the answer is kept, and the session's next request uses it instead of
sending the spent refresh token again (which the provider would take as a replay and
answer by revoking the whole grant)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest

from flask_okta_client import ConfigError
from flask_okta_client.protocol.singleflight import SingleFlight, TooManyCalls
from flask_okta_client.sessions import lifecycle
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    change_stored_user,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.site import make_site, sign_in
from tests.waiting import wait_for

TIMEOUT = 0.3  # OKTA_HTTP_TIMEOUT: how long a request waits for the provider
STALL = 2.5  # how long the provider takes to answer the refresh (a margin for a busy machine)
ATTEMPTS = 60


def slow_provider_site(settings, **config):
    return make_site(settings, OKTA_SCOPES=OFFLINE_SCOPES, OKTA_HTTP_TIMEOUT=TIMEOUT, **config)


def first_answer_but_503(client, path="/protected"):
    """Ask until the answer is not a 503 (each try waits up to TIMEOUT for the refresh)."""
    for _ in range(ATTEMPTS):
        response = client.get(path)
        if response.status_code != 503:
            return response
        time.sleep(0.05)
    raise AssertionError(f"still 503 after {ATTEMPTS} tries")


def signed_in_with_a_stalled_refresh(app, server, fault=None):
    """A browser signed in to ``app``, its access token due, the provider's next refresh answer
    held back STALL seconds (then ``fault``, or a normal answer); the sign-in as it was."""
    client = app.test_client()
    sign_in(client, server)
    before = stored_user(app, client)
    expire_access_token(app, client)
    server.reset()
    server.fail_next("token", **(fault or {"status": None}), delay=STALL)
    return client, before


def test_cookie_store_next_request_takes_the_refresh_its_predecessor_gave_up_on(okta_settings, okta_mock_server):
    app = slow_provider_site(okta_settings)
    client, before = signed_in_with_a_stalled_refresh(app, okta_mock_server)

    assert client.get("/protected").status_code == 503
    response = first_answer_but_503(client)

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert okta_mock_server.count("token") == 1  # the spent refresh token was not sent again
    after = stored_user(app, client)
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token
    expire_access_token(app, client)  # the rotated refresh token is alive: no replay revoked it
    assert client.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == 2


def test_a_refusal_nobody_waited_for_ends_the_session_without_asking_again(
        okta_settings, okta_mock_server):
    app = slow_provider_site(okta_settings)
    client, _ = signed_in_with_a_stalled_refresh(
        app, okta_mock_server, {"status": 400, "body": '{"error": "invalid_grant"}'}
    )

    assert client.get("/protected").status_code == 503
    response = first_answer_but_503(client)

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert stored_user(app, client) is None
    assert okta_mock_server.count("token") == 1


@pytest.mark.parametrize("store", ["redis", "directory"])
def test_server_store_refresh_is_stored_for_every_instance_and_the_lock_held_until_it_ends(
        okta_settings, okta_mock_server, request, tmp_path, store):
    location = request.getfixturevalue("redis_url") if store == "redis" else str(tmp_path / "tokens")
    settings = {**okta_settings, "OKTA_TOKEN_STORE": location}
    first, second = slow_provider_site(settings), slow_provider_site(settings)  # two instances
    on_first, before = signed_in_with_a_stalled_refresh(first, okta_mock_server)

    assert on_first.get("/protected").status_code == 503
    on_second = second.test_client()
    share_cookies(on_first, on_second)
    assert on_second.get("/protected").status_code == 503  # waits for the lock the first refresh holds
    response = first_answer_but_503(on_second)

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert okta_mock_server.count("token") == 1
    assert stored_user(second, on_second).refresh_token != before.refresh_token
    assert on_first.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == 1


def test_refreshed_tokens_wait_for_a_restarted_store(okta_settings, okta_mock_server, redis_server, caplog):
    app = slow_provider_site({**okta_settings, "OKTA_TOKEN_STORE": redis_server.url})
    client, before = signed_in_with_a_stalled_refresh(app, okta_mock_server)
    caplog.set_level(logging.WARNING, logger="flask_okta_client")

    assert client.get("/protected").status_code == 503
    redis_server.stop()
    wait_for(lambda: "refreshed tokens could not be stored" in caplog.text, "the refresh's answer")
    assert client.get("/protected").status_code == 503  # the store is down: a clear 503
    redis_server.start()
    response = first_answer_but_503(client)

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert okta_mock_server.count("token") == 1
    assert stored_user(app, client).refresh_token != before.refresh_token


# -- SingleFlight with a wait ------------------------------------------------------------


def test_single_flight_call_goes_on_after_its_callers_gave_up():
    flight: SingleFlight[str] = SingleFlight(remember=0.0, remember_unclaimed=60.0)
    release = threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        release.wait(10)
        return "answer"

    with pytest.raises(TimeoutError):
        flight.run("key", slow, wait=0.05)
    with pytest.raises(TimeoutError):
        flight.run("key", slow, wait=0.05)  # joins the call under way
    release.set()
    wait_for(lambda: flight.run("key", lambda: "another call", wait=1) == "answer", "the call to end")
    assert calls == [1]


def test_single_flight_forgets_a_taken_result_after_remember():
    flight: SingleFlight[str] = SingleFlight(remember=0.0, remember_unclaimed=60.0)
    assert flight.run("key", lambda: "first", wait=1) == "first"
    assert flight.run("key", lambda: "second", wait=1) == "second"


def test_refresh_timeout_shorter_than_the_request_timeout_is_refused(okta_settings):
    with pytest.raises(ConfigError, match="OKTA_REFRESH_TIMEOUT"):
        make_site(okta_settings, OKTA_HTTP_TIMEOUT=10, OKTA_REFRESH_TIMEOUT=5)


def test_a_refresh_lock_that_redis_lost_does_not_fail_the_request(okta_settings, okta_mock_server, redis_server,
                                                                  caplog):
    import redis

    app = make_site({**okta_settings, "OKTA_TOKEN_STORE": redis_server.url}, OKTA_SCOPES=OFFLINE_SCOPES,
                    OKTA_HTTP_TIMEOUT=STALL * 4)  # the request waits for the whole refresh
    client, before = signed_in_with_a_stalled_refresh(app, okta_mock_server)
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    server = redis.Redis.from_url(redis_server.url)

    def lose_the_lock() -> None:  # as a Redis restarted without its data would, while the refresh waits
        wait_for(lambda: server.keys("okta:refresh-lock:*"), "the refresh lock")
        server.delete(*server.keys("okta:refresh-lock:*"))

    losing = threading.Thread(target=lose_the_lock)
    losing.start()
    response = client.get("/protected")
    losing.join()

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert stored_user(app, client).refresh_token != before.refresh_token
    assert "refresh lock was gone" in caplog.text
    assert client.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == 1


def test_refreshed_tokens_waiting_for_the_store_are_written_when_a_request_finds_it_back(
        okta_settings, okta_mock_server, redis_server, caplog):
    app = slow_provider_site({**okta_settings, "OKTA_TOKEN_STORE": redis_server.url})
    client, before = signed_in_with_a_stalled_refresh(app, okta_mock_server)
    caplog.set_level(logging.WARNING, logger="flask_okta_client")

    assert client.get("/protected").status_code == 503
    redis_server.stop()
    wait_for(lambda: caplog.text.count("refreshed tokens could not be stored") >= 4, "four tries to store them")
    redis_server.start()
    response = client.get("/protected")  # the first request after the restart

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert okta_mock_server.count("token") == 1
    assert stored_user(app, client).refresh_token != before.refresh_token


# -- a bounded pool of refresh threads --------------------------------------------------


def test_single_flight_runs_at_most_its_pool_of_calls_in_the_background_and_queues_none():
    flight: SingleFlight[str] = SingleFlight(background=2)
    release = threading.Event()
    started = []
    threads = set()

    def slow(name: str) -> str:
        started.append(name)
        threads.add(threading.current_thread())
        release.wait(10)
        return name

    for key in ("a", "b"):
        with pytest.raises(TimeoutError):
            flight.run(key, lambda key=key: slow(key), wait=0.05)
    with pytest.raises(TooManyCalls):
        flight.run("c", lambda: slow("c"), wait=0.05)
    with pytest.raises(TooManyCalls):
        flight.run("c", lambda: slow("c"), wait=0.05)  # refused again, not queued behind the first refusal
    assert sorted(started) == ["a", "b"] and len(threads) == 2
    release.set()
    wait_for(lambda: flight.run("a", lambda: "again", wait=1) == "a", "the first calls to end")
    assert flight.run("c", lambda: slow("c"), wait=1) == "c"  # the pool has room again
    assert len(threads) == 2  # on one of its two threads


def test_single_flight_starts_background_calls_in_a_forked_child():
    flight: SingleFlight[str] = SingleFlight(background=1)
    assert flight.run("parent", lambda: "parent", wait=5) == "parent"  # the pool exists, with a thread
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        signal.alarm(10)  # a call that never starts must not hang the test run
        os._exit(0 if flight.run("child", lambda: "child", wait=5) == "child" else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_refresh_beyond_the_pool_answers_503_without_being_sent(okta_settings, okta_mock_server, monkeypatch):
    monkeypatch.setattr(lifecycle, "MAX_BACKGROUND_REFRESHES", 1)
    app = slow_provider_site(okta_settings)
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        sign_in(browser, okta_mock_server)
        expire_access_token(app, browser)
    okta_mock_server.reset()
    okta_mock_server.fail_next("token", status=None, delay=STALL)

    assert first.get("/protected").status_code == 503  # its refresh goes on, in the pool's one thread
    refused = second.get("/protected", headers={"Accept": "application/json"})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert okta_mock_server.count("token") == 1  # the second refresh was not sent
    assert first_answer_but_503(first).status_code == 200
    assert first_answer_but_503(second).status_code == 200
    assert okta_mock_server.count("token") == 2


def test_cookie_store_a_page_rolling_the_idle_clock_keeps_the_tokens_this_process_refreshed(okta_settings,
                                                                                             okta_mock_server):
    """Two tabs send the same old cookie: one refreshes, the other only rolls the idle clock. The
    second response must not bring back the spent refresh token, whichever response comes last."""
    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES)
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    change_stored_user(app, browser, expires_at=time.time() - 5, last_seen_at=time.time() - 120)
    other_tab = app.test_client()
    share_cookies(browser, other_tab)

    assert other_tab.get("/protected").status_code == 200  # refreshes
    refreshed = stored_user(app, other_tab)
    assert browser.get("/").get_data(as_text=True).startswith("home 00u")  # read the old cookie

    assert stored_user(app, browser).refresh_token == refreshed.refresh_token
    assert stored_user(app, browser).last_seen_at > time.time() - 60


def test_cookie_store_a_slow_page_answering_after_a_refresh_sends_the_refreshed_tokens(okta_settings,
                                                                                        okta_mock_server):
    """Two tabs send the same old cookie. A slow page reads the sign-in and rolls the idle clock
    before the other tab's refresh ends, and answers after it: its cookie must carry the refreshed
    tokens, not the spent refresh token it read."""
    from flask_okta_client import current_user

    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES)
    page_read_the_sign_in, release_page = threading.Event(), threading.Event()

    @app.get("/slow")
    def slow():
        subject = current_user.sub  # reads the sign-in: the idle clock is due, so it is rolled
        page_read_the_sign_in.set()
        release_page.wait(10)
        return f"slow {subject}"

    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    change_stored_user(app, browser, expires_at=time.time() - 5, last_seen_at=time.time() - 120)
    spent = stored_user(app, browser).refresh_token
    other_tab = app.test_client()
    share_cookies(browser, other_tab)

    slow_page: list = []
    reader = threading.Thread(target=lambda: slow_page.append(browser.get("/slow")))
    reader.start()
    try:
        assert page_read_the_sign_in.wait(10)
        assert other_tab.get("/protected").status_code == 200  # refreshes while the slow page waits
    finally:
        release_page.set()
        reader.join(10)
    refreshed = stored_user(app, other_tab)
    assert refreshed.refresh_token != spent

    assert slow_page[0].status_code == 200
    assert "Set-Cookie" in slow_page[0].headers  # it rolled the idle clock…
    assert stored_user(app, browser).refresh_token == refreshed.refresh_token  # …over the refreshed tokens
    assert browser.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == 2  # the code exchange and the one refresh
