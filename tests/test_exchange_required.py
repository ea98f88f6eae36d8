"""``@okta.token_exchange_required``: a token for a downstream API before the view runs."""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode

import pytest
from flask import Flask, redirect

from flask_okta_client import OktaClient, signals
from tests.site import sign_in


def payload(token: str) -> dict:
    segment = token.split(".")[1]
    return json.loads(urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.fixture
def okta():
    return OktaClient()


@pytest.fixture
def site(okta, okta_settings):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="exchange-test-secret-0123456789abcdef", OKTA_USE_PAR="never", **okta_settings)
    okta.init_app(app)

    @app.get("/orders")
    @okta.token_exchange_required(audience="api://orders", scope="openid")
    def orders():
        return payload(okta.exchanged_token("api://orders"))

    @app.get("/partner")
    @okta.token_exchange_required(audience="api://partner", target_issuer=okta_settings["OKTA_ISSUER"])
    def partner():
        return payload(okta.exchanged_token("api://partner"))

    @app.get("/machine")
    def machine():
        return {"scope": okta.client_credentials_token("openid").scope}

    @app.get("/welcome")
    def welcome():
        return "welcome"

    return app


def test_view_gets_a_token_for_the_downstream_audience(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    claims = client.get("/orders").json
    assert claims["aud"] == "api://orders"


def test_exchanged_token_is_cached_per_session_until_near_expiry(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    first = client.get("/orders").json["jti"]
    tokens = okta_mock_server.count("token")
    assert client.get("/orders").json["jti"] == first
    assert okta_mock_server.count("token") == tokens


def test_exchange_requires_a_signed_in_user(site):
    response = site.test_client().get("/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/orders")


def test_refused_exchange_answers_4xx(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    okta_mock_server.fail_next("token", status=400, body='{"error": "invalid_target"}')
    assert client.get("/orders").status_code == 400


def test_provider_outage_during_exchange_answers_503(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    okta_mock_server.fail_next("token", status=503)
    assert client.get("/orders").status_code == 503
    assert client.get("/orders").status_code == 200


def test_cross_app_access_redeems_an_identity_assertion(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    tokens = okta_mock_server.count("token")
    claims = client.get("/partner").json
    assert claims["iss"] == okta_mock_server.issuer
    assert okta_mock_server.count("token") == tokens + 2  # ID-JAG, then the JWT bearer grant


def test_token_exchanged_signal(site, okta_mock_server):
    client = site.test_client()
    sign_in(client, okta_mock_server)
    seen = []
    with signals.token_exchanged.connected_to(lambda sender, user, audience: seen.append(audience), site):
        client.get("/orders")
    assert seen == ["api://orders"]


def test_token_refreshed_signal(okta_settings, okta_mock_server):
    from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token
    from tests.site import make_site

    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    expire_access_token(app, client)
    seen = []
    with signals.token_refreshed.connected_to(lambda sender, user: seen.append(user.sub), app):
        client.get("/protected")
    assert len(seen) == 1 and seen[0].startswith("00u")


def test_client_credentials_token_for_machine_calls(site, okta_mock_server):
    client = site.test_client()
    assert client.get("/machine").json == {"scope": "openid"}
    tokens = okta_mock_server.count("token")
    client.get("/machine")
    assert okta_mock_server.count("token") == tokens


def test_exchanged_token_outside_a_decorated_view_is_a_clear_error(site, okta):
    with site.test_request_context("/"), pytest.raises(RuntimeError, match="token_exchange_required"):
        okta.exchanged_token("api://orders")


def test_after_login_callback_can_redirect_to_onboarding(okta, site, okta_mock_server):
    okta.after_login(lambda user: redirect("/welcome") if user.email.startswith("new") else None)
    client = site.test_client()
    assert sign_in(client, okta_mock_server, "newcomer").headers["Location"] == "/welcome"
    assert sign_in(site.test_client(), okta_mock_server, "regular").headers["Location"] == "/protected"
