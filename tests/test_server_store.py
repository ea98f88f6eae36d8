"""Server-side token stores: a directory (cachelib FileSystemCache) and a real redis-server."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from flask_okta_client import OktaClient, login_required
from flask_okta_client.testing import MockClient
from tests.concurrency import run_concurrently
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    change_stored_user,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.redis_monitor import commands_during, wait_until_live
from tests.redis_server import free_port
from tests.site import csrf_token, make_site, sign_in

ROOT = Path(__file__).resolve().parent.parent


def test_directory_store_keeps_tokens_off_the_cookie(okta_settings, okta_mock_server, tmp_path):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=str(tmp_path / "tokens"))
    client = app.test_client()
    sign_in(client, okta_mock_server)
    assert len(client.get_cookie("okta_session").value) < 200
    assert client.get_cookie("session") is None
    assert client.get("/protected").status_code == 200
    assert any((tmp_path / "tokens").iterdir())


def test_sign_out_removes_the_server_side_entry(okta_settings, okta_mock_server, tmp_path):
    import re

    app = make_site(okta_settings, OKTA_TOKEN_STORE=str(tmp_path / "tokens"))
    client = app.test_client()
    sign_in(client, okta_mock_server)
    page = client.get("/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/logout", data={"csrf_token": token})
    entries = [p for p in (tmp_path / "tokens").iterdir() if not p.name.endswith(".lock")]
    assert all(p.name == "__wz_cache_count" for p in entries)


def test_redis_store_signs_in_and_keeps_only_a_handle_in_the_cookie(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    assert len(client.get_cookie("okta_session").value) < 200
    assert client.get("/protected").status_code == 200


def test_login_refresh_and_sign_out_through_one_instance_are_seen_by_another(okta_settings, okta_mock_server,
                                                                            redis_url):
    import re

    config = {"OKTA_TOKEN_STORE": redis_url, "OKTA_SCOPES": OFFLINE_SCOPES}
    instance_a, instance_b = make_site(okta_settings, **config), make_site(okta_settings, **config)
    browser_a, browser_b = instance_a.test_client(), instance_b.test_client()
    sign_in(browser_a, okta_mock_server)
    share_cookies(browser_a, browser_b)
    assert browser_b.get("/protected").status_code == 200

    expire_access_token(instance_a, browser_a)
    before = stored_user(instance_b, browser_b).access_token
    assert browser_a.get("/protected").status_code == 200  # refreshed by A
    assert stored_user(instance_b, browser_b).access_token != before

    page = browser_a.get("/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser_a.post("/logout", data={"csrf_token": token})
    assert browser_b.get("/protected").status_code == 302


def test_unreachable_redis_answers_503_for_a_signed_in_session(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    broken = make_site(okta_settings, OKTA_TOKEN_STORE=f"redis://127.0.0.1:{free_port()}/0")
    browser = broken.test_client()
    share_cookies(client, browser)
    assert browser.get("/protected").status_code == 503
    share_cookies(browser, client)  # what the browser kept after the outage
    assert client.get("/protected").status_code == 200


@pytest.fixture
def two_processes(okta_mock_server, redis_url):
    """Two app processes sharing redis, registered at the mock server; yields their origins and settings."""
    ports = [free_port(), free_port()]
    origins = [f"http://127.0.0.1:{port}" for port in ports]
    secret = secrets.token_urlsafe(24)
    client_id = f"0oa-redis-{secrets.token_hex(4)}"
    okta_mock_server.add_client(MockClient(
        client_id, secret, redirect_uris=[f"{o}/authorization-code/callback" for o in origins],
    ))
    settings = {
        "OKTA_ISSUER": okta_mock_server.issuer, "OKTA_CLIENT_ID": client_id, "OKTA_CLIENT_SECRET": secret,
        "OKTA_TOKEN_STORE": redis_url, "OKTA_SCOPES": OFFLINE_SCOPES, "OKTA_USE_PAR": "never",
    }
    env = {**os.environ, **settings, "SECRET_KEY": "shared-secret-key-0123456789abcdef", "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.served_site", str(port)], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
        for port in ports
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "READY"
        yield origins, settings
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_concurrent_requests_across_two_processes_refresh_once(okta_mock_server, two_processes):
    (origin_a, origin_b), settings = two_processes
    browser = requests.Session()
    browser.trust_env = False
    login = browser.get(f"{origin_a}/login?next=/protected", allow_redirects=False)
    callback = okta_mock_server.login(login.headers["Location"], "alice")
    assert browser.get(callback, allow_redirects=False).headers["Location"] == "/protected"
    cookie = browser.cookies.get("okta_session")

    # Age the shared entry from a third instance with the same settings.
    local_instance = make_site({k: v for k, v in settings.items()}, SECRET_KEY="shared-secret-key-0123456789abcdef")
    client = local_instance.test_client()
    client.set_cookie("okta_session", cookie)
    expire_access_token(local_instance, client)

    okta_mock_server.fail_next("token", status=None, delay=0.5)
    tokens_before = okta_mock_server.count("token")

    def visit(origin: str) -> int:
        with requests.Session() as session:
            session.trust_env = False
            session.cookies.set("okta_session", cookie)
            return session.get(f"{origin}/protected", allow_redirects=False, timeout=20).status_code

    statuses = run_concurrently([lambda origin=origin: visit(origin) for origin in [origin_a, origin_b] * 5])
    assert statuses == [200] * 10
    assert okta_mock_server.count("token") == tokens_before + 1


def test_a_sign_out_in_one_process_ends_the_copy_another_process_keeps(okta_mock_server, two_processes, redis_url):
    (origin_a, origin_b), _ = two_processes
    browser = requests.Session()
    browser.trust_env = False
    login = browser.get(f"{origin_a}/login?next=/protected", allow_redirects=False)
    browser.get(okta_mock_server.login(login.headers["Location"], "alice"), allow_redirects=False)

    def protected_on_b() -> int:
        return browser.get(f"{origin_b}/protected", allow_redirects=False, timeout=20).status_code

    deadline = time.monotonic() + 20
    while commands_during(redis_url, lambda: protected_on_b() == 200 or pytest.fail("signed out")) != []:
        assert time.monotonic() < deadline, "process B never served the sign-in from its copy"
        time.sleep(0.05)

    page = browser.get(f"{origin_a}/logout").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post(f"{origin_a}/logout", data={"csrf_token": token}, allow_redirects=False)

    assert protected_on_b() == 302


def test_expired_session_removes_the_server_side_entry(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, OKTA_SESSION_IDLE_TIMEOUT=60)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    store = app.extensions["okta"].store
    handle = client.get_cookie("okta_session").value
    change_stored_user(app, client, last_seen_at=time.time() - 61)
    assert client.get("/protected").status_code == 302
    assert store.cache.get(store.cache_key(handle)) is None


def test_redis_entries_are_sealed(okta_settings, okta_mock_server, redis_url):
    import redis

    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    user = stored_user(app, client)
    handle = client.get_cookie("okta_session").value
    keys = redis.Redis.from_url(redis_url).keys("okta:signin:*")
    raw = redis.Redis.from_url(redis_url).get("okta:" + app.extensions["okta"].store.cache_key(handle))
    assert raw is not None
    assert user.access_token.encode() not in raw
    assert user.id_token.split(".")[1].encode() not in raw
    assert not any(handle.encode() in key for key in keys)  # a listing of the keys gives no cookie away


def test_an_entry_copied_under_another_handle_does_not_sign_in_as_its_owner(okta_settings, okta_mock_server,
                                                                           redis_url):
    import redis

    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    store = app.extensions["okta"].store
    victim, attacker = app.test_client(), app.test_client()
    sign_in(victim, okta_mock_server, "alice")
    sign_in(attacker, okta_mock_server, "mallory")
    victim_page = victim.get("/").get_data(as_text=True)
    server = redis.Redis.from_url(redis_url)

    def entry_key(client) -> str:
        return "okta:" + store.cache_key(client.get_cookie("okta_session").value)

    server.set(entry_key(attacker), server.get(entry_key(victim)))

    assert attacker.get("/").get_data(as_text=True) == "home anonymous"
    assert attacker.get("/protected").status_code == 302
    assert victim.get("/").get_data(as_text=True) == victim_page


def test_signing_out_ends_every_copy_of_the_cookie(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    browser, copy = app.test_client(), app.test_client()
    sign_in(browser, okta_mock_server)
    share_cookies(browser, copy)
    assert copy.get("/protected").status_code == 200

    browser.post("/logout", data={"csrf_token": csrf_token(browser)})

    assert copy.get("/protected").status_code == 302
    assert copy.get("/").get_data(as_text=True) == "home anonymous"


def test_a_handle_of_the_wrong_shape_costs_no_store_read(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    client = app.test_client()
    client.set_cookie("okta_session", "not-a-handle")
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_a_warm_signed_in_request_costs_no_redis_round_trip_and_a_changed_entry_one(okta_settings,
                                                                                    okta_mock_server, redis_url):
    import redis

    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)

    @app.get("/about")
    def about() -> str:
        return "about us"

    client = app.test_client()
    sign_in(client, okta_mock_server)
    store = app.extensions["okta"].store
    client.get("/protected")  # the first read starts the invalidation listener
    wait_until_live(store)
    client.get("/protected")  # a copy is kept

    def commands_for(path: str) -> list[str]:
        return commands_during(redis_url, lambda: client.get(path).status_code == 200 or pytest.fail(path))

    assert commands_for("/protected") == []
    assert commands_for("/") == []
    assert commands_for("/about") == []

    server = redis.Redis.from_url(redis_url)
    name = "okta:" + store.cache_key(client.get_cookie("okta_session").value)
    server.set(name, server.get(name), keepttl=True)  # written by someone else: invalidated
    wait_until_live(store)  # the invalidation handled (one that arrives during a read keeps that read's value out)
    assert commands_for("/protected") == ["GET"]
    assert commands_for("/protected") == []


def test_signing_out_reads_the_sign_in_once(okta_settings, okta_mock_server, redis_server):
    import redis

    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_server.url, OKTA_TOKEN_STORE_CACHE=False)  # reads counted
    client = app.test_client()
    sign_in(client, okta_mock_server)
    token = csrf_token(client)
    server = redis.Redis.from_url(redis_server.url)
    server.config_resetstat()
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    stats = server.info("commandstats")
    assert {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()
            if "resetstat" not in name} == {"get": 1, "del": 1}
    assert client.get("/protected").status_code == 302


def pause_after_reading(app, monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Make ``app``'s requests stop after reading the sign-in: the first event is set when one has
    read it, and the request goes on once the second is set."""
    read, go_on = threading.Event(), threading.Event()
    store = app.extensions["okta"].store
    load = store.load

    def load_then_wait(cookie):
        user = load(cookie)
        read.set()
        go_on.wait(10)
        return user

    monkeypatch.setattr(store, "load", load_then_wait)
    return read, go_on


@pytest.mark.parametrize("store", ["redis", "directory"])
def test_rolling_the_idle_clock_never_undoes_a_refresh_stored_meanwhile(okta_settings, okta_mock_server, request,
                                                                         tmp_path, monkeypatch, store):
    """A page that read the sign-in before another instance refreshed it rolls the idle clock after:
    the old tokens must not come back (their spent refresh token would end the session)."""
    location = request.getfixturevalue("redis_url") if store == "redis" else str(tmp_path / "tokens")
    settings = {**okta_settings, "OKTA_TOKEN_STORE": location, "OKTA_SCOPES": OFFLINE_SCOPES}
    first, second = make_site(settings), make_site(settings)
    browser = first.test_client()
    sign_in(browser, okta_mock_server)
    change_stored_user(first, browser, expires_at=time.time() - 5, last_seen_at=time.time() - 120)
    other_tab = second.test_client()
    share_cookies(browser, other_tab)

    read, go_on = pause_after_reading(first, monkeypatch)
    pages = []
    page = threading.Thread(target=lambda: pages.append(browser.get("/")))  # reads the sign-in: rolls the clock
    page.start()
    assert read.wait(10)
    tokens_before = okta_mock_server.count("token")
    assert other_tab.get("/protected").status_code == 200  # the other instance refreshes meanwhile
    refreshed = stored_user(second, other_tab)
    go_on.set()
    page.join(10)

    assert pages[0].get_data(as_text=True).startswith("home 00u")
    assert stored_user(second, other_tab).refresh_token == refreshed.refresh_token
    assert browser.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == tokens_before + 1  # one refresh, never the spent token again


@pytest.mark.parametrize("store", ["redis", "directory"])
def test_keeping_an_exchanged_token_never_undoes_a_refresh_stored_meanwhile(okta_settings, okta_mock_server, request,
                                                                            tmp_path, monkeypatch, store):
    location = request.getfixturevalue("redis_url") if store == "redis" else str(tmp_path / "tokens")
    settings = {**okta_settings, "OKTA_TOKEN_STORE": location, "OKTA_SCOPES": OFFLINE_SCOPES}
    first_okta, okta = OktaClient(), OktaClient()
    first, second = make_site(settings, first_okta), make_site(settings, okta)

    @first.get("/orders")
    @first_okta.token_exchange_required(audience="api://default", scope="openid")
    def orders() -> str:
        return "orders"

    @second.post("/refresh-now")
    @login_required
    def refresh_now() -> str:
        okta.refresh()
        return "refreshed"

    browser = first.test_client()
    sign_in(browser, okta_mock_server)
    other_tab = second.test_client()
    share_cookies(browser, other_tab)
    read, go_on = pause_after_reading(first, monkeypatch)
    pages = []
    page = threading.Thread(target=lambda: pages.append(browser.get("/orders")))
    page.start()
    assert read.wait(10)
    assert other_tab.post("/refresh-now").status_code == 200  # the other instance refreshes meanwhile
    refreshed = stored_user(second, other_tab)
    go_on.set()
    page.join(10)

    assert pages[0].get_data(as_text=True) == "orders"
    assert stored_user(second, other_tab).refresh_token == refreshed.refresh_token
