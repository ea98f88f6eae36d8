"""Refresh before the view, single flight, session timeouts and the encrypted session store."""

from __future__ import annotations

import base64
import logging
import secrets
import time

import pytest

from flask_okta_client import signals
from flask_okta_client.sessions.storage import SignedInUser
from flask_okta_client.testing.tokens import store_sign_in
from tests.concurrency import run_concurrently
from tests.lifecycle_helpers import (
    OFFLINE_SCOPES,
    change_stored_user,
    expire_access_token,
    share_cookies,
    stored_user,
)
from tests.site import make_site, sign_in


def offline_site(okta_settings, **config):
    return make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES, **config)


@pytest.fixture
def offline_session(okta_settings, okta_mock_server):
    """A site asking for offline_access, and a browser signed in to it (with a refresh token)."""
    app = offline_site(okta_settings)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    return app, client


def test_sign_in_with_offline_access_keeps_a_refresh_token(offline_session):
    app, client = offline_session
    assert stored_user(app, client).refresh_token


def test_expired_access_token_is_refreshed_before_the_view(offline_session, okta_mock_server):
    app, client = offline_session
    before = stored_user(app, client)
    expire_access_token(app, client)
    tokens_before = okta_mock_server.count("token")
    assert client.get("/protected").status_code == 200
    after = stored_user(app, client)
    assert okta_mock_server.count("token") == tokens_before + 1
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # rotated
    assert after.expires_at > time.time() + 3000


def test_fresh_access_token_is_not_refreshed(offline_session, okta_mock_server):
    app, client = offline_session
    tokens_before = okta_mock_server.count("token")
    client.get("/protected")
    assert okta_mock_server.count("token") == tokens_before


def test_token_due_within_the_leeway_is_refreshed(okta_settings, okta_mock_server):
    app = offline_site(okta_settings, OKTA_REFRESH_LEEWAY=120)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    change_stored_user(app, client, expires_at=time.time() + 90)
    tokens_before = okta_mock_server.count("token")
    client.get("/protected")
    assert okta_mock_server.count("token") == tokens_before + 1


def test_concurrent_requests_of_one_session_refresh_once(offline_session, okta_mock_server):
    app, client = offline_session
    expire_access_token(app, client)
    browsers = []
    for _ in range(8):
        browser = app.test_client()
        share_cookies(client, browser)
        browsers.append(browser)
    okta_mock_server.fail_next("token", status=None, delay=0.3)  # keep the first refresh in flight
    tokens_before = okta_mock_server.count("token")
    statuses = run_concurrently([lambda b=b: b.get("/protected").status_code for b in browsers])
    assert statuses == [200] * 8
    assert okta_mock_server.count("token") == tokens_before + 1


def test_refresh_refused_ends_the_session_and_returns_to_sign_in(offline_session, okta_mock_server):
    app, client = offline_session
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=400, body='{"error": "invalid_grant"}')
    failures = []
    with signals.refresh_failed.connected_to(lambda sender, error: failures.append(error.error), app):
        response = client.get("/protected?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/protected?x%3D1"
    assert stored_user(app, client) is None
    assert failures == ["session_ended"]


def test_refresh_refused_for_an_api_request_is_401(offline_session, okta_mock_server):
    app, client = offline_session
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=400, body='{"error": "invalid_grant"}')
    response = client.get("/protected", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_replayed_refresh_token_revokes_the_family_and_ends_the_session(offline_session):
    app, client = offline_session
    stale = app.test_client()
    share_cookies(client, stale)
    expire_access_token(app, client)
    client.get("/protected")  # rotates the refresh token
    expire_access_token(app, stale)
    app.extensions["okta"].lifecycle.refreshes = type(app.extensions["okta"].lifecycle.refreshes)()  # forget shared results
    assert stale.get("/protected").status_code == 302


def test_provider_outage_during_refresh_answers_503_and_keeps_the_session(offline_session, okta_mock_server):
    app, client = offline_session
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=503)
    assert client.get("/protected").status_code == 503
    assert stored_user(app, client) is not None
    assert client.get("/protected").status_code == 200


def test_refreshed_id_token_for_another_subject_ends_the_session(okta_settings, okta_mock_server):
    app = offline_site(okta_settings)
    client = app.test_client()
    sign_in(client, okta_mock_server, "alice")
    change_stored_user(app, client, expires_at=time.time() - 5,
                       id_token=stored_user(app, client).id_token)
    user = stored_user(app, client)
    forged = okta_mock_server.sign({**user.claims, "sub": "00u-somebody-else"})
    change_stored_user(app, client, id_token=forged)
    assert client.get("/protected").status_code == 302
    assert stored_user(app, client) is None


def test_okta_refresh_forces_a_refresh(okta_settings, okta_mock_server):
    app = offline_site(okta_settings)
    okta = app.extensions["okta"]

    @app.get("/force")
    def force():
        from flask_okta_client.web.user import current_user

        before = current_user.access_token
        okta.refresh_current_user(force=True)
        return "changed" if current_user.access_token != before else "same"

    client = app.test_client()
    sign_in(client, okta_mock_server)
    assert client.get("/force").get_data(as_text=True) == "changed"


def test_idle_session_expires(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_SESSION_IDLE_TIMEOUT=60)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    change_stored_user(app, client, last_seen_at=time.time() - 61)
    assert client.get("/protected").status_code == 302
    assert stored_user(app, client) is None


def test_activity_keeps_an_idle_timeout_rolling(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_SESSION_IDLE_TIMEOUT=600)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    change_stored_user(app, client, last_seen_at=time.time() - 500)
    assert client.get("/").get_data(as_text=True).startswith("home 00u")
    assert stored_user(app, client).last_seen_at > time.time() - 5


def test_absolute_timeout_ends_even_an_active_session(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_SESSION_ABSOLUTE_TIMEOUT=3600)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    change_stored_user(app, client, signed_in_at=time.time() - 3601, last_seen_at=time.time())
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_sign_in_cookie_does_not_reveal_tokens(okta_settings, okta_mock_server):
    app = make_site(okta_settings)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    cookie = client.get_cookie("okta_session").value
    raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    user = stored_user(app, client)
    assert raw[:1] == b"\x02"  # sealing format version
    for secret in (user.access_token, user.id_token.split(".")[1], user.claims["sub"]):
        assert secret.encode() not in raw and secret not in cookie
    assert client.get_cookie("session") is None  # Flask's session holds nothing after the sign-in


def test_rotating_secret_key_keeps_sessions(okta_settings, okta_mock_server):
    app = make_site(okta_settings)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    rotated = make_site(okta_settings, SECRET_KEY="a-brand-new-secret-key-0123456789",
                        SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    browser = rotated.test_client()
    share_cookies(client, browser)
    assert browser.get("/protected").status_code == 200
    dropped = make_site(okta_settings, SECRET_KEY="a-brand-new-secret-key-0123456789")
    stranger = dropped.test_client()
    share_cookies(client, stranger)
    assert stranger.get("/protected").status_code == 302


def realistic_groups(count: int) -> list[str]:
    """Group names as Okta orgs have them: words with ids, not very compressible."""
    departments = ["Engineering", "Finance", "Sales", "Support", "Marketing", "Legal", "Security"]
    return [f"{departments[i % 7]}-Team-{secrets.token_hex(3)}" for i in range(count)]


def okta_sized_sign_in(okta_mock_server, *, groups: list[str]) -> SignedInUser:
    """A sign-in with tokens of Okta's sizes: a 1.6 KB access token, an ID token with ``groups``."""
    now = int(time.time())
    base = {"iss": okta_mock_server.issuer, "iat": now, "exp": now + 3600, "ver": 1,
            "jti": "AT." + secrets.token_urlsafe(40)}
    access_token = okta_mock_server.sign({
        **base, "aud": "api://default", "cid": "0oa1b2c3d4e5f6g7h8i9", "uid": "00u1b2c3d4e5f6g7h8i9",
        "sub": "alice.smith@example.com", "scp": ["openid", "profile", "email", "offline_access", "messages:read"],
        "groups": realistic_groups(20),
    })
    id_token = okta_mock_server.sign({
        **base, "aud": "0oa1b2c3d4e5f6g7h8i9", "sub": "00u1b2c3d4e5f6g7h8i9", "name": "Alice Smith",
        "email": "alice.smith@example.com", "preferred_username": "alice.smith@example.com",
        "auth_time": now, "amr": ["pwd", "mfa"], "idp": "00o1b2c3d4e5f6g7h8i9", "nonce": secrets.token_urlsafe(32),
        "at_hash": secrets.token_urlsafe(16), "groups": groups,
    })
    assert len(access_token) > 1400
    return SignedInUser(id_token=id_token, access_token=access_token, refresh_token=secrets.token_urlsafe(32),
                        expires_at=now + 3600, scope="openid profile email offline_access")


def sign_in_cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values() if c.key.startswith("okta_session")}


def test_sign_in_cookie_stays_under_4_kb_with_real_okta_token_sizes(okta_settings, okta_mock_server, caplog):
    app = make_site(okta_settings)
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    user = okta_sized_sign_in(okta_mock_server, groups=realistic_groups(24))
    assert len(user.id_token) > 1400
    store_sign_in(client, user)
    client.get("/protected")  # rolls the idle clock: the site writes the cookie itself
    cookies = sign_in_cookies(client)
    assert list(cookies) == ["okta_session"]
    assert len("okta_session=") + len(cookies["okta_session"]) + 120 < 4096  # + attributes
    assert "OKTA_TOKEN_STORE" not in caplog.text


def test_big_sign_in_is_split_into_cookies_browsers_keep_and_joined_again(okta_settings, okta_mock_server, caplog):
    app = make_site(okta_settings)
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    user = okta_sized_sign_in(okta_mock_server, groups=realistic_groups(150))
    store_sign_in(client, user)
    change_stored_user(app, client, last_seen_at=time.time() - 3600)
    response = client.get("/protected")  # the site writes the chunks itself

    assert response.status_code == 200
    written = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("okta_session.")]
    assert len(written) >= 2 and all(len(h) < 4096 for h in written)
    assert set(sign_in_cookies(client)) == {f"okta_session.{i}" for i in range(len(written))}
    assert stored_user(app, client).access_token == user.access_token
    assert "OKTA_TOKEN_STORE" not in caplog.text

    change_stored_user(app, client, id_token=user.id_token.split(".")[0] + ".e30." + user.id_token.split(".")[2])
    small = client.get("/")  # now fits one cookie: the chunks are deleted
    assert set(sign_in_cookies(client)) == {"okta_session"}, small.headers.getlist("Set-Cookie")


def test_a_sign_in_needing_many_cookies_logs_a_warning_naming_the_token_store(okta_settings, okta_mock_server,
                                                                               caplog):
    app = make_site(okta_settings)
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    store_sign_in(client, okta_sized_sign_in(okta_mock_server, groups=realistic_groups(800)))
    change_stored_user(app, client, last_seen_at=time.time() - 3600)
    assert client.get("/protected").status_code == 200
    assert len(sign_in_cookies(client)) > 2
    assert "OKTA_TOKEN_STORE" in caplog.text
