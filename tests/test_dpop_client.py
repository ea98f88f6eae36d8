"""The site as a DPoP client (RFC 9449) against the mock Okta: every token it obtains is bound to its key."""

from __future__ import annotations

import json
import secrets

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey

from flask_okta_client import ProviderError
from flask_okta_client.errors import ConfigError
from flask_okta_client.protocol.dpop import DPoPKey, choose_algorithm
from flask_okta_client.testing.mock_server import MockClient
from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token, stored_user
from tests.site import app_for_client, make_site, query, sign_in, start_login

DPOP = {"OKTA_DPOP": True, "OKTA_SCOPES": OFFLINE_SCOPES}


def claims_of(token: str) -> dict:
    return json.loads(jws.extract_compact(token.encode()).payload)


def site_key(app) -> str:
    return app.extensions["okta"].dpop.key.thumbprint


@pytest.fixture
def dpop_site(okta_settings):
    app = make_site(okta_settings, **DPOP)
    return app, app.test_client()


def test_sign_in_binds_the_access_token_to_the_site_key(dpop_site, okta_mock_server):
    app, client = dpop_site
    assert sign_in(client, okta_mock_server).status_code == 302
    stored = stored_user(app, client)
    assert stored.token_type == "DPoP"
    assert claims_of(stored.access_token)["cnf"] == {"jkt": site_key(app)}


def test_nonce_challenge_is_answered_once_then_remembered(dpop_site, okta_mock_server):
    app, client = dpop_site
    sign_in(client, okta_mock_server)
    assert okta_mock_server.count("token") == 2  # refused for want of a nonce, then granted
    expire_access_token(app, client)
    assert client.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == 3  # the refresh reused the nonce


def test_a_rotated_nonce_costs_one_retry(dpop_site, okta_mock_server):
    app, client = dpop_site
    sign_in(client, okta_mock_server)
    okta_mock_server.rotate_dpop_nonce(keep_old=False)
    expire_access_token(app, client)
    before = okta_mock_server.count("token")
    assert client.get("/protected").status_code == 200
    assert okta_mock_server.count("token") == before + 2
    assert stored_user(app, client).token_type == "DPoP"


def test_refresh_keeps_the_binding(dpop_site, okta_mock_server):
    app, client = dpop_site
    sign_in(client, okta_mock_server)
    expire_access_token(app, client)
    client.get("/protected")
    refreshed = stored_user(app, client)
    assert refreshed.token_type == "DPoP"
    assert claims_of(refreshed.access_token)["cnf"]["jkt"] == site_key(app)


def test_refresh_from_another_key_is_refused(okta_settings, okta_mock_server):
    """A refresh token bound to one process's generated key is useless to a process with another key."""
    first = make_site(okta_settings, **DPOP)
    client = first.test_client()
    sign_in(client, okta_mock_server)
    second = make_site(okta_settings, **DPOP)  # same SECRET_KEY, so it reads the same session cookie
    expire_access_token(second, client)
    tokens_before = okta_mock_server.count("token")
    with second.test_client() as other:
        other.set_cookie("okta_session", client.get_cookie("okta_session").value)
        response = other.get("/protected", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert okta_mock_server.count("token") == tokens_before + 2  # a nonce challenge, then the refused refresh


def test_authorization_request_names_the_key(dpop_site):
    app, client = dpop_site
    assert query(start_login(client))["dpop_jkt"] == site_key(app)


def test_without_dpop_tokens_stay_bearer(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    stored = stored_user(app, client)
    assert stored.token_type == "Bearer"
    assert "cnf" not in claims_of(stored.access_token)
    assert "dpop_jkt" not in query(start_login(client))


def test_userinfo_is_called_with_a_proof(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_USE_USERINFO=True, **DPOP)
    client = app.test_client()
    assert sign_in(client, okta_mock_server).status_code == 302
    stored = stored_user(app, client)
    assert stored.token_type == "DPoP"
    assert stored.userinfo["preferred_username"] == "alice"


def machine_app(server, **settings):
    mock = server.add_client(MockClient("0oa" + secrets.token_hex(6), secrets.token_urlsafe(24),
                                        scopes=("openid", "profile", "api.read")))
    return app_for_client(server, mock, {"OKTA_DPOP": True, **settings})


def test_client_credentials_token_is_bound(okta_mock_server):
    app = machine_app(okta_mock_server)
    with app.app_context():
        token = app.extensions["okta"].grants.client_credentials_token("api.read")
    assert token.token_type == "DPoP"
    assert claims_of(token.access_token)["cnf"]["jkt"] == site_key(app)


def test_token_exchange_is_bound(okta_mock_server):
    app = machine_app(okta_mock_server)
    state = app.extensions["okta"]
    user = okta_mock_server.set_user("bob")
    subject = okta_mock_server.sign({"iss": okta_mock_server.issuer, "aud": "api://default", "uid": user.sub,
                                     "sub": "bob", "exp": 2**31, "iat": 1})
    exchanged = state.grants.token_exchange(subject, audience="api://orders", scope="api.read")
    assert exchanged.token_type == "DPoP"
    assert claims_of(exchanged.access_token)["cnf"]["jkt"] == site_key(app)


def test_a_bearer_answer_to_a_dpop_request_is_refused(okta_mock_server, caplog):
    """A provider that ignores the proof must not leave the site holding tokens it thinks are bound."""
    app = machine_app(okta_mock_server)
    state = app.extensions["okta"]
    state.grants.client_credentials_token("api.read")  # nonce known now
    body = json.dumps({"access_token": "x.y.z", "token_type": "Bearer", "expires_in": 3600})
    okta_mock_server.fail_next("token", status=200, body=body)
    with pytest.raises(ProviderError):
        state.grants.client_credentials_token("openid")
    assert "unset OKTA_DPOP" in caplog.text
    assert "x.y.z" not in caplog.text


def test_configured_key_is_shared_by_instances(okta_mock_server):
    key = ECKey.generate_key("P-256").as_dict(private=True)
    first = machine_app(okta_mock_server, OKTA_DPOP_KEY=json.dumps(key))
    second = machine_app(okta_mock_server, OKTA_DPOP_KEY=key)
    with first.app_context(), second.app_context():
        tokens = [app.extensions["okta"].grants.client_credentials_token("api.read") for app in (first, second)]
    jkts = {claims_of(token.access_token)["cnf"]["jkt"] for token in tokens}
    assert jkts == {ECKey.import_key(key).thumbprint()}


def test_configured_key_with_an_algorithm_the_provider_refuses_is_a_config_error(okta_mock_server):
    app = machine_app(okta_mock_server, OKTA_DPOP_KEY=OKPKey.generate_key("Ed25519").as_dict(private=True))
    with pytest.raises(ConfigError, match="EdDSA"):
        app.extensions["okta"].grants.client_credentials_token("api.read")


@pytest.mark.parametrize("value", ["{not json", json.dumps({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}),
                                   "/no/such/key.pem"])
def test_unusable_dpop_key_fails_at_start_up(okta_mock_server, value):
    with pytest.raises(ConfigError, match="OKTA_DPOP_KEY"):
        machine_app(okta_mock_server, OKTA_DPOP_KEY=value)


def test_generated_key_uses_es256(okta_mock_server):
    app = machine_app(okta_mock_server)
    assert app.extensions["okta"].dpop.key.algorithm == "ES256"


@pytest.mark.parametrize("configured, supported, expected", [
    (None, None, "ES256"),
    (None, ["RS256", "ES256"], "ES256"),
    (None, ["RS256", "PS256"], "PS256"),
    ("ES384", ["ES384"], "ES384"),
])
def test_proof_algorithm_comes_from_configuration_or_discovery(configured, supported, expected):
    assert choose_algorithm(configured, supported) == expected


def test_a_configured_algorithm_the_provider_refuses_is_a_config_error():
    with pytest.raises(ConfigError, match="OKTA_DPOP_ALGORITHM"):
        choose_algorithm("ES512", ["ES256"])


def test_no_algorithm_in_common_is_a_provider_error():
    with pytest.raises(ProviderError):
        choose_algorithm(None, ["HS256"])


def test_a_proof_names_the_request_without_query_and_hashes_the_token():
    key = DPoPKey.generate("ES256")
    proof = key.proof("post", "https://api.example.com/v1/orders?page=2#top", access_token="abc", nonce="n-1")
    header = jws.extract_compact(proof.encode()).headers()
    claims = claims_of(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256" and "d" not in header["jwk"]
    assert (claims["htm"], claims["htu"], claims["nonce"]) == ("POST", "https://api.example.com/v1/orders", "n-1")
    assert claims["ath"] == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"  # base64url(SHA-256("abc"))
    assert claims_of(key.proof("GET", "https://a.example/"))["jti"] != claims["jti"]
