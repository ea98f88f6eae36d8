"""Loading the private key, signed client assertions, and PAR, against the mock Okta."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from flask_okta_client import ConfigError, ProviderError, ProviderUnavailable
from flask_okta_client.protocol.client import GrantError, ProviderClient
from flask_okta_client.protocol.client_auth import (
    ASSERTION_LIFETIME,
    PrivateKeyAssertion,
    SecretAssertion,
    load_private_key,
    signing_algorithm,
)
from flask_okta_client.testing.mock_server import MockClient, MockOktaServer
from tests.site import app_for_client

REDIRECT_URI = "http://localhost/authorization-code/callback"


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048)


# load_private_key


def test_loads_pem_text_with_thumbprint_kid(rsa_key: RSAKey) -> None:
    key = load_private_key(rsa_key.as_pem(private=True).decode())
    assert key.is_private and key.kid == rsa_key.thumbprint()
    assert signing_algorithm(key) == "RS256"


def test_loads_pem_file_with_configured_kid(rsa_key: RSAKey, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(rsa_key.as_pem(private=True))
    assert load_private_key(str(path), "kid-1").kid == "kid-1"
    assert load_private_key(path).kid == rsa_key.thumbprint()


def test_loads_jwk_json_and_dict_keeping_their_kid(rsa_key: RSAKey) -> None:
    jwk = {**rsa_key.as_dict(private=True), "kid": "from-jwk"}
    assert load_private_key(json.dumps(jwk)).kid == "from-jwk"
    assert load_private_key(jwk).kid == "from-jwk"
    assert load_private_key(jwk, "override").kid == "override"


def test_ec_and_ed25519_keys_pick_their_algorithm() -> None:
    assert signing_algorithm(load_private_key(ECKey.generate_key("P-384").as_dict(private=True))) == "ES384"
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert signing_algorithm(load_private_key(pem.decode())) == "EdDSA"


@pytest.mark.parametrize("value, message", [
    ("/no/such/key.pem", "cannot read the key file"),
    ("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----", "not a readable PEM"),
    ('{"kty": "RSA", ', "not valid JSON"),
    ('{"keys": []}', "RSA, EC or OKP"),
    ({"kty": "oct", "k": "c2VjcmV0"}, "RSA, EC or OKP"),
    ({"kty": "RSA", "n": "bad"}, "not a valid JWK"),
    ("", "PEM file path"),
    (42, "PEM file path"),
])
def test_unreadable_keys_are_config_errors(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_private_key(value)  # type: ignore[arg-type]
    assert "OKTA_PRIVATE_KEY" in caught.value.description


def test_public_keys_are_refused(rsa_key: RSAKey) -> None:
    with pytest.raises(ConfigError, match="public"):
        load_private_key(rsa_key.as_pem(private=False).decode())
    with pytest.raises(ConfigError, match="public"):
        load_private_key(rsa_key.as_dict(private=False))


def test_encrypted_pem_is_refused(rsa_key: RSAKey) -> None:
    pem = rsa_key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    with pytest.raises(ConfigError, match="encrypted"):
        load_private_key(pem.decode())


# assertions


def test_private_key_assertion_shape(rsa_key: RSAKey) -> None:
    auth = PrivateKeyAssertion(load_private_key(rsa_key.as_dict(private=True), "kid-9"))
    endpoint = "https://okta.example/oauth2/default/v1/token"
    token = jwt.decode(auth.sign(SimpleNamespace(client_id="0oa1"), endpoint + "?x=1"), rsa_key)
    assert token.header == {"alg": "RS256", "typ": "JWT", "kid": "kid-9"}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == "0oa1"
    assert claims["aud"] == endpoint
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME <= 300
    again = jwt.decode(auth.sign(SimpleNamespace(client_id="0oa1"), endpoint), rsa_key)
    assert again.claims["jti"] != claims["jti"]


def test_secret_assertion_is_hs256_with_the_secret() -> None:
    secret = secrets.token_urlsafe(32)
    assertion = SecretAssertion().sign(SimpleNamespace(client_id="0oa2", client_secret=secret), "https://as/v1/token")
    token = jwt.decode(assertion, OctKey.import_key(secret))
    assert token.header["alg"] == "HS256" and token.claims["sub"] == "0oa2"


# against the mock


@pytest.fixture(scope="module")
def server() -> Iterator[MockOktaServer]:
    with MockOktaServer() as okta:
        yield okta


MakeClient = Callable[..., ProviderClient]


@pytest.fixture
def make_client(server: MockOktaServer) -> MakeClient:
    """The app's ``ProviderClient`` for a fresh client registered at the mock."""

    def make(settings: dict | None = None, **client_kwargs: object) -> ProviderClient:
        client_id = "0oa" + secrets.token_hex(6)
        mock = server.add_client(MockClient(client_id, redirect_uris=[REDIRECT_URI], **client_kwargs))
        return app_for_client(server, mock, settings).extensions["okta"].client

    return make


def sign_in(server: MockOktaServer, client: ProviderClient, query: dict[str, str]) -> dict:
    """Sign in as alice through the mock's page and redeem the code."""
    callback = server.login(server.endpoint_url("authorize") + "?" + urlencode(query), "alice")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    return client.exchange_code(code, query.get("_verifier", VERIFIER), REDIRECT_URI)


VERIFIER = secrets.token_urlsafe(48)


def authorization_params(client_id: str) -> dict[str, str]:
    return {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid profile",
        "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
        "code_challenge": create_s256_code_challenge(VERIFIER), "code_challenge_method": "S256",
    }


def test_private_key_jwt_code_exchange(server: MockOktaServer, make_client: MakeClient, rsa_key: RSAKey) -> None:
    public = {**rsa_key.as_dict(private=False), "kid": "k1"}
    client = make_client({"OKTA_PRIVATE_KEY": rsa_key.as_pem(private=True).decode(), "OKTA_PRIVATE_KEY_ID": "k1"},
                         jwks={"keys": [public]})
    token = sign_in(server, client, authorization_params(client.config.client_id))
    assert token["id_token"] and token["access_token"]


def test_private_key_jwt_with_an_unregistered_key_is_refused(make_client: MakeClient, rsa_key: RSAKey) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    client = make_client({"OKTA_PRIVATE_KEY": rsa_key.as_dict(private=True), "OKTA_PRIVATE_KEY_ID": "k1"},
                         jwks={"keys": [other.as_dict(private=False)]})
    with pytest.raises(ProviderError) as caught:
        client.token_request("client credentials grant", "client_credentials", scope="openid")
    assert caught.value.error == "invalid_client"


def test_client_secret_jwt(make_client: MakeClient) -> None:
    client = make_client({"OKTA_CLIENT_AUTH_METHOD": "client_secret_jwt"},
                         client_secret=secrets.token_urlsafe(32), token_endpoint_auth_method="client_secret_jwt")
    token = client.token_request("client credentials grant", "client_credentials", scope="openid")
    assert token["token_type"] == "Bearer"


def test_unreadable_private_key_fails_at_init(make_client: MakeClient, rsa_key: RSAKey) -> None:
    with pytest.raises(ConfigError, match="OKTA_PRIVATE_KEY"):
        make_client({"OKTA_PRIVATE_KEY": "/no/such/key.pem"}, jwks={"keys": [rsa_key.as_dict(private=False)]})


# pushed authorization requests


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_par_returns_a_request_uri_that_signs_in(server: MockOktaServer, make_client: MakeClient,
                                                 rsa_key: RSAKey, method: str) -> None:
    if method == "private_key_jwt":
        client = make_client({"OKTA_PRIVATE_KEY": rsa_key.as_dict(private=True)},
                             jwks={"keys": [rsa_key.as_dict(private=False)]})
    else:
        client = make_client({"OKTA_CLIENT_AUTH_METHOD": method}, client_secret=secrets.token_urlsafe(32),
                             token_endpoint_auth_method=method)
    client_id = client.config.client_id
    request_uri, expires_in = client.push_authorization_request(authorization_params(client_id))
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:") and expires_in == 60
    token = sign_in(server, client, {"client_id": client_id, "request_uri": request_uri})
    assert token["id_token"]


def test_failing_par_raises(server: MockOktaServer, make_client: MakeClient) -> None:
    client = make_client(client_secret=secrets.token_urlsafe(32))
    params = authorization_params(client.config.client_id)
    server.fail_next("par", status=503)
    with pytest.raises(ProviderUnavailable):
        client.push_authorization_request(params)
    with pytest.raises(GrantError) as caught:
        client.push_authorization_request({**params, "redirect_uri": "https://evil.example/cb"})
    assert caught.value.error == "invalid_request"
    server.fail_next("par", status=201, body='{"expires_in": 60}')
    with pytest.raises(ProviderError):
        client.push_authorization_request(params)


def test_par_with_wrong_credentials_is_provider_error(make_client: MakeClient) -> None:
    client = make_client({"OKTA_CLIENT_SECRET": "wrong-" + secrets.token_urlsafe(32)},
                         client_secret=secrets.token_urlsafe(32))
    with pytest.raises(ProviderError) as caught:
        client.push_authorization_request(authorization_params(client.config.client_id))
    assert caught.value.error == "invalid_client"


def test_assertion_header_names_the_kid(rsa_key: RSAKey) -> None:
    auth = PrivateKeyAssertion(load_private_key(rsa_key.as_pem(private=True).decode()))
    assertion = auth.sign(SimpleNamespace(client_id="c"), "https://as/v1/par")
    assert jws.extract_compact(assertion.encode()).headers()["kid"] == rsa_key.thumbprint()
