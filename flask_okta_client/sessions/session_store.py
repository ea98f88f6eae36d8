"""Tokens in the browser's sign-in cookie, sealed so the browser carries but cannot read or change them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .cookie import SignInCookie
from .sealing import TokenSealer
from .storage import SignedInUser


class SessionTokenStore:
    """Keeps the tokens in the sign-in cookie, sealed for that cookie's name
    (see :mod:`~flask_okta_client.sessions.sealing`)."""

    keeps_tokens_on_server = False

    def __init__(self, sealer: TokenSealer, cookie_name: str) -> None:
        self.sealer = sealer
        self.purpose = f"cookie:{cookie_name}".encode()

    def load(self, cookie: SignInCookie) -> SignedInUser | None:
        if cookie.value is None:
            return None
        return self.sealer.open(cookie.value, self.purpose)

    def save(self, cookie: SignInCookie, user: SignedInUser) -> None:
        cookie.set(self.sealer.seal(user, self.purpose))

    def replace(self, cookie: SignInCookie, loaded: SignedInUser, updated: SignedInUser) -> bool:
        """The cookie this response carries holds ``updated``: there is no shared copy to compare with."""
        self.save(cookie, updated)
        return True

    def clear(self, cookie: SignInCookie) -> None:
        cookie.clear()

    @contextmanager
    def refresh_lock(self, cookie: SignInCookie) -> Iterator[None]:
        """Nothing to hold: refreshes are single-flight within a process, and cookies
        cannot coordinate processes (use a server-side store for that)."""
        yield
