"""`valkey://` URLs (README, Configuration: OKTA_TOKEN_STORE and OKTA_LOGOUT_CACHE) work as `redis://` ones do,
copies of entries included; checked against a real redis-server, which speaks the same protocol."""

from __future__ import annotations

from tests.lifecycle_helpers import change_stored_user
from tests.redis_monitor import commands_during, wait_until_live
from tests.site import make_site, sign_in
from tests.test_backchannel_logout import (
    ENABLED,
    logout_token,
    post_logout,
    signed_in_as,
)


def valkey(url: str) -> str:
    return url.replace("redis://", "valkey://", 1)


def test_a_valkey_url_token_store_keeps_sign_ins_and_copies_of_them(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=valkey(redis_url))
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    browser.get("/protected")  # the first read starts the invalidation listener
    store = app.extensions["okta"].store
    wait_until_live(store)
    browser.get("/protected")
    assert commands_during(redis_url, lambda: browser.get("/protected")) == []  # served from the copy
    change_stored_user(app, browser, userinfo={"name": "Alice"})
    wait_until_live(store)
    assert commands_during(redis_url, lambda: browser.get("/protected")) == ["GET"]  # read from Redis


def test_a_valkey_url_logout_cache_shares_logouts(okta_settings, okta_mock_server, redis_url):
    okta_mock_server.set_user("alice", sid="sid-alice")
    a, b = (make_site(okta_settings, OKTA_LOGOUT_CACHE=valkey(redis_url), **ENABLED) for _ in range(2))
    browser = a.test_client()
    sign_in(browser, okta_mock_server, "alice")
    assert post_logout(b, logout_token(okta_mock_server, sid="sid-alice")).status_code == 200
    assert signed_in_as(browser) == "home anonymous"
