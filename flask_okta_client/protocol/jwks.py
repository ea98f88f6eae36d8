"""The provider's signing keys (JWKS), cached by ``kid`` with an expiry.

An unknown ``kid`` triggers one refetch: single-flight across threads, and at
most one per ``cooldown`` seconds, so a flood of tokens with random ``kid``s
cannot make the app hammer the provider.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, OKPKey, RSAKey

from ..errors import OktaError, ProviderError, TokenValidationError
from .http import HttpClient

log = logging.getLogger("flask_okta_client")

# The key type and (for EC and OKP keys) the curves each asymmetric algorithm needs.
ALGORITHM_KEY_TYPES: dict[str, tuple[type[Key], tuple[str, ...] | None]] = {
    **{f"RS{n}": (RSAKey, None) for n in (256, 384, 512)},
    **{f"PS{n}": (RSAKey, None) for n in (256, 384, 512)},
    "ES256": (ECKey, ("P-256",)),
    "ES384": (ECKey, ("P-384",)),
    "ES512": (ECKey, ("P-521",)),
    "Ed25519": (OKPKey, ("Ed25519",)),  # RFC 9864
    "EdDSA": (OKPKey, ("Ed25519", "Ed448")),  # RFC 8037, deprecated by RFC 9864
}


def key_fits(key: Key, alg: str) -> bool:
    """Whether ``key`` may verify a signature made with ``alg``."""
    key_type, curves = ALGORITHM_KEY_TYPES.get(alg, (None, None))
    if key_type is None or not isinstance(key, key_type):
        return False
    if curves is not None and key.get("crv") not in curves:
        return False
    declared = key.get("alg")
    return declared is None or declared == alg


def import_signing_keys(jwks: dict[str, Any]) -> list[Key]:
    """The usable public signing keys of a JWK set; symmetric and encryption keys are dropped."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise ProviderError("The sign-in service's key set is malformed.")
    imported = []
    for entry in keys:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            imported.append(JWKRegistry.import_key(public))
        except (JoseError, ValueError, TypeError):
            log.warning("okta: skipping a malformed key (kid=%r) in the provider's JWKS", entry.get("kid"))
    return imported


class JwksCache:
    """Signing keys of one provider, fetched from the ``jwks_uri`` that ``jwks_uri()`` returns."""

    def __init__(self, jwks_uri: Callable[[], str], http: HttpClient, ttl: float, cooldown: float) -> None:
        self._jwks_uri = jwks_uri
        self.http = http
        self.ttl = ttl
        self.cooldown = cooldown
        self.fetch_count = 0
        self._by_kid: dict[str, Key] = {}
        self._keys: list[Key] = []
        # (kid, alg) -> key, for lookups already answered from the current key set.
        self._found: dict[tuple[str | None, str], Key] = {}
        self._expires_at = 0.0
        self._last_kid_refetch = float("-inf")
        self._lock = threading.Lock()

    def key_for(self, kid: str | None, alg: str) -> Key:
        """The key that verifies a token with header ``kid`` and ``alg``."""
        if time.monotonic() < self._expires_at:
            key = self._found.get((kid, alg))
            if key is not None:
                return key
        seen_fetch = self.fetch_count
        if time.monotonic() >= self._expires_at and self._refresh(seen_fetch, reason="expired"):
            seen_fetch = self.fetch_count
        found = self._found  # captured before reading the key set, so a refresh meanwhile cannot be undone
        key = self._find(kid, alg)
        if key is None and self._refresh(seen_fetch, reason="unknown kid", rate_limited=True):
            found = self._found
            key = self._find(kid, alg)
        if key is None:
            raise TokenValidationError("The token was signed with an unknown key.")
        found[kid, alg] = key
        return key

    def _find(self, kid: str | None, alg: str) -> Key | None:
        if kid is not None:
            key = self._by_kid.get(kid)
            return key if key is not None and key_fits(key, alg) else None
        fitting = [key for key in self._keys if key_fits(key, alg)]
        return fitting[0] if len(fitting) == 1 else None

    def _refresh(self, seen_fetch: int, *, reason: str, rate_limited: bool = False) -> bool:
        """Fetch the key set unless another thread did since ``seen_fetch``; True if keys changed."""
        with self._lock:
            if self.fetch_count != seen_fetch:
                return True
            if rate_limited:
                if time.monotonic() - self._last_kid_refetch < self.cooldown:
                    return False
                self._last_kid_refetch = time.monotonic()
            try:
                keys = import_signing_keys(self.http.get_json(self._jwks_uri()))
            except OktaError:
                if not self._keys:
                    raise
                log.warning("okta: JWKS refresh (%s) failed; keeping the cached keys", reason)
                self._expires_at = time.monotonic() + min(self.ttl, self.cooldown)
                return False
            self._keys = keys
            self._by_kid = {key.kid: key for key in keys if key.kid}
            self._found = {}
            self._expires_at = time.monotonic() + self.ttl
            self.fetch_count += 1
            log.info("okta: fetched %d signing keys (%s)", len(keys), reason)
            return True
