"""Shared helpers for the token, JWKS and discovery specification tests.

Everything here is independent of the library's own JOSE code: keys are made
with ``cryptography`` and exported to JWK by hand, tokens are minted with
python-jose (or assembled byte by byte for attacks). No network is used: a
:class:`FakeHttp` stands in for :class:`flask_okta_client.protocol.http.HttpClient`.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from jose import jwk as jose_jwk
from jose import jwt as jose_jwt

from flask_okta_client.config import load_config
from flask_okta_client.errors import ProviderError, ProviderUnavailable
from flask_okta_client.protocol import discovery as discovery_module
from flask_okta_client.protocol import jwks as jwks_module
from flask_okta_client.protocol.discovery import MetadataCache
from flask_okta_client.protocol.jwks import JwksCache
from flask_okta_client.protocol.verifier import TokenVerifier

ISSUER = "https://dev-123456.okta.com/oauth2/default"
CLIENT_ID = "0oa1client2id3"
CLIENT_SECRET = "s3cr3t-client-secret-that-is-long-enough-for-hmac-0123456789"
DISCOVERY_URL = ISSUER + "/.well-known/openid-configuration"
JWKS_URI = ISSUER + "/v1/keys"
ATTACKER_JWKS_URL = "https://attacker.example/jwks.json"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_700_000_000
SKEW = 60
COOLDOWN = 60.0
JWKS_TTL = 3600

DROP = object()  # a claim/header value meaning "leave this one out"


# --------------------------------------------------------------------------- encoding


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _uint(number: int, length: int | None = None) -> str:
    length = length or (number.bit_length() + 7) // 8
    return b64url(number.to_bytes(length, "big"))


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class SigningKey:
    """A private key with its PEMs and its public JWK (as a provider would publish it)."""

    kid: str
    alg: str
    private_key: Any
    private_pem: bytes
    public_pem: bytes
    public_jwk: dict[str, Any]

    def jwk(self, **overrides: Any) -> dict[str, Any]:
        """The public JWK, with ``overrides`` applied (``DROP`` removes a member)."""
        data = {**self.public_jwk, **overrides}
        return {k: v for k, v in data.items() if v is not DROP}


def _pems(private_key: Any) -> tuple[bytes, bytes]:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@functools.cache
def rsa_key(kid: str) -> SigningKey:
    """A 2048-bit RSA key, generated once per process for each ``kid``."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private_key.public_key().public_numbers()
    private_pem, public_pem = _pems(private_key)
    jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    return SigningKey(kid, "RS256", private_key, private_pem, public_pem, jwk)


@functools.cache
def ec_key(kid: str) -> SigningKey:
    """A P-256 key for ES256."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    numbers = private_key.public_key().public_numbers()
    private_pem, public_pem = _pems(private_key)
    jwk = {
        "kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
        "x": _uint(numbers.x, 32), "y": _uint(numbers.y, 32),
    }
    return SigningKey(kid, "ES256", private_key, private_pem, public_pem, jwk)


def primary() -> SigningKey:
    """The provider's current signing key."""
    return rsa_key("primary-2024")


def rotated() -> SigningKey:
    """The provider's next signing key (not published at first)."""
    return rsa_key("rotated-2025")


def attacker() -> SigningKey:
    """A key the provider never published."""
    return rsa_key("attacker")


def self_signed_certificate_der(key: SigningKey) -> bytes:
    """A self-signed certificate for ``key`` (for ``x5c`` injection)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.example")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.private_key.public_key())
        .serial_number(1)
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=36500))
        .sign(key.private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


# --------------------------------------------------------------------------- claims & tokens


def _apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = {**base, **overrides}
    return {k: v for k, v in data.items() if v is not DROP}


def id_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid ID token at ``NOW``; ``DROP`` removes a claim."""
    return _apply(
        {"iss": ISSUER, "aud": CLIENT_ID, "sub": "00u1user", "iat": NOW - 10, "exp": NOW + 3600,
         "nonce": NONCE, "auth_time": NOW - 20},
        overrides,
    )


def access_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid Okta JWT access token at ``NOW``."""
    return _apply(
        {"iss": ISSUER, "aud": "api://default", "sub": "00u1user", "cid": CLIENT_ID, "iat": NOW - 10,
         "exp": NOW + 3600, "scp": ["openid", "profile"], "jti": "AT.1"},
        overrides,
    )


def mint(claims: dict[str, Any], key: SigningKey | None = None, headers: dict[str, Any] | None = None,
         algorithm: str | None = None) -> str:
    """A token signed with python-jose. The header gets the key's ``kid`` unless
    ``headers`` overrides it (``{"kid": DROP}`` leaves it out)."""
    key = key or primary()
    header = _apply({"kid": key.kid}, headers or {})
    algorithm = algorithm or key.alg
    return jose_jwt.encode(claims, _jose_key(key.private_pem, algorithm), algorithm=algorithm, headers=header)


@functools.cache
def _jose_key(private_pem: bytes, algorithm: str) -> Any:
    """python-jose's key for a private PEM (parsed once: PEM loading is slow)."""
    return jose_jwk.construct(private_pem.decode("ascii"), algorithm)


def mint_hs256(claims: dict[str, Any], secret: str | bytes, headers: dict[str, Any] | None = None) -> str:
    """An HS256 token with python-jose (refuses PEM-looking secrets, see :func:`forge_hmac`)."""
    return jose_jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def assemble(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS from parts, signature as given (hand-built attack tokens)."""
    return f"{b64url_json(header)}.{b64url_json(claims)}.{b64url(signature)}"


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    return f"{b64url_json(header)}.{b64url_json(claims)}".encode("ascii")


def forge_hmac(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 over the signing input with an arbitrary secret (e.g. an RSA public key PEM)."""
    data = signing_input(header, claims)
    return data.decode("ascii") + "." + b64url(hmac.new(secret, data, hashlib.sha256).digest())


def forge_rs256(header: dict[str, Any], claims: dict[str, Any], key: SigningKey) -> str:
    """RS256 by hand with ``cryptography``, for headers python-jose would not write."""
    data = signing_input(header, claims)
    signature = key.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return data.decode("ascii") + "." + b64url(signature)


def half_hash(value: str) -> str:
    """``at_hash`` for RS256: left half of SHA-256, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return b64url(digest[:16])


# --------------------------------------------------------------------------- fake network


class FakeHttp:
    """Stands in for ``HttpClient``: serves a dict per URL, counts calls, can fail."""

    def __init__(self, documents: dict[str, dict[str, Any]] | None = None, delay: float = 0.0) -> None:
        self.documents = dict(documents or {})
        self.errors: dict[str, Exception] = {}
        self.delay = delay
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def serve(self, url: str, document: dict[str, Any]) -> None:
        self.documents[url] = document
        self.errors.pop(url, None)

    def fail(self, url: str, error: Exception | None = None) -> None:
        self.errors[url] = error or ProviderUnavailable("The sign-in service is unavailable.")

    def recover(self, url: str) -> None:
        self.errors.pop(url, None)

    def get_json(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        with self._lock:
            self.calls.append(url)
        if self.delay:
            time.sleep(self.delay)
        if url in self.errors:
            raise self.errors[url]
        if url not in self.documents:
            raise ProviderError("The sign-in service refused a configuration request.")
        return copy.deepcopy(self.documents[url])

    def count(self, url: str) -> int:
        with self._lock:
            return Counter(self.calls)[url]


def discovery_document(**overrides: Any) -> dict[str, Any]:
    return _apply(
        {
            "issuer": ISSUER,
            "authorization_endpoint": ISSUER + "/v1/authorize",
            "token_endpoint": ISSUER + "/v1/token",
            "userinfo_endpoint": ISSUER + "/v1/userinfo",
            "jwks_uri": JWKS_URI,
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        },
        overrides,
    )


def jwks_document(*keys: SigningKey | dict[str, Any]) -> dict[str, Any]:
    return {"keys": [k.public_jwk if isinstance(k, SigningKey) else k for k in keys]}


def fake_provider(keys: list[SigningKey | dict[str, Any]] | None = None,
                  discovery: dict[str, Any] | None = None, delay: float = 0.0) -> FakeHttp:
    """A FakeHttp serving the discovery document and the JWKS (default: the primary key)."""
    return FakeHttp(
        {
            DISCOVERY_URL: discovery if discovery is not None else discovery_document(),
            JWKS_URI: jwks_document(*(keys if keys is not None else [primary()])),
        },
        delay=delay,
    )


class FakeMonotonic:
    """A settable ``time`` stand-in (only ``monotonic`` is used by the caches)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def install_fake_monotonic(monkeypatch: Any) -> FakeMonotonic:
    """Point the JWKS and discovery caches (only) at a fake clock."""
    clock = FakeMonotonic()
    monkeypatch.setattr(jwks_module, "time", clock)
    monkeypatch.setattr(discovery_module, "time", clock)
    return clock


def base_settings(**overrides: Any) -> dict[str, Any]:
    settings = {
        "OKTA_ISSUER": ISSUER,
        "OKTA_CLIENT_ID": CLIENT_ID,
        "OKTA_CLIENT_SECRET": CLIENT_SECRET,
        "OKTA_CLOCK_SKEW": SKEW,
        "OKTA_JWKS_REFRESH_COOLDOWN": COOLDOWN,
        "OKTA_JWKS_TTL": JWKS_TTL,
    }
    settings.update(overrides)
    return {k: v for k, v in settings.items() if v is not None and v is not DROP}


def make_verifier(*, http: FakeHttp | None = None, keys: list[SigningKey | dict[str, Any]] | None = None,
                  discovery: dict[str, Any] | None = None, clock: Any = None,
                  **config_overrides: Any) -> TokenVerifier:
    """A TokenVerifier over a fake provider; ``OKTA_*`` keyword arguments override the config.

    ``verifier.jwks.http`` is the FakeHttp.
    """
    config = load_config(base_settings(**config_overrides), environ={})
    http = http or fake_provider(keys=keys, discovery=discovery)
    metadata = MetadataCache(config.issuer, http, config.metadata_ttl)
    jwks = JwksCache(lambda: metadata.get()["jwks_uri"], http, config.jwks_ttl, config.jwks_refresh_cooldown)
    return TokenVerifier(config, metadata, jwks, clock=clock or (lambda: float(NOW)))
