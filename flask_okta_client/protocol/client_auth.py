"""Client authentication with signed JWT assertions (RFC 7523 §2.2).

``private_key_jwt`` signs with the configured private key, ``client_secret_jwt``
with the client secret. Authlib's ``PrivateKeyJWT`` / ``ClientSecretJWT`` attach
the assertion to each request; this module loads the key and signs assertions
the way Okta expects them: ``iss`` = ``sub`` = client id, ``aud`` = the endpoint
being called, a five-minute lifetime, a unique ``jti`` and the key's ``kid``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Union

from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from ..config import OktaConfig
from ..errors import ConfigError
from .http import endpoint_name

PrivateKey = Union[RSAKey, ECKey, OKPKey]

#: Lifetime of a signed assertion, in seconds.
ASSERTION_LIFETIME = 300
_EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def _from_pem(pem: bytes, parameters: dict[str, str], setting: str) -> PrivateKey:
    if b"PRIVATE KEY" not in pem:
        raise ConfigError(f"{setting} holds a public key; it needs the private key (PEM or JWK)")
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(f"{setting} is an encrypted PEM; give an unencrypted private key") from None
    except ValueError:
        raise ConfigError(f"{setting} is not a readable PEM private key") from None
    if isinstance(loaded, rsa.RSAPrivateKey):
        return RSAKey.import_key(loaded, parameters)
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(loaded, parameters)
    if isinstance(loaded, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return OKPKey.import_key(loaded, parameters)
    raise ConfigError(f"{setting} must be an RSA, EC or Ed25519 private key")


def _from_jwk(jwk: Mapping[str, Any], parameters: dict[str, str], setting: str) -> PrivateKey:
    key_class = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}.get(str(jwk.get("kty")))
    if key_class is None:
        raise ConfigError(f"{setting} must be an RSA, EC or OKP private JWK (kty RSA, EC or OKP)")
    try:
        key = key_class.import_key(dict(jwk), parameters)
    except (JoseError, ValueError, TypeError, KeyError):
        raise ConfigError(f"{setting} is not a valid JWK") from None
    if not key.is_private:
        raise ConfigError(f"{setting} is a public JWK; it needs the private key (with 'd')")
    return key


def _read(value: str, setting: str) -> str:
    """The setting's text: PEM or JWK JSON inline, otherwise the file it names."""
    text = value.strip()
    if text.startswith(("-----BEGIN", "{")):
        return text
    try:
        return Path(text).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read the key file {text!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{setting}: {text!r} is not a PEM or JWK text file") from None


def load_private_key(value: str | Path | Mapping[str, Any], kid: str | None = None,
                     setting: str = "OKTA_PRIVATE_KEY") -> PrivateKey:
    """The signing key from ``OKTA_PRIVATE_KEY`` (or ``setting``): a PEM file path, PEM text, JWK JSON or a dict.

    Its ``kid`` is ``kid`` (``OKTA_PRIVATE_KEY_ID``) when given, else the JWK's own
    ``kid``, else the key's RFC 7638 thumbprint.
    """
    parameters = {"kid": kid} if kid else {}
    if isinstance(value, Mapping):
        key = _from_jwk(value, parameters, setting)
    elif isinstance(value, (str, Path)) and str(value).strip():
        text = _read(str(value), setting).strip()
        if text.startswith("{"):
            try:
                jwk = json.loads(text)
            except ValueError:
                raise ConfigError(f"{setting} looks like JSON but is not valid JSON") from None
            key = _from_jwk(jwk, parameters, setting)
        else:
            key = _from_pem(text.encode(), parameters, setting)
    else:
        raise ConfigError(f"{setting} must be a PEM file path, PEM text, a JWK JSON string or a dict")
    key.ensure_kid()
    return key


def signing_algorithm(key: PrivateKey, accepted: Collection[str] | None = None) -> str:
    """The JWS algorithm for ``key``: its ``alg`` when set, else the usual one for its type.

    An Ed25519 key signs as ``Ed25519`` (RFC 9864) when the receiver's ``accepted``
    algorithms list it, else as ``EdDSA`` (RFC 8037), which older servers know.
    """
    if key.alg:
        return key.alg
    if isinstance(key, ECKey):
        return _EC_ALGORITHMS.get(key.curve_name, "ES256")
    if isinstance(key, OKPKey):
        return "Ed25519" if key.curve_name == "Ed25519" and "Ed25519" in (accepted or ()) else "EdDSA"
    return "RS256"


def sign_assertion(key: PrivateKey | OctKey, alg: str, claims: Mapping[str, Any]) -> str:
    """A JWT with ``iat``, ``exp`` (five minutes) and a fresh ``jti``, overridden by ``claims``."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24), **claims}
    header = {"alg": alg, "typ": "JWT"}
    if key.kid:
        header["kid"] = key.kid
    return jwt.encode(header, payload, key, algorithms=[alg])


def _client_claims(client_id: str, endpoint: str) -> dict[str, str]:
    # Okta requires aud to be the endpoint invoked (token, PAR, revocation…), without its query.
    return {"iss": client_id, "sub": client_id, "aud": endpoint_name(endpoint)}


class PrivateKeyAssertion(PrivateKeyJWT):
    """``private_key_jwt`` signed with the configured key.

    ``accepted()`` gives the provider's ``token_endpoint_auth_signing_alg_values_supported``
    when an assertion is signed: an Ed25519 key signs as ``Ed25519`` where it is listed.
    """

    def __init__(self, key: PrivateKey, accepted: Callable[[], Collection[str]] = tuple) -> None:
        super().__init__(alg=signing_algorithm(key))
        self.key = key
        self.accepted = accepted

    def sign(self, auth: Any, token_endpoint: str) -> str:
        alg = signing_algorithm(self.key, self.accepted())
        return sign_assertion(self.key, alg, _client_claims(auth.client_id, token_endpoint))


class SecretAssertion(ClientSecretJWT):
    """``client_secret_jwt``: an HS256 assertion keyed with the client secret."""

    def sign(self, auth: Any, token_endpoint: str) -> str:
        key = OctKey.import_key(auth.client_secret)
        return sign_assertion(key, self.alg, _client_claims(auth.client_id, token_endpoint))


def client_auth_methods(config: OktaConfig, accepted: Callable[[], Collection[str]] = tuple,
                        ) -> tuple[ClientSecretJWT, ...]:
    """The Authlib client-auth objects to register on an ``OAuth2Session`` for ``config``;
    ``accepted()``: the assertion algorithms the provider lists.

    Empty for the methods Authlib handles itself (``client_secret_basic/post``, ``none``).
    """
    if config.client_auth_method == "private_key_jwt":
        return (PrivateKeyAssertion(load_private_key(config.private_key, config.private_key_id), accepted),)
    if config.client_auth_method == "client_secret_jwt":
        return (SecretAssertion(),)
    return ()
