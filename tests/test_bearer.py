"""``@bearer_token_required``: Okta access tokens protecting a JSON API."""

from __future__ import annotations

import base64
import json
import time

import pytest
from flask import request
from jose import jwt as jose_jwt

from flask_okta_client import bearer_token_required
from flask_okta_client.errors import ProviderError
from tests.site import make_site


def call(client, token: str | None, *, scheme: str = "Bearer", path: str = "/api/messages", **kwargs):
    headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
    return client.get(path, headers=headers, **kwargs)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(okta_mock_server, **overrides) -> dict:
    now = int(time.time())
    return {"iss": okta_mock_server.issuer, "aud": "api://default", "sub": "ann@example.com", "cid": "0oa1",
            "scp": ["messages:read"], "iat": now, "exp": now + 600, **overrides}


def test_valid_token_reaches_the_view_with_its_claims(client, okta_access_token):
    response = call(client, okta_access_token(scopes=["messages:read"], username="ann"))
    assert response.status_code == 200
    assert response.json == {"sub": "ann@example.com"}


def test_missing_token_gets_401_with_a_bearer_challenge(client):
    response = call(client, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json["error"] == "unauthorized"


def test_browser_page_load_without_token_still_gets_401_json(client):
    response = client.get("/api/messages", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 401
    assert response.is_json


def test_an_error_before_the_guard_runs_still_answers_json(okta_settings):
    """A bearer-protected route answers JSON even when an OktaError comes from an app's own
    before_request hook (say, one that reads current_user while the token store is down)."""
    app = make_site(okta_settings)

    @app.before_request
    def provider_trouble():
        if request.path == "/api/messages":
            raise ProviderError("The sign-in service is unavailable.")

    response = app.test_client().get("/api/messages", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 502
    assert response.is_json


def test_wrong_scheme_is_refused(client, okta_access_token):
    assert call(client, okta_access_token(scopes=["messages:read"]), scheme="Basic").status_code == 401


def test_malformed_authorization_header_is_a_bad_request(client):
    response = client.get("/api/messages", headers={"Authorization": "Bearer a b"})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_token_in_the_query_string_is_refused(client, okta_access_token):
    token = okta_access_token(scopes=["messages:read"])
    response = client.get(f"/api/messages?access_token={token}")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_token_in_a_form_body_is_refused(app, client, okta_access_token):
    from flask_okta_client import bearer_token_required

    @app.post("/api/post")
    @bearer_token_required
    def post():
        return "ok"

    token = okta_access_token(scopes=["messages:read"])
    assert client.post("/api/post", data={"access_token": token}).status_code == 400


def test_missing_scope_gets_403_insufficient_scope(client, okta_access_token):
    response = call(client, okta_access_token(scopes=["profile"]))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="insufficient_scope", scope="messages:read"'
    assert response.json["error"] == "insufficient_scope"


def test_space_separated_scope_claim_is_understood(client, okta_mock_server):
    token = okta_mock_server.sign({**claims(okta_mock_server), "scp": None, "scope": "openid messages:read"})
    assert call(client, token).status_code == 200


@pytest.mark.parametrize(("name", "overrides"), [
    ("wrong issuer", {"iss": "https://evil.example/oauth2/default"}),
    ("wrong audience", {"aud": "api://other"}),
    ("expired", {"exp": int(time.time()) - 600}),
    ("issued in the future", {"iat": int(time.time()) + 600}),
    ("not valid yet", {"nbf": int(time.time()) + 600}),
    ("no expiry", {"exp": None}),
    ("no subject", {"sub": None}),
    ("empty subject", {"sub": ""}),
    ("numeric subject", {"sub": 42}),
])
def test_token_with_bad_claims_gets_401_invalid_token(client, okta_mock_server, name, overrides):
    token = okta_mock_server.sign({k: v for k, v in {**claims(okta_mock_server), **overrides}.items() if v is not None})
    response = call(client, token)
    assert response.status_code == 401, name
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_bad_signature_is_refused(client, okta_access_token):
    header, payload, signature = okta_access_token(scopes=["messages:read"]).split(".")
    forged = b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "sub": "admin@example.com"})
    assert call(client, f"{header}.{forged}.{signature}").status_code == 401


def test_alg_none_is_refused(client, okta_mock_server):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(okta_mock_server))}."
    assert call(client, token).status_code == 401


def test_hmac_signed_with_the_public_key_is_refused(client, okta_mock_server):
    key = okta_mock_server.public_jwks()["keys"][0]
    token = jose_jwt.encode(claims(okta_mock_server), json.dumps(key), algorithm="HS256", headers={"kid": key["kid"]})
    assert call(client, token).status_code == 401


def test_unknown_kid_is_refused_after_one_refetch(client, okta_mock_server, okta_access_token):
    call(client, okta_access_token(scopes=["messages:read"]))
    keys_before = okta_mock_server.count("keys")
    token = okta_mock_server.sign(claims(okta_mock_server), headers={"kid": "unknown-kid"})
    assert call(client, token).status_code == 401
    assert call(client, okta_mock_server.sign(claims(okta_mock_server), headers={"kid": "another"})).status_code == 401
    assert okta_mock_server.count("keys") == keys_before + 1


def test_token_signed_by_a_rotated_key_is_accepted_after_one_refetch(client, okta_mock_server, okta_access_token):
    call(client, okta_access_token(scopes=["messages:read"]))
    keys_before = okta_mock_server.count("keys")
    okta_mock_server.rotate_keys()
    assert call(client, okta_access_token(scopes=["messages:read"])).status_code == 200
    assert okta_mock_server.count("keys") == keys_before + 1


def test_injected_jku_and_jwk_headers_are_ignored(client, okta_mock_server):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jose import jwk as jose_jwk

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = attacker.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    public = jose_jwk.construct(pem, "RS256").public_key().to_dict()
    for headers in ({"jku": "http://127.0.0.1:1/keys.json", "kid": "evil"}, {"jwk": public, "kid": "evil"}):
        token = jose_jwt.encode(claims(okta_mock_server), pem.decode(), algorithm="RS256", headers=headers)
        assert call(client, token).status_code == 401


@pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c.d", "eyJ.eyJ.sig", "a.b.c.d.e", "é.é.é", "x" * 20000])
def test_malformed_tokens_are_refused_cleanly(client, token):
    response = call(client, token)
    assert response.status_code == 401
    assert response.is_json


def test_verified_token_is_cached_until_it_expires(app, client, okta_access_token):
    validator = app.extensions["okta"].access_tokens
    token = okta_access_token(scopes=["messages:read"])
    call(client, token)
    assert len(validator.cache) == 1
    calls = []
    original = validator.verifier.verify_access_token
    validator.verifier.verify_access_token = lambda *a, **k: calls.append(1) or original(*a, **k)
    assert call(client, token).status_code == 200
    assert calls == []


def test_tampered_copy_of_a_cached_token_is_refused(client, okta_access_token):
    token = okta_access_token(scopes=["messages:read"])
    assert call(client, token).status_code == 200
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert call(client, tampered).status_code == 401


def test_expired_cached_token_is_refused(app, client, okta_access_token):
    token = okta_access_token(scopes=["messages:read"], lifetime=3600)
    assert call(client, token).status_code == 200
    validator = app.extensions["okta"].access_tokens
    validator.cache.clock = lambda: time.time() + 7200
    validator.verifier.clock = lambda: time.time() + 7200
    assert call(client, token).status_code == 401


def test_invalid_tokens_are_never_cached(app, client, okta_mock_server):
    call(client, okta_mock_server.sign(claims(okta_mock_server, aud="api://other")))
    assert len(app.extensions["okta"].access_tokens.cache) == 0


def test_claims_checks_on_bearer_tokens(app, client, okta_access_token):
    from flask_okta_client import bearer_token_required

    @app.get("/api/admin")
    @bearer_token_required(scopes=["messages:read"], groups=["Admins"])
    def admin():
        return "ok"

    assert call(client, okta_access_token(scopes=["messages:read"], groups=["Staff"]), path="/api/admin").status_code == 403
    assert call(client, okta_access_token(scopes=["messages:read"], groups=["Admins"]), path="/api/admin").status_code == 200


def test_explicit_audience(app, client, okta_mock_server):
    from flask_okta_client import bearer_token_required

    @app.get("/api/orders")
    @bearer_token_required(audience="api://orders")
    def orders():
        return "ok"

    assert call(client, okta_mock_server.sign(claims(okta_mock_server)), path="/api/orders").status_code == 401
    token = okta_mock_server.sign(claims(okta_mock_server, aud="api://orders"))
    assert call(client, token, path="/api/orders").status_code == 200


def test_a_cached_token_is_still_refused_for_an_audience_it_does_not_name(app, client, okta_mock_server):
    from flask_okta_client import bearer_token_required

    @app.get("/api/orders")
    @bearer_token_required(audience="api://orders")
    def orders():
        return "ok"

    token = okta_mock_server.sign(claims(okta_mock_server))
    assert call(client, token).status_code == 200  # cached for api://default
    assert call(client, token, path="/api/orders").status_code == 401
    assert call(client, token).status_code == 200


def test_one_cache_entry_serves_every_audience_the_token_names(app, client, okta_mock_server):
    from flask_okta_client import bearer_token_required

    @app.get("/api/orders")
    @bearer_token_required(audience="api://orders")
    def orders():
        return "ok"

    validator = app.extensions["okta"].access_tokens
    token = okta_mock_server.sign(claims(okta_mock_server, aud=["api://default", "api://orders"]))
    verified = []
    original = validator.verifier.verify_access_token
    validator.verifier.verify_access_token = lambda *a, **k: verified.append(1) or original(*a, **k)
    assert call(client, token).status_code == 200
    assert call(client, token, path="/api/orders").status_code == 200
    assert verified == [1] and len(validator.cache) == 1


def test_okta_object_offers_the_decorator(okta_settings, okta_access_token):
    from flask import Flask

    from flask_okta_client import OktaClient, current_token

    app = Flask(__name__)
    app.config.update(SECRET_KEY="s" * 32, **okta_settings)
    okta = OktaClient(app)

    @app.get("/api/me")
    @okta.bearer_token_required(scopes=["messages:read"])
    def me():
        return {"scp": list(current_token["scp"])}

    response = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {okta_access_token(scopes=['messages:read'])}"})
    assert response.json == {"scp": ["messages:read"]}


class TestIntrospection:
    """Opaque tokens and org authorization server tokens are introspected (RFC 7662)."""

    @pytest.fixture
    def client(self, okta_settings, okta_mock_server):
        from flask_okta_client.testing import MockClient

        api = okta_mock_server.add_client(MockClient(
            f"0oa-api-{time.time_ns()}", "api-client-secret-0123456789",
            scopes=("openid", "profile", "email", "messages:read"), grant_types=("client_credentials",),
        ))
        settings = {**okta_settings, "OKTA_CLIENT_ID": api.client_id, "OKTA_CLIENT_SECRET": api.client_secret}
        return make_site(settings, OKTA_TOKEN_VALIDATION="introspect").test_client()

    def test_active_token_is_accepted_and_cached(self, client, okta_mock_server, okta_access_token):
        token = mock_issued_access_token(okta_mock_server, client)
        assert call(client, token).status_code == 200
        assert call(client, token).status_code == 200
        assert okta_mock_server.count("introspect") == 1

    @staticmethod
    def answer(okta_mock_server, **claims) -> None:
        """The next introspection answer: an active token with messages:read and ``claims``."""
        now = int(time.time())
        body = {"active": True, "token_type": "Bearer", "scope": "messages:read", "iss": okta_mock_server.issuer,
                "exp": now + 600, **claims}
        okta_mock_server.fail_next("introspect", status=200, body=json.dumps(body))

    def test_an_answer_without_sub_is_accepted(self, client, okta_mock_server):
        from flask_okta_client import current_token

        @client.application.get("/api/who")
        @bearer_token_required(scopes=["messages:read"])
        def who():
            return {"sub": current_token.get("sub"), "client_id": current_token.get("client_id")}

        self.answer(okta_mock_server, client_id="0oa-machine")
        assert call(client, "opaque-1", path="/api/who").json == {"sub": None, "client_id": "0oa-machine"}

    @pytest.mark.parametrize("sub", ["", 42, ["ann"]])
    def test_an_answer_with_a_malformed_sub_is_refused(self, client, okta_mock_server, sub):
        self.answer(okta_mock_server, sub=sub)
        assert call(client, "opaque-2").status_code == 401

    @pytest.mark.parametrize("token_type", ["refresh_token", "Refresh", "N_A", 42])
    def test_an_active_token_that_is_not_an_access_token_is_refused(self, client, okta_mock_server, token_type):
        """RFC 7662 finds a token whatever its type: a refresh token presented as a bearer is refused."""
        self.answer(okta_mock_server, sub="ann", token_type=token_type)
        assert call(client, "opaque-3").status_code == 401

    @pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
    def test_an_answer_naming_an_access_token_type_is_accepted(self, client, okta_mock_server, token_type):
        self.answer(okta_mock_server, sub="ann", token_type=token_type)
        assert call(client, "opaque-4").status_code == 200

    @pytest.mark.parametrize("token", ["a" * 20_000, "tok\u00e9n", "tok\ten", "to,ken", "==token"])
    def test_a_token_outside_rfc_6750_syntax_costs_no_introspection_call(self, client, okta_mock_server, token):
        assert call(client, token).status_code == 401
        assert okta_mock_server.count("introspect") == 0

    def test_inactive_token_is_refused(self, client, okta_mock_server):
        assert call(client, "opaque-token-the-provider-never-issued").status_code == 401

    def test_provider_down_answers_503(self, client, okta_mock_server):
        okta_mock_server.fail_next("introspect", status=503)
        response = call(client, "some-opaque-token")
        assert response.status_code == 503
        assert response.json["error"] == "temporarily_unavailable"


def mock_issued_access_token(okta_mock_server, client) -> str:
    """An access token the mock server issued (and can introspect), with messages:read."""
    import requests

    settings = client.application.config
    response = requests.post(
        okta_mock_server.endpoint_url("token"),
        data={"grant_type": "client_credentials", "scope": "messages:read"},
        auth=(settings["OKTA_CLIENT_ID"], settings["OKTA_CLIENT_SECRET"]),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def test_org_authorization_server_introspects_automatically(okta_settings):
    from flask_okta_client.config import load_config

    config = load_config({**okta_settings, "OKTA_ISSUER": "https://dev-1.okta.com"}, {})
    assert config.is_org_authorization_server
