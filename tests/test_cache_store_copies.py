"""A cachelib RedisCache the app made, given as OKTA_TOKEN_STORE: copies of its entries in each process too."""

from __future__ import annotations

import pytest
import redis
from cachelib import RedisCache

from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.redis_monitor import commands_during, wait_until_live
from tests.site import csrf_token, make_site, sign_in


def cache_site(okta_settings, cache):
    return make_site(okta_settings, OKTA_TOKEN_STORE=cache, OKTA_SCOPES=OFFLINE_SCOPES)


def test_a_redis_cache_of_the_app_keeps_copies_current_under_its_prefix(okta_settings, okta_mock_server, redis_url):
    """Its key_prefix is honoured: copies are of ``myapp:signin:`` keys, and a change there by another
    instance (a refresh, a sign-out) reaches the copy; a warm request costs no round trip."""
    instance_a = cache_site(okta_settings, RedisCache(host=redis.Redis.from_url(redis_url), key_prefix="myapp:"))
    instance_b = cache_site(okta_settings, RedisCache(host=redis.Redis.from_url(redis_url), key_prefix="myapp:"))
    browser_a, browser_b = instance_a.test_client(), instance_b.test_client()
    sign_in(browser_a, okta_mock_server)
    share_cookies(browser_a, browser_b)
    assert browser_b.get("/protected").status_code == 200  # starts B's listener
    wait_until_live(instance_b.extensions["okta"].store)
    assert browser_b.get("/protected").status_code == 200  # B keeps a copy
    assert commands_during(redis_url, lambda: browser_b.get("/protected").status_code == 200 or pytest.fail()) == []

    before = stored_user(instance_b, browser_b).access_token
    expire_access_token(instance_a, browser_a)
    assert browser_a.get("/protected").status_code == 200  # refreshed by A
    assert stored_user(instance_b, browser_b).access_token != before

    browser_a.post("/logout", data={"csrf_token": csrf_token(browser_a)})
    assert browser_b.get("/protected").status_code == 302


@pytest.mark.parametrize("reason", ["a replica client for reads", "a callable key prefix"])
def test_a_redis_cache_whose_reads_invalidations_cannot_cover_keeps_no_copies(okta_settings, redis_url, reason):
    cache = RedisCache(host=redis.Redis.from_url(redis_url), key_prefix="myapp:")
    if reason == "a replica client for reads":
        cache._read_client = redis.Redis.from_url(redis_url)
    else:
        cache.key_prefix = lambda: "myapp:"
    assert cache_site(okta_settings, cache).extensions["okta"].store.copies is None


def test_turning_copies_off_holds_for_a_redis_cache_of_the_app(okta_settings, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=RedisCache(host=redis.Redis.from_url(redis_url)),
                    OKTA_TOKEN_STORE_CACHE=False)
    assert app.extensions["okta"].store.copies is None


def test_a_callable_key_prefix_is_called_for_every_key_the_store_names_itself(okta_settings, okta_mock_server,
                                                                             redis_url):
    """Refresh writes, locks and logout indexes name Redis keys directly: under the prefix cachelib uses."""
    from tests.redis_monitor import keys_named_during

    app = make_site(okta_settings, OKTA_TOKEN_STORE=RedisCache(host=redis.Redis.from_url(redis_url),
                                                               key_prefix=lambda: "tenant:"),
                    OKTA_SCOPES=OFFLINE_SCOPES, OKTA_BACKCHANNEL_LOGOUT=True)
    browser = app.test_client()

    def sign_in_and_refresh() -> None:
        sign_in(browser, okta_mock_server)
        expire_access_token(app, browser)
        before = stored_user(app, browser).access_token
        assert browser.get("/protected").status_code == 200
        assert stored_user(app, browser).access_token != before  # the refresh was stored where it is read

    keys = keys_named_during(redis_url, sign_in_and_refresh)
    assert any(key.startswith("tenant:signin:") for key in keys)
    assert [key for key in keys if not key.startswith("tenant:")] == []
