"""POST /backchannel-logout: the provider ends sign-ins, on every instance sharing the store."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from flask import Flask

from flask_okta_client import signals
from flask_okta_client.testing import MockOktaServer
from flask_okta_client.testing.tokens import TEST_CLIENT_ID, TestTokens
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    change_stored_user,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.redis_monitor import commands_during, keys_named_during, wait_until_live
from tests.site import csrf_token, make_site, sign_in

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ENABLED = {"OKTA_BACKCHANNEL_LOGOUT": True}


def logout_token(server: MockOktaServer, **claims: Any) -> str:
    """A logout token signed by the mock server; ``None`` values leave a claim out."""
    now = int(time.time())
    payload = {"iss": server.issuer, "aud": TEST_CLIENT_ID, "iat": now, "exp": now + 120,
               "jti": secrets.token_urlsafe(12), "events": {LOGOUT_EVENT: {}}, **claims}
    return server.sign({k: v for k, v in payload.items() if v is not None}, {"typ": "logout+jwt"})


def post_logout(app: Flask, token: str, **headers: str) -> Any:
    return app.test_client().post("/backchannel-logout", data={"logout_token": token}, headers=headers)


def signed_in_as(client: Any) -> str:
    return client.get("/").get_data(as_text=True)


@pytest.fixture
def server(okta_mock_server):
    okta_mock_server.set_user("alice", sid="sid-alice")
    okta_mock_server.set_user("bob", sid="sid-bob")
    return okta_mock_server


def alice_sub(app: Flask, client: Any) -> str:
    return signed_in_as(client).removeprefix("home ")


def test_route_is_off_unless_enabled(okta_settings, server):
    app = make_site(okta_settings)
    assert post_logout(app, logout_token(server, sid="sid-alice")).status_code == 404


def test_logout_by_sid_ends_that_sign_in_only(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, server, "alice")
    sign_in(bob, server, "bob")
    response = post_logout(app, logout_token(server, sid="sid-alice"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert signed_in_as(alice) == "home anonymous"
    assert alice.get("/protected").status_code == 302
    assert signed_in_as(bob).startswith("home 00u")


def test_logout_by_sub_ends_every_sign_in_of_that_user(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    laptop, phone, bob = app.test_client(), app.test_client(), app.test_client()
    sign_in(laptop, server, "alice")
    sign_in(phone, server, "alice")
    sign_in(bob, server, "bob")
    sub = alice_sub(app, laptop)
    assert post_logout(app, logout_token(server, sub=sub)).status_code == 200
    assert signed_in_as(laptop) == signed_in_as(phone) == "home anonymous"
    assert signed_in_as(bob) != "home anonymous"


def test_a_sign_in_after_the_logout_is_kept(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    client = app.test_client()
    sign_in(client, server, "alice")
    assert post_logout(app, logout_token(server, sid="sid-alice")).status_code == 200
    sign_in(client, server, "alice")
    assert signed_in_as(client) != "home anonymous"


def test_an_unknown_session_is_answered_200(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    client = app.test_client()
    sign_in(client, server, "alice")
    assert post_logout(app, logout_token(server, sid="sid-nobody", sub="00unobody")).status_code == 200
    assert signed_in_as(client) != "home anonymous"


def test_a_replayed_token_is_refused(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    token = logout_token(server, sid="sid-alice")
    assert post_logout(app, token).status_code == 200
    replay = post_logout(app, token)
    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_token"


def test_signal_names_sub_and_sid(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    received = []
    with signals.backchannel_logout.connected_to(lambda sender, **kw: received.append(kw), app):
        post_logout(app, logout_token(server, sid="sid-alice", sub="00ualice"))
    assert received == [{"sub": "00ualice", "sid": "sid-alice"}]


@pytest.mark.parametrize("data", [{}, {"logout_token": ""}, {"logout_token": ["a.b.c", "d.e.f"]}])
def test_a_request_without_one_logout_token_is_refused(okta_settings, server, data):
    app = make_site(okta_settings, **ENABLED)
    response = app.test_client().post("/backchannel-logout", data=data, headers={"Accept": "text/html"},
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request",
                                   "error_description": "The logout request needs exactly one logout_token."}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_json_body_is_refused(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    response = app.test_client().post("/backchannel-logout", json={"logout_token": logout_token(server, sid="x")})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("claims", [
    {"sid": "sid-alice", "nonce": "abc"},
    {"sid": "sid-alice", "events": None},
    {"sid": "sid-alice", "aud": "another-client"},
    {"sid": "sid-alice", "jti": None},
    {"sid": None, "sub": None},
])
def test_an_invalid_token_is_refused_and_ends_nothing(okta_settings, server, claims):
    app = make_site(okta_settings, **ENABLED)
    client = app.test_client()
    sign_in(client, server, "alice")
    response = post_logout(app, logout_token(server, **claims))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_token"
    assert signed_in_as(client) != "home anonymous"


def test_a_token_with_a_broken_signature_is_refused(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    header, payload, signature = logout_token(server, sid="sid-alice").split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert post_logout(app, forged).get_json()["error"] == "invalid_token"


def test_the_provider_keys_unreachable_is_answered_503(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    server.fail_next("keys", status=503, times=5)
    response = post_logout(app, logout_token(server, sid="sid-alice"))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"] == "temporarily_unavailable"


def test_the_route_follows_the_configured_path_and_prefix(okta_settings, server):
    app = make_site(okta_settings, OKTA_BACKCHANNEL_LOGOUT_PATH="/oidc/bcl", OKTA_URL_PREFIX="/auth", **ENABLED)
    response = app.test_client().post("/auth/oidc/bcl", data={"logout_token": logout_token(server, sid="s")})
    assert response.status_code == 200


# -- several instances ------------------------------------------------------


def instances(settings: dict[str, Any], **config: Any) -> tuple[Flask, Flask]:
    """Two apps with the same secret and store, as two processes of one site."""
    return make_site(settings, **ENABLED, **config), make_site(settings, **ENABLED, **config)


def test_redis_store_logout_on_one_instance_ends_the_sign_in_on_the_other(okta_settings, server, redis_url):
    a, b = instances(okta_settings, OKTA_TOKEN_STORE=redis_url)
    browser = a.test_client()
    sign_in(browser, server, "alice")
    on_b = b.test_client()
    on_b.set_cookie("okta_session", browser.get_cookie("okta_session").value)
    assert signed_in_as(on_b) != "home anonymous"
    assert post_logout(b, logout_token(server, sid="sid-alice")).status_code == 200
    assert signed_in_as(on_b) == "home anonymous"
    assert signed_in_as(browser) == "home anonymous"


def test_redis_store_logout_ends_the_copies_both_instances_keep(okta_settings, server, redis_url):
    a, b = instances(okta_settings, OKTA_TOKEN_STORE=redis_url)
    browser, on_b = a.test_client(), b.test_client()
    sign_in(browser, server, "alice")
    share_cookies(browser, on_b)
    for app, client in ((a, browser), (b, on_b)):
        signed_in_as(client)  # starts the instance's invalidation listener
        wait_until_live(app.extensions["okta"].store)
        signed_in_as(client)  # a copy is kept
        assert commands_during(redis_url, lambda client=client: signed_in_as(client)) == []  # served by it

    assert post_logout(a, logout_token(server, sid="sid-alice")).status_code == 200

    assert signed_in_as(on_b) == "home anonymous"
    assert signed_in_as(browser) == "home anonymous"


def test_redis_store_refuses_a_token_replayed_to_another_instance(okta_settings, server, redis_url):
    a, b = instances(okta_settings, OKTA_TOKEN_STORE=redis_url)
    token = logout_token(server, sid="sid-alice")
    assert post_logout(a, token).status_code == 200
    assert post_logout(b, token).status_code == 400


def test_redis_store_a_signed_in_request_costs_no_round_trip_when_warm_and_one_when_changed(okta_settings, server,
                                                                                          redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, **ENABLED)
    browser = app.test_client()
    sign_in(browser, server, "alice")
    store = app.extensions["okta"].store
    browser.get("/")  # the first read starts the invalidation listener
    wait_until_live(store)
    browser.get("/")

    def commands_for_protected_page() -> list[str]:
        return commands_during(redis_url, lambda: browser.get("/protected"))

    assert commands_for_protected_page() == []
    change_stored_user(app, browser, userinfo={"name": "Alice"})  # this instance's own write drops its copy
    wait_until_live(store)  # Redis' invalidation of that write handled too
    assert commands_for_protected_page() == ["GET"]
    assert commands_for_protected_page() == []


def test_directory_store_logout_ends_the_sign_in(okta_settings, server, tmp_path):
    a, b = instances(okta_settings, OKTA_TOKEN_STORE=str(tmp_path / "tokens"))
    browser = a.test_client()
    sign_in(browser, server, "alice")
    assert post_logout(b, logout_token(server, sub=alice_sub(a, browser))).status_code == 200
    assert signed_in_as(browser) == "home anonymous"


def test_cookie_store_shares_logouts_through_a_configured_cache(okta_settings, server, redis_url):
    a, b = instances(okta_settings, OKTA_LOGOUT_CACHE=redis_url)
    browser = a.test_client()
    sign_in(browser, server, "alice")
    assert post_logout(b, logout_token(server, sid="sid-alice")).status_code == 200
    assert signed_in_as(browser) == "home anonymous"


def test_cookie_store_without_a_shared_cache_ends_sign_ins_of_the_same_process_only(okta_settings, server):
    a, b = instances(okta_settings)
    browser = a.test_client()
    sign_in(browser, server, "alice")
    assert post_logout(b, logout_token(server, sid="sid-alice")).status_code == 200
    assert signed_in_as(browser) != "home anonymous"  # documented: memory is per process
    assert post_logout(a, logout_token(server, sid="sid-alice")).status_code == 200
    assert signed_in_as(browser) == "home anonymous"


def test_an_unreachable_logout_cache_is_answered_503(okta_settings, server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_site(okta_settings, OKTA_LOGOUT_CACHE=f"redis://127.0.0.1:{port}/0", **ENABLED)
    response = post_logout(app, logout_token(server, sid="sid-alice"))
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"


# -- sign-out on this site, and test sign-ins ----------------------------------


def sign_out(client: Any) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302


def test_cookie_store_sign_out_ends_copies_of_the_cookie_when_logouts_are_tracked(okta_settings, server):
    app = make_site(okta_settings, **ENABLED)
    browser, copy, later = app.test_client(), app.test_client(), app.test_client()
    sign_in(browser, server, "alice")
    share_cookies(browser, copy)
    sign_in(later, server, "alice")  # another sign-in of the same user, in another browser
    sign_out(browser)
    assert signed_in_as(copy) == "home anonymous"
    assert signed_in_as(later) != "home anonymous"


def test_cookie_store_sign_out_ends_copies_on_instances_sharing_the_logout_cache(okta_settings, server, redis_url):
    a, b = instances(okta_settings, OKTA_LOGOUT_CACHE=redis_url)
    browser, copy_on_b = a.test_client(), b.test_client()
    sign_in(browser, server, "alice")
    share_cookies(browser, copy_on_b)
    assert signed_in_as(copy_on_b) != "home anonymous"
    sign_out(browser)
    assert signed_in_as(copy_on_b) == "home anonymous"


def test_sign_ins_made_by_the_testing_fixture_are_ended_too(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, **ENABLED)
    client = app.test_client()
    user = TestTokens(okta_mock_server).sign_in(client, "carol")
    assert signed_in_as(client) == f"home {user.sub}"
    assert post_logout(app, logout_token(okta_mock_server, sub=user.sub)).status_code == 200
    assert signed_in_as(client) == "home anonymous"


def test_an_in_process_logout_record_is_pointed_out_at_start(okta_settings, server, redis_url, caplog):
    with caplog.at_level("WARNING", logger="flask_okta_client"):
        make_site(okta_settings, **ENABLED)
    assert "set OKTA_LOGOUT_CACHE" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="flask_okta_client"):
        make_site(okta_settings, OKTA_LOGOUT_CACHE=redis_url, **ENABLED)
        make_site(okta_settings, OKTA_TOKEN_STORE=redis_url, **ENABLED)
        make_site(okta_settings)
    assert "OKTA_LOGOUT_CACHE" not in caplog.text


@pytest.mark.parametrize("store", ["redis", "directory"])
def test_a_write_back_racing_the_logout_does_not_bring_the_sign_in_back(okta_settings, server, redis_url,
                                                                         tmp_path, store):
    from flask_okta_client.sessions.cookie import SignInCookie

    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url if store == "redis" else str(tmp_path), **ENABLED)
    browser = app.test_client()
    sign_in(browser, server, "alice")
    state = app.extensions["okta"]
    in_flight = SignInCookie(browser.get_cookie(state.cookie.name).value)
    with app.test_request_context():
        user = state.store.load(in_flight)  # a request on another instance has read the sign-in…
        assert post_logout(app, logout_token(server, sid="sid-alice")).status_code == 200
        state.store.save(in_flight, user.touched(time.time()))  # …and writes its idle clock back
    assert signed_in_as(browser) == "home anonymous"


def test_a_redis_cache_of_the_apps_own_keeps_every_key_under_its_prefix(okta_settings, server, redis_server):
    """Sign-in, its logout index, a refresh under the refresh lock and a back-channel logout
    all keep their keys under the prefix of the cache the app gave as its token store."""
    import redis
    from cachelib import RedisCache

    cache = RedisCache(host=redis.Redis.from_url(redis_server.url), key_prefix="myapp:")
    app = make_site(okta_settings, OKTA_TOKEN_STORE=cache, OKTA_SCOPES=OFFLINE_SCOPES, **ENABLED)
    browser = app.test_client()

    def sign_in_refresh_and_log_out() -> None:
        sign_in(browser, server, "alice")
        expire_access_token(app, browser)
        before = stored_user(app, browser)
        assert browser.get("/protected").status_code == 200
        assert stored_user(app, browser).access_token != before.access_token  # refreshed
        assert post_logout(app, logout_token(server, sid="sid-alice")).status_code == 200
        assert signed_in_as(browser) == "home anonymous"

    keys = keys_named_during(redis_server.url, sign_in_refresh_and_log_out)
    assert any(key.startswith("myapp:signin:") for key in keys)
    assert [key for key in keys if not key.startswith("myapp:")] == []


def test_a_logout_answered_503_because_the_store_was_down_succeeds_when_delivered_again(
        okta_settings, server, redis_url, redis_server):
    """The jti is not kept as used when the logout did not happen (the logout cache up, the token store down)."""
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_server.url, OKTA_LOGOUT_CACHE=redis_url, **ENABLED)
    browser = app.test_client()
    sign_in(browser, server, "alice")
    token = logout_token(server, sid="sid-alice")
    redis_server.stop()
    answer = post_logout(app, token)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    redis_server.start()
    assert signed_in_as(browser) != "home anonymous"  # the logout did not happen
    assert post_logout(app, token).status_code == 200
    assert signed_in_as(browser) == "home anonymous"
    assert post_logout(app, token).status_code == 400  # now it is a replay


def test_cookie_store_with_a_shared_logout_cache_costs_one_redis_read_per_request_that_reads_the_sign_in(
        okta_settings, server, redis_url):
    app = make_site(okta_settings, OKTA_LOGOUT_CACHE=redis_url, **ENABLED)

    @app.get("/plain")
    def plain() -> str:
        return "does not read the sign-in"

    browser = app.test_client()
    sign_in(browser, server, "alice")
    browser.get("/protected")
    read = commands_during(redis_url, lambda: browser.get("/protected"))
    assert len(read) == 1 and read[0] in ("GET", "MGET", "EXISTS"), read
    assert commands_during(redis_url, lambda: browser.get("/plain")) == []
