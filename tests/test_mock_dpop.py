"""The mock Okta's DPoP, shaped like Okta's: proofs at the token endpoint after a nonce challenge,
``cnf.jkt`` and ``token_type: DPoP`` in the answer, bound tokens at UserInfo and introspection.

Proofs are signed with python-jose, independently of the library's own proof code.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt as jose_jwt
from joserfc.jwk import ECKey

from flask_okta_client.testing.mock_server import MockClient, MockOktaServer

SERVICE = ("service", "service-secret-0123456789abcdef")
STRICT = ("strict", "strict-secret-0123456789abcdef")


@pytest.fixture(scope="module")
def okta() -> Iterator[MockOktaServer]:
    with MockOktaServer() as server:
        server.add_client(MockClient(*SERVICE, scopes=("api.read",)))
        server.add_client(MockClient(*STRICT, scopes=("api.read",), dpop_bound_access_tokens=True))
        yield server


class Holder:
    """A DPoP key holder signing proofs with python-jose."""

    def __init__(self) -> None:
        self.key = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
        self.public = self.key.as_dict(private=False)
        self.jkt = self.key.thumbprint()

    def proof(self, method: str, url: str, **claims: Any) -> str:
        payload = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_hex(12), **claims}
        headers = {"typ": "dpop+jwt", "jwk": self.public}
        return jose_jwt.encode(payload, self.key.as_dict(private=True), algorithm="ES256", headers=headers)


def token_call(okta: MockOktaServer, proof: str | None, auth=SERVICE) -> requests.Response:
    headers = {"DPoP": proof} if proof else {}
    return requests.post(okta.endpoint_url("token"), data={"grant_type": "client_credentials", "scope": "api.read"},
                         auth=auth, headers=headers, timeout=5)


def bound_token(okta: MockOktaServer, holder: Holder) -> dict[str, Any]:
    url = okta.endpoint_url("token")
    response = token_call(okta, holder.proof("POST", url, nonce=okta.dpop_nonce))
    assert response.status_code == 200, response.text
    return response.json()


def test_discovery_lists_the_proof_algorithms(okta):
    document = requests.get(okta.endpoint_url("discovery"), timeout=5).json()
    assert "ES256" in document["dpop_signing_alg_values_supported"]


def test_proof_without_nonce_is_challenged(okta):
    response = token_call(okta, Holder().proof("POST", okta.endpoint_url("token")))
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert response.headers["DPoP-Nonce"] == okta.dpop_nonce


def test_proof_with_nonce_gets_a_bound_token(okta):
    holder = Holder()
    token = bound_token(okta, holder)
    assert token["token_type"] == "DPoP"
    claims = jose_jwt.get_unverified_claims(token["access_token"])
    assert claims["cnf"] == {"jkt": holder.jkt}


def test_replayed_proof_is_refused(okta):
    proof = Holder().proof("POST", okta.endpoint_url("token"), nonce=okta.dpop_nonce)
    assert token_call(okta, proof).status_code == 200
    replay = token_call(okta, proof)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_dpop_proof"


def test_proof_for_another_url_is_refused(okta):
    proof = Holder().proof("POST", okta.endpoint_url("userinfo"), nonce=okta.dpop_nonce)
    assert token_call(okta, proof).json()["error"] == "invalid_dpop_proof"


def test_client_requiring_dpop_refuses_a_request_without_proof(okta):
    response = token_call(okta, None, auth=STRICT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


def test_bound_token_needs_its_proof_at_userinfo(okta):
    holder = Holder()
    user = okta.set_user("carol")
    subject = okta.sign({"iss": okta.issuer, "aud": "api://default", "uid": user.sub, "sub": "carol",
                         "exp": int(time.time()) + 60, "iat": int(time.time())})
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": subject,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "api.read"}
    url = okta.endpoint_url("token")
    okta.add_client(MockClient("exchanger", "exchanger-secret-0123456789", scopes=("openid", "api.read")))
    answer = requests.post(url, data={**data, "scope": "openid"}, auth=("exchanger", "exchanger-secret-0123456789"),
                           headers={"DPoP": holder.proof("POST", url, nonce=okta.dpop_nonce)}, timeout=5).json()
    access_token = answer["access_token"]
    userinfo = okta.endpoint_url("userinfo")
    as_bearer = requests.get(userinfo, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
    assert as_bearer.status_code == 401
    ath = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
    with_proof = requests.get(userinfo, timeout=5, headers={
        "Authorization": f"DPoP {access_token}", "DPoP": holder.proof("GET", userinfo, ath=ath)})
    assert with_proof.status_code == 200, with_proof.text
    assert with_proof.json()["preferred_username"] == "carol"
    other_key = requests.get(userinfo, timeout=5, headers={
        "Authorization": f"DPoP {access_token}", "DPoP": Holder().proof("GET", userinfo, ath=ath)})
    assert other_key.status_code == 401


def test_introspection_shows_the_binding(okta):
    holder = Holder()
    token = bound_token(okta, holder)
    answer = requests.post(okta.endpoint_url("introspect"), data={"token": token["access_token"]}, auth=SERVICE,
                           timeout=5).json()
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": holder.jkt}
