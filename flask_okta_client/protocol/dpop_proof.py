"""DPoP proofs presented to this site's API (RFC 9449 §4.3, §7): checked in full.

A request with ``Authorization: DPoP <token>`` must carry exactly one ``DPoP``
proof: a ``dpop+jwt`` signed with an allowed asymmetric algorithm by the public
key in its ``jwk`` header (no private members), for this request's method and
URL, recent, with ``ath`` = the token's hash, a ``jti`` never seen before, a
valid server nonce when nonces are required, and a key whose thumbprint is the
token's ``cnf.jkt``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from ..errors import TokenValidationError
from . import validation as rules
from .dpop import PROOF_TYPE, access_token_hash
from .jwks import key_fits

#: JWK members that only a private key has.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_JTI_LENGTH = 256
DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ENCODED = re.compile(rb"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class InvalidDPoPProof(TokenValidationError):
    """The proof is missing, malformed or does not fit the request or the token."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(TokenValidationError):
    """The proof lacks a valid server nonce; the answer carries a fresh one (RFC 9449 §9)."""

    error = "use_dpop_nonce"


def normalized_uri(url: str) -> tuple[str, str, int | None, str]:
    """Scheme, host, port and path, normalised per RFC 3986 §6.2.2-6.2.3 (case, default
    port, percent-encoding, empty path), for comparing ``htu`` with the request's URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidDPoPProof("The DPoP proof's htu is not a URL.") from None
    scheme = parts.scheme.lower()
    path = _PERCENT_ENCODED.sub(_normalize_escape, (parts.path or "/").encode("utf-8", "surrogateescape"))
    return scheme, (parts.hostname or ""), port or DEFAULT_PORTS.get(scheme), path.decode("utf-8", "surrogateescape")


def _normalize_escape(match: re.Match[bytes]) -> bytes:
    value = int(match.group(0)[1:], 16)
    return bytes([value]) if value in _UNRESERVED else match.group(0).upper()


class NonceIssuer:
    """Stateless server nonces: a timestamp and its HMAC, valid for ``lifetime`` seconds on
    every instance that shares ``secret``. A new one is issued each minute."""

    def __init__(self, secret: bytes, lifetime: int = 300, clock: Callable[[], float] = time.time) -> None:
        self.key = hmac.new(secret, b"flask-okta-client dpop nonce", hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock

    def _nonce_for(self, issued: int) -> str:
        stamp = struct.pack(">Q", issued)
        tag = hmac.new(self.key, stamp, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(stamp + tag).rstrip(b"=").decode("ascii")

    def current(self) -> str:
        now = int(self.clock())
        return self._nonce_for(now - now % 60)

    def valid(self, nonce: Any) -> bool:
        if not isinstance(nonce, str) or len(nonce) != 32:
            return False
        try:
            raw = base64.urlsafe_b64decode(nonce + "==")
        except ValueError:
            return False
        issued = struct.unpack(">Q", raw[:8])[0]
        if not hmac.compare_digest(self._nonce_for(issued), nonce):
            return False
        return 0 <= self.clock() - issued <= self.lifetime


class ProofValidator:
    """Checks the proofs that go with DPoP-bound access tokens.

    ``first_use(kind, value, ttl)`` remembers a proof's ``jti`` (in the shared
    store when there is one) and says whether it was new.
    """

    def __init__(self, algorithms: Collection[str], max_age: int, leeway: int,
                 first_use: Callable[[str, str, int], bool], nonces: NonceIssuer | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.algorithms = tuple(algorithms)
        self.max_age = max_age
        self.leeway = leeway
        self.first_use = first_use
        self.nonces = nonces
        self.clock = clock

    def validate(self, proof: str, *, method: str, url: str, access_token: str, jkt: str) -> None:
        """Raise :class:`InvalidDPoPProof` or :class:`UseDPoPNonce` unless ``proof`` is good."""
        key, claims = self._verified(proof)
        if key.thumbprint() != jkt:
            raise InvalidDPoPProof("The DPoP proof is signed by another key than the token is bound to.")
        if claims.get("htm") != method:
            raise InvalidDPoPProof("The DPoP proof is for another HTTP method.")
        htu = claims.get("htu")
        if not isinstance(htu, str) or normalized_uri(htu) != normalized_uri(url):
            raise InvalidDPoPProof("The DPoP proof is for another URL.")
        self._check_iat(claims.get("iat"))
        if not hmac.compare_digest(str(claims.get("ath", "")), access_token_hash(access_token)):
            raise InvalidDPoPProof("The DPoP proof is for another access token.")
        if self.nonces is not None and not self.nonces.valid(claims.get("nonce")):
            raise UseDPoPNonce("The DPoP proof needs the server's current nonce.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise InvalidDPoPProof("The DPoP proof has no valid jti.")
        ttl = self.max_age + 2 * self.leeway
        if not self.first_use("dpop-jti", f"{jkt}\0{jti}", ttl):
            raise InvalidDPoPProof("The DPoP proof was used before.")

    def _verified(self, proof: str) -> tuple[Key, dict[str, Any]]:
        """The proof's key and claims, once its header and signature pass."""
        try:
            header_segment, payload_segment, signature_segment = rules.split_compact(proof)
            header = rules.decode_header(header_segment)
            key = self._header_key(header)
            rules.verify_signature(header["alg"], header_segment, payload_segment, signature_segment, key)
            return key, rules.decode_claims(payload_segment)
        except InvalidDPoPProof:
            raise
        except TokenValidationError as exc:
            raise InvalidDPoPProof(exc.description.replace("The token", "The DPoP proof")) from None

    def _header_key(self, header: Mapping[str, Any]) -> Key:
        if header.get("typ") != PROOF_TYPE:
            raise InvalidDPoPProof("The DPoP proof's typ is not dpop+jwt.")
        rules.check_header(header, self.algorithms)
        alg = header["alg"]
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise InvalidDPoPProof("The DPoP proof has no jwk header.")
        if PRIVATE_MEMBERS & jwk.keys():
            raise InvalidDPoPProof("The DPoP proof's jwk contains a private key.")
        try:
            key = JWKRegistry.import_key(dict(jwk))
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidDPoPProof("The DPoP proof's jwk is not a valid public key.") from None
        if not key_fits(key, alg):
            raise InvalidDPoPProof("The DPoP proof's jwk does not fit its algorithm.")
        return key

    def _check_iat(self, iat: Any) -> None:
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise InvalidDPoPProof("The DPoP proof has no iat.")
        now = self.clock()
        if iat > now + self.leeway or iat < now - self.max_age - self.leeway:
            raise InvalidDPoPProof("The DPoP proof is too old or from the future.")
