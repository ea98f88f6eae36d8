"""Copies of the Redis store's entries in each process, kept current by Redis' invalidations (real redis-server)."""

from __future__ import annotations

import gc
import logging
import os
import secrets
import threading
import time

import pytest
import redis

from flask_okta_client.errors import ConfigError
from flask_okta_client.sessions.invalidation import (
    RECONNECT_AFTER,
    SILENCE_LIMIT,
    TrackedCopies,
)
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    expire_access_token,
    share_cookies,
    stored_user,
    with_cookies_of,
)
from tests.loopback_proxy import LoopbackProxy
from tests.redis_monitor import commands_during, wait_until_live
from tests.site import csrf_token, make_site, sign_in
from tests.waiting import wait_for

LISTENER_THREAD = "okta-store-invalidations"


def warm_site(okta_settings, okta_mock_server, url, **config):
    """A signed-in browser on a site whose copy of the sign-in is kept (its next request costs no round trip)."""
    app = make_site(okta_settings, OKTA_TOKEN_STORE=url, **config)
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    warm(app, browser)
    return app, browser


def warm(app, browser) -> None:
    assert browser.get("/protected").status_code == 200  # starts the listener
    wait_until_live(app.extensions["okta"].store)
    assert browser.get("/protected").status_code == 200  # keeps a copy


def two_instances_warm_on_b(okta_settings, okta_mock_server, redis_url) -> tuple:
    """Two sites sharing one Redis store, one browser signed in on A whose cookies B shares, B holding a copy."""
    config = {"OKTA_TOKEN_STORE": redis_url, "OKTA_SCOPES": OFFLINE_SCOPES}
    instance_a, instance_b = make_site(okta_settings, **config), make_site(okta_settings, **config)
    browser_a, browser_b = instance_a.test_client(), instance_b.test_client()
    sign_in(browser_a, okta_mock_server)
    share_cookies(browser_a, browser_b)
    warm(instance_b, browser_b)
    return instance_a, browser_a, instance_b, browser_b


def entry_name(app, browser) -> str:
    return "okta:" + app.extensions["okta"].store.cache_key(browser.get_cookie("okta_session").value)


def listener_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == LISTENER_THREAD]


# -- another instance's changes ---------------------------------------------------------


def test_a_refresh_and_a_sign_out_on_another_instance_reach_a_warm_copy(okta_settings, okta_mock_server, redis_url):
    instance_a, browser_a, instance_b, browser_b = two_instances_warm_on_b(okta_settings, okta_mock_server, redis_url)
    before = stored_user(instance_b, browser_b).access_token
    assert commands_during(redis_url, lambda: stored_user(instance_b, browser_b)) == []  # B reads its copy

    expire_access_token(instance_a, browser_a)
    assert browser_a.get("/protected").status_code == 200  # refreshed by A
    assert stored_user(instance_b, browser_b).access_token != before

    browser_a.post("/logout", data={"csrf_token": csrf_token(browser_a)})
    assert browser_b.get("/protected").status_code == 302


def test_an_entry_that_expires_in_redis_ends_the_warm_copy(okta_settings, okta_mock_server, redis_url):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_url)
    server = redis.Redis.from_url(redis_url)
    expired_before = server.info("stats")["expired_keys"]
    server.pexpire(entry_name(app, browser), 50)
    warm(app, browser)  # the PEXPIRE was a write: the copy is kept again, until the key expires

    wait_for(lambda: server.info("stats")["expired_keys"] > expired_before, "Redis to expire the entry")

    assert browser.get("/protected").status_code == 302


def test_flushing_the_database_drops_every_copy(okta_settings, okta_mock_server, redis_server):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_server.url)
    redis.Redis.from_url(redis_server.url).flushdb()
    # Redis writes its reply to FLUSHDB a moment before the null invalidation (same turn of its loop),
    # so a request right after may still see the copy; it must not see it for long.
    wait_for(lambda: browser.get("/protected").status_code == 302, "the copy to be dropped", limit=5)


def test_a_read_overtaken_by_a_write_elsewhere_keeps_nothing(redis_url):
    server = redis.Redis.from_url(redis_url)
    name = f"okta:signin:{secrets.token_hex(8)}"
    server.set(name, "old")
    copies = TrackedCopies(redis_url, "okta:signin:", 10)
    try:
        copies.read(name, lambda: server.get(name))  # starts the listener
        wait_for(lambda: copies.live, "the listener")
        copies.forget([name])

        def read_then_overtaken():
            value = server.get(name)
            server.set(name, "new")  # another instance writes after this read, before it is kept
            wait_for(lambda: copies.live, "the invalidation to be handled")
            return value

        assert copies.read(name, read_then_overtaken) == b"old"
        assert copies.read(name, lambda: server.get(name)) == b"new"
        assert commands_during(redis_url, lambda: copies.read(name, lambda: server.get(name))) == []
    finally:
        copies.close()


def test_reads_under_the_refresh_lock_go_to_redis(okta_settings, okta_mock_server, redis_url):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_url)
    state = app.extensions["okta"]
    with with_cookies_of(app, browser):
        cookie = state.sign_in_cookie()
        assert commands_during(redis_url, lambda: state.store.load(cookie)) == []
        with state.store.refresh_lock(cookie):
            assert commands_during(redis_url, lambda: state.store.load(cookie)) == ["GET"]
        assert commands_during(redis_url, lambda: state.store.load(cookie)) == []


def test_copies_work_where_select_has_no_poll(okta_settings, okta_mock_server, redis_url, monkeypatch):
    import select

    monkeypatch.delattr(select, "poll")  # Windows, or gevent's patched select
    instance_a, browser_a, instance_b, browser_b = two_instances_warm_on_b(okta_settings, okta_mock_server, redis_url)
    assert commands_during(redis_url, lambda: browser_b.get("/protected")) == []

    browser_a.post("/logout", data={"csrf_token": csrf_token(browser_a)})
    assert browser_b.get("/protected").status_code == 302


# -- an unhealthy invalidation connection ------------------------------------------


def test_a_killed_invalidation_connection_sends_reads_to_redis_until_a_new_one_tracks(okta_settings,
                                                                                      okta_mock_server, redis_url):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_url)
    server = redis.Redis.from_url(redis_url)
    name = entry_name(app, browser)
    listener_ids = [client["id"] for client in server.client_list() if "P" in client["flags"]]
    for client_id in listener_ids:
        server.client_kill_filter(_id=client_id)
    server.delete(name)  # while no connection tracks for this instance: no invalidation for it

    assert browser.get("/protected").status_code == 302

    sign_in(browser, okta_mock_server)
    warm(app, browser)  # copies resume by themselves
    assert commands_during(redis_url, lambda: browser.get("/protected")) == []


def test_an_invalidation_connection_that_goes_silent_stops_copies_and_is_replaced(okta_settings,
                                                                                   okta_mock_server, redis_url):
    server = redis.Redis.from_url(redis_url)
    proxy = LoopbackProxy(server.connection_pool.connection_kwargs["port"]).start()
    try:
        app, browser = warm_site(okta_settings, okta_mock_server, f"redis://127.0.0.1:{proxy.port}/0")
        store = app.extensions["okta"].store
        (listener,) = [client["addr"] for client in server.client_list()
                       if "P" in client["flags"] and int(client["addr"].rsplit(":", 1)[1]) in proxy.upstream_ports]
        proxy.freeze(int(listener.rsplit(":", 1)[1]))  # no close, no error: silence
        server.delete(entry_name(app, browser))  # its invalidation never arrives

        wait_for(lambda: not store.copies.live, "copies to stop", limit=3 * SILENCE_LIMIT)
        assert browser.get("/protected").status_code == 302

        sign_in(browser, okta_mock_server)
        wait_for(lambda: store.copies.live, "a new connection", limit=RECONNECT_AFTER + 20)
        warm(app, browser)
        assert commands_during(redis_url, lambda: browser.get("/protected")) == []
    finally:
        app.extensions["okta"].store.close()
        proxy.close()


def test_after_a_restart_that_lost_the_data_no_copy_from_before_is_served(okta_settings, okta_mock_server,
                                                                         redis_server):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_server.url)
    redis_server.stop()
    assert browser.get("/protected").status_code == 503
    (redis_server.workdir / "dump.rdb").unlink()
    redis_server.start()

    assert browser.get("/protected").status_code == 302

    sign_in(browser, okta_mock_server)
    warm(app, browser)  # copies resume by themselves
    assert commands_during(redis_server.url, lambda: browser.get("/protected")) == []


def test_after_a_restart_that_kept_the_data_the_sign_in_goes_on_and_copies_resume(okta_settings, okta_mock_server,
                                                                                  redis_server, caplog):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_server.url)
    with caplog.at_level(logging.INFO, logger="flask_okta_client"):
        redis_server.stop()
        time.sleep(1)  # the listener tries to reconnect several times meanwhile
        redis_server.start()
        assert browser.get("/protected").status_code == 200
        wait_until_live(app.extensions["okta"].store)
    assert caplog.text.count("invalidation connection failed") == 1  # once per outage, not per attempt
    assert caplog.text.count("invalidations are back") == 1
    browser.get("/protected")
    assert commands_during(redis_server.url, lambda: browser.get("/protected")) == []


@pytest.mark.parametrize("refused", [
    {"channels": ["*"], "commands": ["+@all", "-client"]},  # a managed service without CLIENT commands
    {"channels": [], "commands": ["+@all"]},  # no Pub/Sub channel allowed: SUBSCRIBE refused
])
def test_a_redis_that_refuses_client_tracking_is_logged_once_and_every_request_reads_it(okta_settings,
                                                                                       okta_mock_server, redis_url,
                                                                                       caplog, refused):
    server = redis.Redis.from_url(redis_url)
    user, password = f"site-{secrets.token_hex(4)}", secrets.token_hex(16)
    server.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], reset_channels=True, **refused)
    url = redis_url.replace("redis://", f"redis://{user}:{password}@")
    app = make_site(okta_settings, OKTA_TOKEN_STORE=url)
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    with caplog.at_level(logging.WARNING, logger="flask_okta_client"):
        assert browser.get("/protected").status_code == 200
        wait_for(lambda: "refused client-side caching" in caplog.text, "the refusal to be logged")
        wait_for(lambda: not listener_threads(), "the listener to give up")
        for _ in range(3):
            assert commands_during(redis_url, lambda: browser.get("/protected")) == ["GET"]
    assert caplog.text.count("refused client-side caching") == 1
    assert "NOPERM" in caplog.text or "no permissions" in caplog.text


# -- settings ------------------------------------------------------------------------


def test_copies_can_be_turned_off(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, OKTA_TOKEN_STORE_CACHE="false")
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    assert app.extensions["okta"].store.copies is None
    browser.get("/protected")
    assert commands_during(redis_url, lambda: browser.get("/protected")) == ["GET"]
    assert not listener_threads()


def test_the_number_of_copies_is_bounded_by_the_size_setting(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, OKTA_TOKEN_STORE_CACHE_SIZE="1")
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, okta_mock_server, "alice")
    sign_in(bob, okta_mock_server, "bob")
    warm(app, alice)
    bob.get("/protected")  # takes the only place
    assert commands_during(redis_url, lambda: alice.get("/protected")) == ["GET"]
    assert commands_during(redis_url, lambda: alice.get("/protected")) == []


@pytest.mark.parametrize("size", ["0", "-3", "many"])
def test_a_bad_size_setting_is_refused_at_start_up(okta_settings, redis_url, size):
    with pytest.raises(ConfigError, match="OKTA_TOKEN_STORE_CACHE_SIZE"):
        make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, OKTA_TOKEN_STORE_CACHE_SIZE=size)


def test_the_cookie_and_directory_stores_have_no_copies(okta_settings, tmp_path):
    assert not hasattr(make_site(okta_settings).extensions["okta"].store, "copies")
    directory = make_site(okta_settings, OKTA_TOKEN_STORE=str(tmp_path / "tokens"))
    assert directory.extensions["okta"].store.copies is None


# -- threads, connections, processes -------------------------------------------------


def test_closing_a_store_ends_its_listener_and_connection_and_a_later_read_starts_another(okta_settings,
                                                                                         okta_mock_server, redis_url):
    assert not listener_threads()  # the previous tests' listeners were closed
    server = redis.Redis.from_url(redis_url)
    subscribed = lambda: sum("P" in client["flags"] for client in server.client_list())  # noqa: E731
    app, browser = warm_site(okta_settings, okta_mock_server, redis_url)
    assert len(listener_threads()) == 1 and subscribed() == 1

    app.extensions["okta"].store.close()
    assert not listener_threads()
    wait_for(lambda: subscribed() == 0, "the connection to close")

    warm(app, browser)
    assert len(listener_threads()) == 1


def test_a_store_no_longer_used_ends_its_listener(okta_settings, okta_mock_server, redis_url):
    apps = [warm_site(okta_settings, okta_mock_server, redis_url)[0] for _ in range(3)]
    assert len(listener_threads()) == 3
    del apps
    gc.collect()
    wait_for(lambda: not listener_threads(), "the listeners to end")


def test_a_forked_child_uses_no_copy_or_listener_of_its_parent(okta_settings, okta_mock_server, redis_url):
    app, browser = warm_site(okta_settings, okta_mock_server, redis_url)  # as a preloaded app might be
    name = entry_name(app, browser)
    pid = os.fork()
    if pid == 0:  # the child: like a gunicorn worker forked after the parent kept copies
        status = 1
        try:
            redis.Redis.from_url(redis_url).delete(name)
            time.sleep(0.3)  # the parent's listener takes the invalidation off the shared connection
            if browser.get("/protected").status_code == 302 and len(listener_threads()) == 1:
                status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_redis_that_stops_answering_without_closing_answers_503_not_a_hang(okta_settings, okta_mock_server,
                                                                             redis_url):
    """Every connection to Redis goes silent (a partition: nothing is closed). A page that needs the
    sign-in answers 503 once the store's socket timeout passes, and the session is there afterwards."""
    server = redis.Redis.from_url(redis_url)
    proxy = LoopbackProxy(server.connection_pool.connection_kwargs["port"]).start()
    try:
        url = f"redis://127.0.0.1:{proxy.port}/0?socket_timeout=0.5"
        app = make_site(okta_settings, OKTA_TOKEN_STORE=url, OKTA_TOKEN_STORE_CACHE=False)
        browser = app.test_client()
        sign_in(browser, okta_mock_server)
        assert browser.get("/protected").status_code == 200
        answers: list = []
        with proxy.stalled():
            page = threading.Thread(target=lambda: answers.append(browser.get("/protected")), daemon=True)
            page.start()
            page.join(10)
            assert not page.is_alive(), "the page hung on a silent Redis"
        assert answers[0].status_code == 503
        assert "Retry-After" in answers[0].headers
        assert browser.get("/protected").status_code == 200  # the session was kept
    finally:
        proxy.close()


def test_a_redis_url_store_has_socket_timeouts_by_default(okta_settings, redis_url):
    from flask_okta_client.sessions.server_store import STORE_SOCKET_TIMEOUT

    store = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url).extensions["okta"].store
    options = store.redis.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == STORE_SOCKET_TIMEOUT
