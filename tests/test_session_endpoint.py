"""The session endpoint for same-origin front ends: who is signed in, allowed claims, fresh tokens, CSRF."""

from __future__ import annotations

import json

import pytest
from jose import jwt as jose_jwt

from flask_okta_client import signals
from flask_okta_client.errors import ConfigError
from tests.concurrency import run_concurrently
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    change_stored_user,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.site import make_site, sign_in

PATH = "/auth/session"
FRONT_END = {"X-Requested-With": "fetch", "Sec-Fetch-Site": "same-origin"}
TOKENS = {"api": "access_token", "orders": {"audience": "api://orders", "scope": "openid"}}


def session_site(okta_settings, **config):
    settings = {"OKTA_SESSION_ENDPOINT": PATH, "OKTA_SCOPES": OFFLINE_SCOPES, "OKTA_SESSION_ENDPOINT_TOKENS": TOKENS}
    return make_site(okta_settings, **{**settings, **config})


@pytest.fixture
def signed_in(okta_settings, okta_mock_server):
    app = session_site(okta_settings)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    return app, client


def ask(client, *, method: str = "GET", headers: dict | None = None, **query: str):
    return client.open(PATH, method=method, headers=FRONT_END if headers is None else headers, query_string=query)


def test_the_endpoint_is_off_unless_configured(okta_settings):
    assert make_site(okta_settings).test_client().get(PATH, headers=FRONT_END).status_code == 404


def test_an_anonymous_visitor_is_told_so_with_the_sign_in_url(okta_settings):
    response = ask(session_site(okta_settings).test_client())
    assert response.status_code == 200
    assert response.json == {"authenticated": False, "login_url": "/login"}
    assert response.headers["Cache-Control"] == "no-store"


def test_app_wide_protection_leaves_the_endpoint_open_to_anonymous_visitors(okta_settings):
    response = ask(session_site(okta_settings, OKTA_REQUIRE_LOGIN=True).test_client())
    assert response.status_code == 200 and response.json["authenticated"] is False


def test_a_signed_in_user_sees_only_the_allowed_claims(signed_in):
    app, client = signed_in
    response = ask(client)
    assert response.status_code == 200
    assert response.json["authenticated"] is True
    claims = stored_user(app, client).claims
    assert response.json["claims"] == {k: claims[k] for k in ("sub", "name", "email", "groups") if k in claims}
    assert "nonce" in claims and "nonce" not in response.json["claims"]
    assert "token" not in response.json and "access_token" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_claims_allowlist_is_configurable(okta_settings, okta_mock_server):
    client = session_site(okta_settings, OKTA_SESSION_ENDPOINT_CLAIMS="sub iss").test_client()
    sign_in(client, okta_mock_server)
    assert set(ask(client).json["claims"]) == {"sub", "iss"}


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},  # no CSRF header
    {"X-Requested-With": "fetch", "Sec-Fetch-Site": "cross-site"},
    {"X-Requested-With": "fetch", "Sec-Fetch-Site": "same-site"},  # another port or subdomain
    {"X-Requested-With": "fetch", "Origin": "http://evil.example"},
    {"X-Requested-With": "fetch", "Origin": "http://localhost:8080"},
    {"X-Requested-With": "fetch", "Origin": "null"},
    {"X-Requested-With": "", "Sec-Fetch-Site": "same-origin"},
], ids=["no-csrf-header", "cross-site", "same-site", "foreign-origin", "other-port", "null-origin", "empty-header"])
def test_requests_from_other_origins_or_without_the_csrf_header_are_refused(signed_in, headers):
    app, client = signed_in
    for method in ("GET", "POST"):
        response = ask(client, method=method, headers=headers, token="api")
        assert response.status_code == 403
        assert response.json["error"] == "cross_origin_request"
        assert response.headers["Cache-Control"] == "no-store"
        assert "access_token" not in response.json


def test_this_sites_own_origin_and_typed_in_requests_are_accepted(signed_in):
    app, client = signed_in
    assert ask(client, headers={"X-Requested-With": "x", "Origin": "http://localhost"}).status_code == 200
    assert ask(client, headers={"X-Requested-With": "x", "Sec-Fetch-Site": "none"}).status_code == 200
    assert ask(client, headers={"X-Requested-With": "x"}).status_code == 200  # an older browser: neither header


def test_the_users_own_access_token_is_handed_out_with_its_expiry(signed_in):
    app, client = signed_in
    stored = stored_user(app, client)
    response = ask(client, token="api")
    assert response.status_code == 200
    assert response.json["token"] == {"name": "api", "access_token": stored.access_token, "token_type": "Bearer",
                                      "expires_at": int(stored.expires_at), "scope": stored.scope}
    assert type(response.json["token"]["expires_at"]) is int  # Unix time in whole seconds, as README shows
    assert response.headers["Cache-Control"] == "no-store"


def test_a_due_access_token_is_refreshed_before_it_is_handed_out(signed_in, okta_mock_server):
    app, client = signed_in
    before = stored_user(app, client)
    expire_access_token(app, client)
    refreshes = okta_mock_server.count("token")
    token = ask(client, token="api").json["token"]
    assert okta_mock_server.count("token") == refreshes + 1
    assert token["access_token"] != before.access_token
    refreshed = stored_user(app, client)
    assert token["access_token"] == refreshed.access_token
    assert token["expires_at"] == int(refreshed.expires_at) and refreshed.expires_at > before.expires_at


def test_post_refreshes_on_demand(signed_in, okta_mock_server):
    app, client = signed_in
    before = stored_user(app, client)
    response = ask(client, method="POST", token="api")
    assert response.status_code == 200
    assert response.json["token"]["access_token"] not in (before.access_token, None)
    assert stored_user(app, client).refresh_token != before.refresh_token  # the refresh token rotated


def test_concurrent_token_requests_of_one_session_make_one_refresh(signed_in, okta_mock_server):
    app, client = signed_in
    expire_access_token(app, client)
    tabs = []
    for _ in range(6):
        tab = app.test_client()
        share_cookies(client, tab)
        tabs.append(tab)
    okta_mock_server.fail_next("token", status=None, delay=0.3)  # keep the first refresh in flight
    refreshes = okta_mock_server.count("token")
    answers = run_concurrently([lambda t=t: ask(t, token="api") for t in tabs])
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.json["token"]["access_token"] for a in answers}) == 1
    assert okta_mock_server.count("token") == refreshes + 1


def test_an_exchanged_token_is_handed_out_for_a_named_audience(signed_in, okta_mock_server):
    app, client = signed_in
    token = ask(client, token="orders").json["token"]
    assert token["name"] == "orders" and token["token_type"] == "Bearer"
    assert jose_jwt.get_unverified_claims(token["access_token"])["aud"] == "api://orders"
    assert type(token["expires_at"]) is int
    assert ask(client, token="orders").json["token"]["access_token"] == token["access_token"]  # cached per session


@pytest.mark.parametrize("name", ["api", "orders"])
def test_a_dpop_bound_token_is_handed_out_as_dpop(okta_settings, okta_mock_server, name):
    app = session_site(okta_settings, OKTA_DPOP=True)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    token = ask(client, token=name).json["token"]
    assert token["token_type"] == "DPoP"
    assert jose_jwt.get_unverified_claims(token["access_token"])["cnf"]["jkt"]


def test_an_unknown_token_name_is_404_and_an_anonymous_token_request_401(okta_settings, signed_in):
    app, client = signed_in
    response = ask(client, token="admin")
    assert response.status_code == 404 and response.json["error"] == "unknown_token"
    anonymous = ask(session_site(okta_settings).test_client(), token="api")
    assert anonymous.status_code == 401 and anonymous.headers["Cache-Control"] == "no-store"


def test_a_refused_refresh_signs_out_and_answers_401(signed_in, okta_mock_server):
    app, client = signed_in
    okta_mock_server.fail_next("token", status=400, body='{"error": "invalid_grant"}')
    failures = []
    with signals.refresh_failed.connected_to(lambda sender, error: failures.append(error.error), app):
        response = ask(client, method="POST", token="api")
    assert failures == ["session_ended"]
    assert response.status_code == 401
    assert response.json["error"] == "session_ended"
    assert ask(client).json["authenticated"] is False


def test_a_provider_outage_during_a_refresh_answers_503_and_keeps_the_session(signed_in, okta_mock_server):
    app, client = signed_in
    before = stored_user(app, client)
    okta_mock_server.fail_next("token", status=503)
    response = ask(client, method="POST", token="api")
    assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
    assert stored_user(app, client).refresh_token == before.refresh_token
    assert ask(client).json["authenticated"] is True


@pytest.mark.parametrize("value, message", [
    ("not json", "JSON object"),
    ({"a b": "access_token"}, "token names"),
    ({"api": "id_token"}, "access_token"),
    ({"api": {"scope": "x"}}, "audience"),
    ({"api": {"audience": "api://x", "extra": 1}}, "audience"),
])
def test_bad_token_settings_fail_at_start_up(okta_settings, value, message):
    with pytest.raises(ConfigError, match=message):
        session_site(okta_settings, OKTA_SESSION_ENDPOINT_TOKENS=value)


def test_token_settings_may_come_as_json_text(okta_settings, okta_mock_server):
    client = session_site(okta_settings, OKTA_SESSION_ENDPOINT_TOKENS=json.dumps({"mine": "access_token"})).test_client()
    sign_in(client, okta_mock_server)
    assert ask(client, token="mine").json["token"]["name"] == "mine"


def test_polling_the_endpoint_keeps_the_idle_timeout_from_running_out(okta_settings, okta_mock_server):
    app = session_site(okta_settings, OKTA_SESSION_IDLE_TIMEOUT=600)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    for _ in range(3):  # three polls, each after 500 of the 600 idle seconds
        change_stored_user(app, client, last_seen_at=stored_user(app, client).last_seen_at - 500)
        assert ask(client).json["authenticated"] is True
    assert client.get("/protected").status_code == 200


def test_asking_for_two_tokens_at_once_is_a_bad_request(signed_in):
    app, client = signed_in
    response = client.get(PATH, headers=FRONT_END, query_string=[("token", "api"), ("token", "orders")])
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"
