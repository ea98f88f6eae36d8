"""RS256 signing keys of the mock Okta authorization server, with rotation."""

from __future__ import annotations

import json
import threading
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey

ALGORITHM = "RS256"


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True)


def read_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only for tokens this server just minted."""
    return json.loads(jws.extract_compact(token.encode()).payload)


class KeyRing:
    """The current signing key first, then older keys still published."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys = [_new_key()]

    @property
    def signing_key(self) -> RSAKey:
        with self._lock:
            return self._keys[0]

    def rotate(self, keep_old: bool = True) -> str:
        """Make a new key the signing key and return its kid."""
        key = _new_key()
        with self._lock:
            self._keys = [key, *self._keys] if keep_old else [key]
        return key.kid

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        key = self.signing_key
        header = {"alg": ALGORITHM, "kid": key.kid, **(headers or {})}
        return jwt.encode(header, claims, key)

    def public_jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.as_dict(private=False) for key in self._keys]}

    def public_key_set(self) -> KeySet:
        return KeySet.import_key_set(self.public_jwks())

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWT signed by one of the published keys.

        :raises joserfc.errors.JoseError: when the signature does not verify.
        """
        return jwt.decode(token, self.public_key_set(), algorithms=[ALGORITHM]).claims
