"""Tokens in the browser's sign-in cookie, sealed so the browser carries but cannot read or change them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
        #: What a sign-in became in this process since it was read (a refresh another request
        #: finished), or the sign-in itself; set by the sign-in lifecycle.
        self.refreshed_here: Callable[[SignedInUser], SignedInUser] = lambda user: user

    def load(self, cookie: SignInCookie) -> SignedInUser | None:
        if cookie.value is None:
            return None
        return self.sealer.open(cookie.value, self.purpose)

    def save(self, cookie: SignInCookie, user: SignedInUser) -> None:
        """Seal ``user`` into the cookie this response sends. When the response is written, a
        refresh of ``user`` that another request of this process finished meanwhile is sent
        instead, so a slow response never brings back a spent refresh token."""
        cookie.set(self.sealer.seal(user, self.purpose), lambda: self._newer_seal(user))

    def _newer_seal(self, user: SignedInUser) -> str | None:
        newer = self.refreshed_here(user)
        return None if newer is user else self.sealer.seal(newer, self.purpose)

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
