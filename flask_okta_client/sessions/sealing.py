"""Sealing a sign-in's tokens: encrypted and authenticated, for the browser or a shared cache.

A JWE (``dir`` + ``A256GCM``, DEFLATE-compressed) under a key derived with HKDF
from ``SECRET_KEY``. Keys derived from ``SECRET_KEY_FALLBACKS`` still open old
seals, so rotating the secret keeps sessions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ..errors import ConfigError
from .storage import SignedInUser

JWE_HEADER = {"alg": "dir", "enc": "A256GCM", "zip": "DEF"}
JWE_ALGORITHMS = ["dir", "A256GCM", "DEF"]


def derive_key(secret: str | bytes) -> OctKey:
    """A 256-bit encryption key for tokens, from one of Flask's secret keys."""
    material = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"flask-okta-client", info=b"session tokens v1")
    return OctKey.import_key(hkdf.derive(material))


class TokenSealer:
    """Seals and opens :class:`SignedInUser` values with keys from the app's secret keys."""

    def __init__(self, app_config: Mapping[str, Any]) -> None:
        secret = app_config.get("SECRET_KEY")
        if not secret:
            raise ConfigError("SECRET_KEY is not set: the token store encrypts tokens with a key derived from it")
        self._key = derive_key(secret)
        self._keys = [self._key, *(derive_key(old) for old in app_config.get("SECRET_KEY_FALLBACKS") or ())]

    def seal(self, user: SignedInUser) -> str:
        plaintext = json.dumps(user.to_dict(), separators=(",", ":")).encode()
        return jwe.encrypt_compact(JWE_HEADER, plaintext, self._key)

    def open(self, sealed: Any) -> SignedInUser | None:
        """The sealed sign-in; ``None`` for anything forged, damaged or sealed under an unknown key."""
        if not isinstance(sealed, str):
            return None
        for key in self._keys:
            try:
                plaintext = jwe.decrypt_compact(sealed, key, algorithms=JWE_ALGORITHMS).plaintext
            except (JoseError, ValueError):
                continue
            try:
                return SignedInUser.from_dict(json.loads(plaintext or b""))
            except ValueError:
                return None
        return None
