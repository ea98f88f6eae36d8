"""The sign-in cookie: its attributes, the secret key behind its seal, and sign-ins sealed by earlier versions."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from joserfc import jwe
from joserfc.jwk import OctKey
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_okta_client import OktaClient
from flask_okta_client.errors import ConfigError
from flask_okta_client.sessions.storage import SignedInUser
from flask_okta_client.testing.tokens import TestTokens, store_sign_in
from tests.lifecycle_helpers import change_stored_user, share_cookies, stored_user
from tests.site import make_site, sign_in

STRONG_KEY = secrets.token_hex(32)


def set_cookie_headers(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def bare_app(okta_settings, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(okta_settings, **config)
    return app


# -- the secret key -----------------------------------------------------------


@pytest.mark.parametrize("key", ["change-me", "x" * 31, b"\x01" * 31])
def test_a_short_secret_key_is_refused_with_how_to_make_one(okta_settings, key):
    with pytest.raises(ConfigError) as refused:
        OktaClient(bare_app(okta_settings, SECRET_KEY=key))
    assert "at least 32" in refused.value.description
    assert "secrets.token_hex(32)" in refused.value.description


def test_a_short_fallback_key_is_refused(okta_settings):
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        OktaClient(bare_app(okta_settings, SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS=["change-me"]))


def test_short_keys_are_allowed_under_testing(okta_settings):
    OktaClient(bare_app(okta_settings, SECRET_KEY="test", TESTING=True))


def test_a_32_byte_key_is_accepted(okta_settings):
    OktaClient(bare_app(okta_settings, SECRET_KEY=secrets.token_bytes(32)))


# -- attributes ---------------------------------------------------------------


def test_cookies_are_same_site_lax_unless_the_app_chose(okta_settings, okta_mock_server):
    default = make_site(okta_settings)
    assert default.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = default.test_client()
    callback = sign_in(client, okta_mock_server)
    assert "SameSite=Lax" in set_cookie_headers(callback, "okta_session")[0]

    strict = make_site(okta_settings, SESSION_COOKIE_SAMESITE="Strict")
    assert strict.config["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_sign_in_cookie_follows_the_session_cookie_settings(okta_settings, okta_mock_server):
    app = make_site(okta_settings, SESSION_COOKIE_DOMAIN="localhost", OKTA_SESSION_COOKIE_NAME="signin")
    client = app.test_client()
    header = set_cookie_headers(sign_in(client, okta_mock_server), "signin")[0]
    assert "Domain=localhost" in header and "HttpOnly" in header and "Path=/" in header

    readable = make_site(okta_settings, SESSION_COOKIE_HTTPONLY=False)
    client = readable.test_client()
    assert "HttpOnly" not in set_cookie_headers(sign_in(client, okta_mock_server), "okta_session")[0]


def renew_cookie(app, client, **request):
    """A request after the idle clock is due: the site writes the sign-in cookie again."""
    change_stored_user(app, client, last_seen_at=stored_user(app, client).last_seen_at - 600)
    return client.get("/", **request)


def test_sign_in_cookie_is_secure_when_the_request_came_over_https(okta_settings, okta_mock_server):
    app = make_site(okta_settings)
    client = app.test_client()
    assert "; Secure" not in set_cookie_headers(sign_in(client, okta_mock_server), "okta_session")[0]
    response = renew_cookie(app, client, base_url="https://localhost")
    assert "; Secure" in set_cookie_headers(response, "okta_session")[0]


def test_behind_a_tls_proxy_with_proxy_fix_the_sign_in_cookie_is_secure(okta_settings, okta_mock_server):
    app = make_site(okta_settings)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    response = renew_cookie(app, client, headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in set_cookie_headers(response, "okta_session")[0]


@pytest.mark.parametrize("setting", [{"PREFERRED_URL_SCHEME": "https"},
                                     {"OKTA_REDIRECT_URI": "https://app.example/authorization-code/callback"}])
def test_a_site_configured_for_https_makes_every_cookie_secure(okta_settings, okta_mock_server, setting):
    app = make_site(okta_settings, **setting)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    store_sign_in(client, a_stored_sign_in(app, okta_mock_server))
    response = renew_cookie(app, client)
    assert "; Secure" in set_cookie_headers(response, "okta_session")[0]


def a_stored_sign_in(app, okta_mock_server) -> SignedInUser:
    probe = app.test_client()
    TestTokens(okta_mock_server).sign_in(probe, "ann")
    return stored_user(app, probe)


def test_a_site_on_plain_http_keeps_the_apps_choice(okta_settings):
    assert make_site(okta_settings).config["SESSION_COOKIE_SECURE"] is False


def test_sign_in_cookie_name_must_differ_from_the_session_cookie(okta_settings):
    with pytest.raises(ConfigError, match="OKTA_SESSION_COOKIE_NAME"):
        make_site(okta_settings, OKTA_SESSION_COOKIE_NAME="session")


# -- sign-ins sealed by earlier versions ---------------------------------------


def earlier_seal(secret: str, data: dict) -> str:
    """A sign-in sealed as earlier versions did: a JWE (dir, A256GCM, DEF) in Flask's session."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"flask-okta-client", info=b"session tokens v1")
    return jwe.encrypt_compact({"alg": "dir", "enc": "A256GCM", "zip": "DEF"}, json.dumps(data),
                               OctKey.import_key(key.derive(secret.encode())))


def signed_in_data(app, okta_mock_server) -> dict:
    return a_stored_sign_in(app, okta_mock_server).to_dict()


def test_a_sign_in_sealed_inside_flasks_session_is_cleanly_signed_out(okta_settings, okta_mock_server):
    app = make_site(okta_settings)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_okta"] = earlier_seal(app.config["SECRET_KEY"], signed_in_data(app, okta_mock_server))
        session["cart"] = ["book"]

    assert client.get("/").get_data(as_text=True) == "home anonymous"
    assert client.get("/protected").status_code == 302
    with client.session_transaction() as session:
        assert "_okta" not in session
        assert session["cart"] == ["book"]


def test_an_earlier_server_side_entry_is_deleted_not_opened(okta_settings, okta_mock_server, redis_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url)
    store = app.extensions["okta"].store
    handle = secrets.token_urlsafe(32)
    store.cache.set(f"login:{handle}", earlier_seal(app.config["SECRET_KEY"], signed_in_data(app, okta_mock_server)))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_okta"] = {"h": handle}

    assert client.get("/protected").status_code == 302
    assert store.cache.get(f"login:{handle}") is None
    with client.session_transaction() as session:
        assert "_okta" not in session


# -- a seal belongs to one client of one provider -------------------------------


@pytest.mark.parametrize("token_store", ["session", "redis"])
@pytest.mark.parametrize("other", [{"OKTA_CLIENT_ID": "0oa-another-app"},
                                   {"OKTA_ISSUER": "http://127.0.0.1:9/oauth2/another"}])
def test_a_sign_in_sealed_for_one_app_does_not_open_in_another_sharing_the_secret(
        okta_settings, okta_mock_server, redis_url, token_store, other):
    store = {"OKTA_TOKEN_STORE": redis_url if token_store == "redis" else "session"}
    app = make_site(okta_settings, **store)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    assert client.get("/").get_data(as_text=True).startswith("home 00u")
    neighbour = make_site({**okta_settings, **other}, **store)  # same SECRET_KEY, same Redis
    browser = neighbour.test_client()
    share_cookies(client, browser)
    assert browser.get("/").get_data(as_text=True) == "home anonymous"


def test_fallback_keys_must_be_a_list(okta_settings):
    with pytest.raises(ConfigError, match="list"):
        OktaClient(bare_app(okta_settings, SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS=secrets.token_hex(32)))


@pytest.mark.parametrize("name", ["__Host-okta", "__Secure-okta"])
def test_a_prefixed_cookie_name_is_always_secure(okta_settings, okta_mock_server, name):
    app = make_site(okta_settings, OKTA_SESSION_COOKIE_NAME=name)
    client = app.test_client()
    store_sign_in(client, a_stored_sign_in(app, okta_mock_server))
    response = renew_cookie(app, client)
    assert "; Secure" in set_cookie_headers(response, name)[0]


def test_a_host_prefixed_cookie_name_refuses_a_domain(okta_settings):
    with pytest.raises(ConfigError, match="__Host-"):
        make_site(okta_settings, OKTA_SESSION_COOKIE_NAME="__Host-okta", SESSION_COOKIE_DOMAIN="example.com")


@pytest.mark.parametrize(("idle_timeout", "quiet", "written"), [(None, 50, 70), (300, 25, 35)],
                         ids=["default: a minute", "idle timeout 300 s: a tenth of it"])
def test_the_idle_clock_is_written_back_at_most_once_a_minute_or_a_tenth_of_the_idle_timeout(
        okta_settings, okta_mock_server, idle_timeout, quiet, written):
    settings = {} if idle_timeout is None else {"OKTA_SESSION_IDLE_TIMEOUT": idle_timeout}
    app = make_site(okta_settings, **settings)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    now = time.time()
    change_stored_user(app, client, last_seen_at=now - quiet)
    assert set_cookie_headers(client.get("/"), "okta_session") == []
    change_stored_user(app, client, last_seen_at=now - written)
    assert set_cookie_headers(client.get("/"), "okta_session") != []
