"""A sign-in gets a new session id from a server-side session interface (Flask-Session over redis-server),
and a new sign-in cookie whatever the browser held before."""

from __future__ import annotations

import secrets

import flask_session
import pytest
import redis

from flask_okta_client.testing.tokens import test_subject as subject_of
from tests.lifecycle_helpers import share_cookies
from tests.site import local, make_site, sign_in, start_login


@pytest.fixture
def site(okta_settings, redis_url):
    app = make_site(okta_settings, SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(redis_url),
                    SESSION_KEY_PREFIX=f"fixation-{secrets.token_hex(4)}:")
    flask_session.Session(app)
    yield app
    app.config["SESSION_REDIS"].close()


def session_id(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def stored_sessions(app) -> set[str]:
    """The session ids this app keeps in redis."""
    prefix = app.config["SESSION_KEY_PREFIX"]
    return {key.decode()[len(prefix):] for key in app.config["SESSION_REDIS"].scan_iter(f"{prefix}*")}


def test_sign_in_takes_a_new_session_id_and_drops_the_old_one(site, okta_mock_server):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    before = session_id(client)
    assert stored_sessions(site) == {before}

    response = client.get(local(callback))

    assert response.status_code == 302
    kept = client.get_cookie("session")
    assert kept is None or kept.value != before
    assert before not in stored_sessions(site)
    assert client.get("/protected").get_data(as_text=True).startswith("protected for 00u")


@pytest.mark.parametrize("token_store", ["session", "redis"])
def test_a_planted_sign_in_cookie_is_replaced_and_not_signed_in_as_the_victim(okta_settings, okta_mock_server,
                                                                              redis_url, token_store):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url if token_store == "redis" else "session")
    attacker, victim = app.test_client(), app.test_client()
    sign_in(attacker, okta_mock_server, "mallory")
    planted = attacker.get_cookie("okta_session").value
    share_cookies(attacker, victim)

    sign_in(victim, okta_mock_server, "alice")

    assert victim.get_cookie("okta_session").value != planted
    assert victim.get("/").get_data(as_text=True) == f"home {subject_of('alice')}"
    assert attacker.get("/").get_data(as_text=True) in ("home anonymous",
                                                         f"home {subject_of('mallory')}")


def test_a_planted_session_id_is_not_signed_in_by_the_victims_sign_in(site, okta_mock_server):
    attacker = site.test_client()
    start_login(attacker)
    planted = session_id(attacker)
    victim = site.test_client()
    victim.set_cookie("session", planted)

    sign_in(victim, okta_mock_server, "alice")

    assert session_id(victim) != planted
    assert victim.get("/").get_data(as_text=True).startswith("home 00u")
    assert attacker.get("/").get_data(as_text=True) == "home anonymous"


def test_sign_in_keeps_other_session_data_under_the_new_id(site, okta_mock_server):
    client = site.test_client()
    with client.session_transaction() as session:
        session["cart"] = ["book"]
    before = session_id(client)

    sign_in(client, okta_mock_server, "alice")

    assert session_id(client) != before
    with client.session_transaction() as session:
        assert session["cart"] == ["book"]
