"""DPoP (RFC 9449) at the mock, shaped like Okta's: proofs checked at the token and
UserInfo endpoints, a nonce required at the token endpoint, ``cnf.jkt`` in access tokens.

Written independently of the library's own proof checks, so a mistake in those
cannot hide behind the same mistake here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import g, has_request_context
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

#: What Okta lists in ``dpop_signing_alg_values_supported``.
PROOF_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
PROOF_WINDOW = 300
NONCE_HEADER = "DPoP-Nonce"
NONCE_LIFETIME = 600
_KEY_TYPES = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}


class InvalidDPoPProof(OAuth2Error):
    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonce(OAuth2Error):
    error = "use_dpop_nonce"
    status_code = 400


def bound_key() -> str | None:
    """The thumbprint of the key this token request proved, if it sent a DPoP proof."""
    return g.get("dpop_jkt") if has_request_context() else None


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def token_hash(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


class Nonces:
    """The token endpoint's current nonce; older ones stay valid for ``NONCE_LIFETIME``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, float] = {}
        self.current = self.rotate()

    def rotate(self, keep_old: bool = True) -> str:
        nonce = secrets.token_urlsafe(16)
        with self._lock:
            now = time.time()
            self._issued = {n: t for n, t in self._issued.items() if keep_old and t > now - NONCE_LIFETIME}
            self._issued[nonce] = now
        self.current = nonce
        return nonce

    def valid(self, nonce: Any) -> bool:
        with self._lock:
            issued = self._issued.get(nonce) if isinstance(nonce, str) else None
        return issued is not None and issued > time.time() - NONCE_LIFETIME


class ProofChecker:
    """Checks one request's ``DPoP`` header; the key's thumbprint when it is valid."""

    def __init__(self, first_use: Any) -> None:
        self.first_use = first_use
        self.nonces = Nonces()
        self.require_nonce = True
        self.algorithms: tuple[str, ...] = PROOF_ALGORITHMS

    def check(self, headers: Any, method: str, url: str, *, access_token: str | None = None,
              nonce_required: bool = False) -> str:
        proofs = headers.getlist("DPoP")
        if len(proofs) != 1:
            raise InvalidDPoPProof("The DPoP proof JWT header is missing." if not proofs else "Too many DPoP proofs.")
        try:
            compact = jws.extract_compact(proofs[0].encode())
            header = compact.headers()
            claims = json.loads(compact.payload)
            jwk = header.get("jwk")
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in self.algorithms or \
                    not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in _KEY_TYPES:
                raise InvalidDPoPProof("The DPoP proof header is not valid.")
            key = _KEY_TYPES[jwk["kty"]].import_key(jwk)
            jws.deserialize_compact(proofs[0], key, algorithms=[header["alg"]])
        except (JoseError, ValueError, KeyError, TypeError):
            raise InvalidDPoPProof("The DPoP proof signature is not valid.") from None
        if claims.get("htm") != method or claims.get("htu") != url:
            raise InvalidDPoPProof("The DPoP proof htm or htu does not match the request.")
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > PROOF_WINDOW:
            raise InvalidDPoPProof("The DPoP proof iat is not recent.")
        if access_token is not None and claims.get("ath") != token_hash(access_token):
            raise InvalidDPoPProof("The DPoP proof ath does not match the access token.")
        if nonce_required and self.require_nonce and not self.nonces.valid(claims.get("nonce")):
            raise UseDPoPNonce("Authorization server requires nonce in DPoP proof.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not self.first_use("dpop", jti):
            raise InvalidDPoPProof("The DPoP proof jti was used before.")
        return thumbprint(jwk)
