"""DPoP for this site as a client (RFC 9449): its key, its proofs, the servers' nonces.

With ``OKTA_DPOP`` the site signs a proof for every token request and every
call that presents a DPoP-bound access token. The key is ``OKTA_DPOP_KEY``
(shared by every instance of the site) or one generated on first use (one per
process: tokens it binds work only in that process).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..config import DPOP_PROOF_ALGORITHMS
from ..errors import ConfigError, ProviderError
from .client_auth import PrivateKey, load_private_key, signing_algorithm

DEFAULT_ALGORITHM = "ES256"
#: Algorithms this site can sign proofs with, in the order it prefers them.
PROOF_ALGORITHMS = DPOP_PROOF_ALGORITHMS
PROOF_TYPE = "dpop+jwt"
NONCE_HEADER = "DPoP-Nonce"

_GENERATORS: dict[str, Callable[[], PrivateKey]] = {
    "ES256": lambda: ECKey.generate_key("P-256"),
    "ES384": lambda: ECKey.generate_key("P-384"),
    "ES512": lambda: ECKey.generate_key("P-521"),
    "Ed25519": lambda: OKPKey.generate_key("Ed25519"),
    "EdDSA": lambda: OKPKey.generate_key("Ed25519"),
    **{f"{family}{bits}": (lambda: RSAKey.generate_key(2048)) for family in ("RS", "PS") for bits in (256, 384, 512)},
}


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(token)), unpadded."""
    digest = hashlib.sha256(access_token.encode("ascii", "surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def target_uri(url: str) -> str:
    """``htu``: the URL without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def choose_algorithm(configured: str | None, supported: Sequence[str] | None,
                     setting: str = "OKTA_DPOP_ALGORITHM") -> str:
    """The proof algorithm: configured (as ``setting``), else ES256 unless the server lists others only."""
    if configured:
        if supported and configured not in supported:
            raise ConfigError(f"{setting} is {configured} but the provider accepts DPoP proofs "
                              f"signed with {', '.join(supported)} only")
        return configured
    if not supported or DEFAULT_ALGORITHM in supported:
        return DEFAULT_ALGORITHM
    usable = [alg for alg in PROOF_ALGORITHMS if alg in supported]
    if not usable:
        raise ProviderError("The sign-in service accepts no DPoP proof algorithm this site can sign with.")
    return usable[0]


class DPoPKey:
    """A private key and the proofs it signs."""

    def __init__(self, key: PrivateKey, algorithm: str) -> None:
        self.key = key
        self.algorithm = algorithm
        public = key.as_dict(private=False)
        public.pop("kid", None)
        self.public_jwk: dict[str, Any] = public
        self.thumbprint: str = key.thumbprint()

    @classmethod
    def generate(cls, algorithm: str) -> DPoPKey:
        if algorithm not in _GENERATORS:
            raise ConfigError(f"OKTA_DPOP_ALGORITHM must be one of {', '.join(PROOF_ALGORITHMS)}; got {algorithm!r}")
        return cls(_GENERATORS[algorithm](), algorithm)

    def proof(self, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None) -> str:
        """A proof for one request: ``htm``, ``htu`` (no query), ``iat``, a fresh ``jti``,
        ``ath`` when presenting ``access_token``, and the server's ``nonce`` when it gave one."""
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(24),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": PROOF_TYPE, "alg": self.algorithm, "jwk": self.public_jwk}
        return jwt.encode(header, claims, self.key, algorithms=[self.algorithm])


class DPoPSigner:
    """The site's DPoP key (loaded or generated on first use) and the nonces servers asked for.

    ``supported_algorithms`` gives the provider's ``dpop_signing_alg_values_supported``
    when the key is first needed; nonces are remembered per origin.
    """

    def __init__(self, configured_key: Any, algorithm: str | None,
                 supported_algorithms: Callable[[], Sequence[str] | None],
                 setting: Callable[[str], str] = str) -> None:
        """``setting`` names the ``OKTA_DPOP_*`` settings as the registration reads them, for errors
        found on first use."""
        # OKTA_DPOP_KEY: a private JWK (JSON or dict), PEM text or a PEM file path; bad keys fail at start-up.
        self._configured = load_private_key(configured_key, setting="OKTA_DPOP_KEY") if configured_key else None
        self._algorithm = algorithm
        self._supported_algorithms = supported_algorithms
        self._setting = setting
        self._key: DPoPKey | None = None
        self._lock = threading.Lock()
        self._nonces: dict[str, str] = {}

    @property
    def key(self) -> DPoPKey:
        """The key, checked against (or generated for) the provider's algorithms on first use."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._first_key(self._supported_algorithms())
        return self._key

    def _first_key(self, supported: Sequence[str] | None) -> DPoPKey:
        """A generated key, or the configured one with the algorithm ``supported`` allows: an Ed25519
        key signs as ``Ed25519`` (RFC 9864) when the provider lists it, else as ``EdDSA``."""
        if self._configured is None:
            return DPoPKey.generate(choose_algorithm(self._algorithm, supported,
                                                     self._setting("OKTA_DPOP_ALGORITHM")))
        algorithm = signing_algorithm(self._configured, supported)
        if supported and algorithm not in supported:
            raise ConfigError(f"{self._setting('OKTA_DPOP_KEY')} signs with {algorithm} but the provider accepts "
                              f"DPoP proofs signed with {', '.join(supported)} only")
        return DPoPKey(self._configured, algorithm)

    def headers(self, method: str, url: str, access_token: str | None = None) -> dict[str, str]:
        """The ``DPoP`` header for a request, with the nonce last given by ``url``'s server."""
        nonce = self._nonces.get(origin_of(url))
        return {"DPoP": self.key.proof(method, url, access_token=access_token, nonce=nonce)}

    def remember_nonce(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A ``requests`` response hook: keep the ``DPoP-Nonce`` a server sent (RFC 9449 §8.2)."""
        nonce = response.headers.get(NONCE_HEADER)
        if nonce and nonce.isascii() and nonce.isprintable() and len(nonce) <= 512:
            self._nonces[origin_of(response.url)] = nonce

