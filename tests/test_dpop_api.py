"""``@bearer_token_required`` with DPoP-bound access tokens (RFC 9449 §7): the proof is checked in
full, and every way to misuse a token or a proof is refused.

Proofs are signed with python-jose, independently of the library's own proof code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import pytest
import redis
from cachelib import RedisCache
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt as jose_jwt
from joserfc.jwk import ECKey, RSAKey
from werkzeug.middleware.proxy_fix import ProxyFix

from tests.site import make_site

API = "http://localhost/api/messages"


class Holder:
    """A client holding a DPoP key: signs proofs, and gets tokens bound to its key."""

    def __init__(self, curve: ec.EllipticCurve | None = None) -> None:
        self.key = ECKey.import_key(ec.generate_private_key(curve or ec.SECP256R1()))
        self.private = self.key.as_dict(private=True)
        self.public = self.key.as_dict(private=False)
        self.jkt = self.key.thumbprint()

    def proof(self, token: str | None = None, *, method: str = "GET", url: str = API, alg: str = "ES256",
              header: dict[str, Any] | None = None, key: Any = None, **claims: Any) -> str:
        payload: dict[str, Any] = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_hex(12)}
        if token is not None:
            payload["ath"] = ath(token)
        payload.update(claims)
        headers = {"typ": "dpop+jwt", "jwk": self.public, **(header or {})}
        return jose_jwt.encode(payload, self.private if key is None else key, algorithm=alg, headers=headers)


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def api(okta_settings):
    return make_site(okta_settings).test_client()


@pytest.fixture
def holder() -> Holder:
    return Holder()


@pytest.fixture
def bound_token(okta_access_token, holder) -> str:
    return okta_access_token(scopes=["messages:read"], cnf={"jkt": holder.jkt})


def call(client, token: str, proof: str | list[str] | None, scheme: str = "DPoP", path: str = "/api/messages",
         method: str = "GET", extra: dict[str, str] | None = None):
    headers: list[tuple[str, str]] = [("Authorization", f"{scheme} {token}"), *(extra or {}).items()]
    for value in [proof] if isinstance(proof, str) else proof or []:
        headers.append(("DPoP", value))
    return client.open(path, method=method, headers=headers)


def assert_refused(response, error: str = "invalid_dpop_proof") -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json["error"] == error
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP error="{error}"')
    assert 'algs="ES256' in challenge


def test_bound_token_with_its_proof_is_accepted(api, holder, bound_token):
    response = call(api, bound_token, holder.proof(bound_token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["sub"]


def test_scheme_and_htu_are_compared_normalised(api, holder, bound_token):
    proof = holder.proof(bound_token, url="HTTP://LocalHost:80/api/%6Dessages?ignored=1#frag")
    assert call(api, bound_token, proof, scheme="dpop", path="/api/messages?x=1").status_code == 200


def test_replayed_proof_is_refused(api, holder, bound_token):
    proof = holder.proof(bound_token)
    assert call(api, bound_token, proof).status_code == 200
    assert_refused(call(api, bound_token, proof))


def test_proof_for_another_url_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token, url="http://localhost/api/other")))
    assert_refused(call(api, bound_token, holder.proof(bound_token, url="https://localhost/api/messages")))
    assert_refused(call(api, bound_token, holder.proof(bound_token, url="http://evil.example/api/messages")))


def test_proof_for_another_method_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token, method="POST")))


def test_proof_signed_by_another_key_is_refused(api, bound_token):
    assert_refused(call(api, bound_token, Holder().proof(bound_token)))


def test_proof_with_a_jwk_other_than_the_signing_key_is_refused(api, holder, bound_token):
    forger = Holder()
    assert_refused(call(api, bound_token, holder.proof(bound_token, key=forger.private)))


def test_proof_for_another_token_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof("another-token")))
    assert_refused(call(api, bound_token, holder.proof(None)))


def test_stolen_bound_token_used_as_bearer_is_refused(api, bound_token):
    response = call(api, bound_token, None, scheme="Bearer")
    assert_refused(response, "invalid_token")


def test_stolen_bound_token_used_as_bearer_with_a_proof_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token), scheme="Bearer"), "invalid_token")


def test_hmac_proof_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token, alg="HS256", key="shared-secret")))


def test_unsigned_proof_is_refused(api, holder, bound_token):
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    claims = {"htm": "GET", "htu": API, "iat": int(time.time()), "jti": "x1", "ath": ath(bound_token)}
    proof = f"{part({'typ': 'dpop+jwt', 'alg': 'none', 'jwk': holder.public})}.{part(claims)}."
    assert_refused(call(api, bound_token, proof))


def test_proof_with_a_private_key_in_its_jwk_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token, header={"jwk": holder.private})))


def test_proof_whose_jwk_may_not_verify_is_refused(api, holder, bound_token):
    jwk = {**holder.public, "key_ops": ["sign"]}
    assert_refused(call(api, bound_token, holder.proof(bound_token, header={"jwk": jwk})))


def test_proof_whose_key_does_not_fit_its_algorithm_is_refused(okta_access_token, api):
    p384 = Holder(ec.SECP384R1())
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": p384.jkt})
    assert_refused(call(api, token, p384.proof(token, alg="ES384", header={"alg": "ES256"})))


def test_rsa_proofs_are_accepted(okta_access_token, api):
    rsa = RSAKey.generate_key(2048)
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": rsa.thumbprint()})
    proof = jose_jwt.encode({"htm": "GET", "htu": API, "iat": int(time.time()), "jti": "r1", "ath": ath(token)},
                            rsa.as_dict(private=True), algorithm="RS256",
                            headers={"typ": "dpop+jwt", "jwk": rsa.as_dict(private=False)})
    assert call(api, token, proof).status_code == 200


@pytest.mark.parametrize("age", [200, -200])
def test_stale_or_future_proof_is_refused(api, holder, bound_token, age):
    assert_refused(call(api, bound_token, holder.proof(bound_token, iat=int(time.time()) - age)))


def test_proof_of_another_type_is_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, holder.proof(bound_token, header={"typ": "JWT"})))


@pytest.mark.parametrize("claims", [{"jti": None}, {"jti": ""}, {"iat": "now"}, {"htm": None}])
def test_proof_with_missing_claims_is_refused(api, holder, bound_token, claims):
    assert_refused(call(api, bound_token, holder.proof(bound_token, **claims)))


def test_missing_proof_is_refused(api, bound_token):
    assert_refused(call(api, bound_token, None))


def test_two_proofs_are_refused(api, holder, bound_token):
    assert_refused(call(api, bound_token, [holder.proof(bound_token), holder.proof(bound_token)]))


@pytest.mark.parametrize("proof", ["not-a-jwt", "a.b.c", "e30.e30.e30"])
def test_garbage_proof_is_refused(api, bound_token, proof):
    assert_refused(call(api, bound_token, proof))


def test_unbound_token_under_the_dpop_scheme_is_refused(api, holder, okta_access_token):
    token = okta_access_token(scopes=["messages:read"])
    assert_refused(call(api, token, holder.proof(token)), "invalid_token")


def test_token_bound_some_other_way_is_refused(api, okta_access_token):
    token = okta_access_token(scopes=["messages:read"], cnf={"x5t#S256": "abc"})
    assert call(api, token, None, scheme="Bearer").status_code == 401


def test_plain_bearer_tokens_still_work(api, okta_access_token):
    token = okta_access_token(scopes=["messages:read"])
    response = call(api, token, None, scheme="Bearer")
    assert response.status_code == 200
    assert response.headers.get("WWW-Authenticate") is None


def test_missing_scope_under_dpop_answers_a_dpop_challenge(api, holder, okta_access_token):
    token = okta_access_token(scopes=["other"], cnf={"jkt": holder.jkt})
    response = call(api, token, holder.proof(token))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="insufficient_scope", scope="messages:read"')


def test_nonces_when_required(okta_settings, holder, bound_token):
    api = make_site(okta_settings, OKTA_DPOP_REQUIRE_NONCE=True).test_client()
    first = call(api, bound_token, holder.proof(bound_token))
    assert_refused(first, "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]
    assert_refused(call(api, bound_token, holder.proof(bound_token, nonce="made-up")), "use_dpop_nonce")
    assert call(api, bound_token, holder.proof(bound_token, nonce=nonce)).status_code == 200


def test_nonce_from_a_site_with_another_secret_is_refused(okta_settings, holder, bound_token):
    other = make_site(okta_settings, OKTA_DPOP_REQUIRE_NONCE=True, SECRET_KEY="another-secret-key-0123456789abcdefghij")
    nonce = call(other.test_client(), bound_token, holder.proof(bound_token)).headers["DPoP-Nonce"]
    api = make_site(okta_settings, OKTA_DPOP_REQUIRE_NONCE=True).test_client()
    assert_refused(call(api, bound_token, holder.proof(bound_token, nonce=nonce)), "use_dpop_nonce")


def test_behind_a_proxy_the_public_url_counts(okta_settings, holder, bound_token):
    app = make_site(okta_settings)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
    proof = holder.proof(bound_token, url="https://api.example.com/api/messages")
    response = call(app.test_client(), bound_token, proof, extra=forwarded)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_replay_cache_is_shared_through_the_server_side_store(okta_settings, holder, bound_token, redis_url):
    prefix = f"okta-test-{secrets.token_hex(4)}:"

    def instance():
        cache = RedisCache(host=redis.Redis.from_url(redis_url), key_prefix=prefix)
        return make_site(okta_settings, OKTA_TOKEN_STORE=cache).test_client()

    first, second = instance(), instance()
    proof = holder.proof(bound_token)
    assert call(first, bound_token, proof).status_code == 200
    assert_refused(call(second, bound_token, proof))


def test_proof_algorithms_can_be_narrowed(okta_settings, holder, bound_token):
    api = make_site(okta_settings, OKTA_DPOP_PROOF_ALGORITHMS="PS256").test_client()
    response = call(api, bound_token, holder.proof(bound_token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].endswith('algs="PS256"')
