"""Tokens inside Flask's session cookie, sealed so the browser carries but cannot read them."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from flask import Flask

from .sealing import TokenSealer
from .storage import SESSION_KEY, SignedInUser

log = logging.getLogger("flask_okta_client")

# Browsers drop cookies over 4096 bytes (name, value and attributes together).
COOKIE_LIMIT = 4093


class SessionTokenStore:
    """Keeps the tokens in the session cookie, encrypted (see :mod:`~flask_okta_client.sessions.sealing`)."""

    def __init__(self, app: Flask, sealer: TokenSealer) -> None:
        self.app = app
        self.sealer = sealer

    def load(self, session: MutableMapping[str, Any]) -> SignedInUser | None:
        return self.sealer.open(session.get(SESSION_KEY))

    def save(self, session: MutableMapping[str, Any], user: SignedInUser) -> None:
        session[SESSION_KEY] = self.sealer.seal(user)
        self.warn_if_too_big(session)

    def clear(self, session: MutableMapping[str, Any]) -> None:
        session.pop(SESSION_KEY, None)

    @contextmanager
    def refresh_lock(self, session: MutableMapping[str, Any]) -> Iterator[None]:
        """Nothing to hold: refreshes are single-flight within a process, and cookies
        cannot coordinate processes (use a server-side store for that)."""
        yield

    def cookie_size(self, session: MutableMapping[str, Any]) -> int:
        """The size of the ``Set-Cookie`` value Flask will send for ``session``; 0 when the
        session is not kept in the cookie (a server-side session interface such as Flask-Session's)."""
        signing_serializer = getattr(self.app.session_interface, "get_signing_serializer", None)
        serializer = signing_serializer(self.app) if signing_serializer is not None else None
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
