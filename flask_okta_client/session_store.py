"""Tokens inside Flask's session cookie, encrypted so the browser carries but cannot read them.

The tokens are a JWE (``dir`` + ``A256GCM``, DEFLATE-compressed) under a key
derived with HKDF from ``SECRET_KEY``; keys derived from
``SECRET_KEY_FALLBACKS`` still decrypt, so rotating the secret keeps sessions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from .errors import ConfigError
from .storage import SESSION_KEY, SignedInUser

log = logging.getLogger("flask_okta_client")

JWE_HEADER = {"alg": "dir", "enc": "A256GCM", "zip": "DEF"}
# Browsers drop cookies over 4096 bytes (name, value and attributes together).
COOKIE_LIMIT = 4093


def derive_key(secret: str | bytes) -> OctKey:
    """A 256-bit encryption key for session tokens, from one of Flask's secret keys."""
    material = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"flask-okta-client", info=b"session tokens v1")
    return OctKey.import_key(hkdf.derive(material))


class SessionTokenStore:
    """Keeps the tokens in the session cookie, encrypted."""

    def __init__(self, app: Flask) -> None:
        secret = app.config.get("SECRET_KEY")
        if not secret:
            raise ConfigError("SECRET_KEY is not set: the session token store encrypts tokens with a key derived from it")
        fallbacks: Sequence[str | bytes] = app.config.get("SECRET_KEY_FALLBACKS") or ()
        self.app = app
        self._key = derive_key(secret)
        self._keys = [self._key, *(derive_key(old) for old in fallbacks)]

    def encrypt(self, user: SignedInUser) -> str:
        plaintext = json.dumps(user.to_dict(), separators=(",", ":")).encode()
        return jwe.encrypt_compact(JWE_HEADER, plaintext, self._key)

    def decrypt(self, value: Any) -> SignedInUser | None:
        if not isinstance(value, str):
            return None
        for key in self._keys:
            try:
                plaintext = jwe.decrypt_compact(value, key, algorithms=["dir", "A256GCM", "DEF"]).plaintext
            except (JoseError, ValueError):
                continue
            try:
                return SignedInUser.from_dict(json.loads(plaintext or b""))
            except ValueError:
                return None
        return None

    def load(self, session: MutableMapping[str, Any]) -> SignedInUser | None:
        return self.decrypt(session.get(SESSION_KEY))

    def save(self, session: MutableMapping[str, Any], user: SignedInUser) -> None:
        session[SESSION_KEY] = self.encrypt(user)
        self.warn_if_too_big(session)

    def clear(self, session: MutableMapping[str, Any]) -> None:
        session.pop(SESSION_KEY, None)

    @contextmanager
    def refresh_lock(self, session: MutableMapping[str, Any]) -> Iterator[None]:
        """Nothing to hold: refreshes are single-flight within a process, and cookies
        cannot coordinate processes (use a server-side store for that)."""
        yield

    def cookie_size(self, session: MutableMapping[str, Any]) -> int:
        """The size of the ``Set-Cookie`` value Flask will send for ``session``."""
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        if serializer is None:
            return 0
        value = serializer.dumps(dict(session))
        return len(self.app.config["SESSION_COOKIE_NAME"]) + 1 + len(value) + 120  # + attributes

    def warn_if_too_big(self, session: MutableMapping[str, Any]) -> None:
        size = self.cookie_size(session)
        if size > COOKIE_LIMIT:
            log.warning(
                "okta: the session cookie would be %d bytes, over the browsers' 4096-byte limit, so the "
                "sign-in would be lost; set OKTA_TOKEN_STORE to a redis:// URL or a directory to keep "
                "tokens on the server",
                size,
            )
