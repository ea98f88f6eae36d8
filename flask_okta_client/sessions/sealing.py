"""Sealing a sign-in's tokens: encrypted and authenticated, for the browser or a shared cache.

One layer of AES-256-GCM under a key derived once, with HKDF, from ``SECRET_KEY``.
A seal is ``base64url(version | nonce | ciphertext | tag)`` over the
DEFLATE-compressed JSON of a :class:`SignedInUser`. The associated data names
what the seal is for (the sign-in cookie's name, or a server-side entry's
handle) and whose it is (the issuer and client id), so a seal copied to another
purpose, or to another app sharing the secret, does not open. Keys derived from
``SECRET_KEY_FALLBACKS`` still open old seals, so rotating the secret keeps
sessions.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigError
from .storage import SignedInUser

VERSION = b"\x02"  # 1 was a JWE inside Flask's session cookie
NONCE_SIZE = 12
MIN_SECRET_BYTES = 32
MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"


def derive_key(secret: str | bytes) -> AESGCM:
    """The AES-256-GCM key for sign-ins, from one of Flask's secret keys."""
    material = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"flask-okta-client", info=b"sign-in seal v2")
    return AESGCM(hkdf.derive(material))


def check_secret_strength(name: str, secret: str | bytes, testing: bool) -> None:
    """Refuse secrets shorter than 32 bytes, outside tests: whoever knows the key can seal any sign-in."""
    size = len(secret.encode() if isinstance(secret, str) else secret)
    if size < MIN_SECRET_BYTES and not testing:
        raise ConfigError(
            f"{name} is {size} bytes; it must be at least {MIN_SECRET_BYTES} random bytes, because whoever "
            f"knows it can seal a sign-in as any user. Make one with: {MAKE_A_KEY}"
        )


class TokenSealer:
    """Seals and opens :class:`SignedInUser` values with keys from the app's secret keys."""

    def __init__(self, app_config: Mapping[str, Any], owner: str) -> None:
        """``owner`` names the app the seals belong to (its issuer and client id)."""
        secret = app_config.get("SECRET_KEY")
        if not secret:
            raise ConfigError(f"SECRET_KEY is not set: sign-ins are sealed with a key derived from it. "
                              f"Make one with: {MAKE_A_KEY}")
        fallbacks = app_config.get("SECRET_KEY_FALLBACKS") or []
        if isinstance(fallbacks, (str, bytes)):
            raise ConfigError("SECRET_KEY_FALLBACKS must be a list of old keys, not one key")
        self._owner = b"\0" + owner.encode()
        testing = bool(app_config.get("TESTING"))
        check_secret_strength("SECRET_KEY", secret, testing)
        for old in fallbacks:
            check_secret_strength("A key in SECRET_KEY_FALLBACKS", old, testing)
        self._key = derive_key(secret)
        self._keys = [self._key, *(derive_key(old) for old in fallbacks)]

    def _associated_data(self, purpose: bytes) -> bytes:
        return VERSION + purpose + self._owner

    def seal(self, user: SignedInUser, purpose: bytes) -> str:
        plaintext = zlib.compress(json.dumps(user.to_dict(), separators=(",", ":")).encode(), 6)
        nonce = os.urandom(NONCE_SIZE)
        sealed = VERSION + nonce + self._key.encrypt(nonce, plaintext, self._associated_data(purpose))
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, sealed: Any, purpose: bytes) -> SignedInUser | None:
        """The sealed sign-in; ``None`` for anything forged, damaged, sealed for another
        purpose or under an unknown key."""
        if not isinstance(sealed, str):
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (binascii.Error, ValueError):
            return None
        if raw[:1] != VERSION or len(raw) < 1 + NONCE_SIZE + 16:
            return None
        nonce, ciphertext = raw[1:1 + NONCE_SIZE], raw[1 + NONCE_SIZE:]
        associated_data = self._associated_data(purpose)
        for key in self._keys:
            try:
                plaintext = key.decrypt(nonce, ciphertext, associated_data)
            except InvalidTag:
                continue
            try:
                return SignedInUser.from_dict(json.loads(zlib.decompress(plaintext)))
            except (ValueError, zlib.error):
                return None
        return None
