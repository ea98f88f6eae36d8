"""A sign-in's life after the callback: timeouts, refresh before the view, exchanged tokens."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..config import OktaConfig
from ..errors import NotAuthenticated, TokenValidationError
from ..protocol.client import GrantError, ProviderClient
from ..protocol.singleflight import SingleFlight
from ..protocol.verifier import TokenVerifier
from .cookie import SignInCookie
from .storage import SignedInUser, TokenStore

log = logging.getLogger("flask_okta_client")

# The idle clock is written back at most this often, so most requests write nothing.
TOUCH_INTERVAL = 60.0
# How long a refresh result is shared with requests that still carry the old refresh token.
REFRESH_RESULT_TTL = 60.0
# Exchanged tokens are fetched again this long before they expire.
EXCHANGE_LEEWAY = 30.0


class SessionEnded(NotAuthenticated):
    """The sign-in ended (refresh refused, ID token changed): sign in again."""

    error = "session_ended"


class SignInLifecycle:
    """Loads a session's sign-in, enforces its timeouts and keeps its access token fresh."""

    def __init__(self, config: OktaConfig, store: TokenStore, client: ProviderClient,
                 verifier: TokenVerifier) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.verifier = verifier
        self.refreshes: SingleFlight[dict[str, Any]] = SingleFlight(remember=REFRESH_RESULT_TTL)
        #: Set when sign-ins must be checked against back-channel logouts as they are read.
        self.has_ended: Callable[[SignedInUser], bool] | None = None

    def current(self, cookie: SignInCookie) -> SignedInUser | None:
        """The live sign-in; an idle or too old one is removed (server-side entry included)."""
        user = self.store.load(cookie)
        if user is None:
            return None
        now = time.time()
        if now - user.signed_in_at > self.config.session_absolute_timeout or \
                now - user.last_seen_at > self.config.session_idle_timeout:
            log.info("okta: session expired; signing out")
            self.store.clear(cookie)
            return None
        if self.has_ended is not None and self.has_ended(user):
            log.info("okta: the provider ended this session; signing out")
            self.store.clear(cookie)
            return None
        if now - user.last_seen_at > min(TOUCH_INTERVAL, self.config.session_idle_timeout / 10):
            user = user.touched(now)
            self.store.save(cookie, user)
        return user

    def refresh_due(self, user: SignedInUser) -> bool:
        return user.expires_at is not None and user.expires_at - self.config.refresh_leeway <= time.time()

    def ensure_fresh(self, cookie: SignInCookie, user: SignedInUser, *,
                     force: bool = False) -> SignedInUser:
        """Refresh the access token if it is (nearly) expired and a refresh token is held.

        One token request per refresh token, however many requests and
        processes ask: the store's lock orders processes, :class:`SingleFlight`
        shares one answer between threads.
        """
        if user.refresh_token is None or not (force or self.refresh_due(user)):
            return user
        with self.store.refresh_lock(cookie):
            latest = self.store.load(cookie)
            if latest is None:
                raise SessionEnded("Your session has ended. Please sign in again.")
            if latest.refresh_token != user.refresh_token or not (force or self.refresh_due(latest)):
                return latest  # another request or process refreshed already
            assert latest.refresh_token is not None
            key = hashlib.sha256(latest.refresh_token.encode()).digest()
            try:
                token = self.refreshes.run(key, lambda: self._redeem(latest))
            except (GrantError, TokenValidationError) as exc:
                log.info("okta: refresh failed (%s); ending the session", exc.error)
                self.store.clear(cookie)
                raise SessionEnded("Your session has ended. Please sign in again.") from None
            refreshed = latest.refreshed(token)
            self.store.save(cookie, refreshed)
        return refreshed

    def _redeem(self, user: SignedInUser) -> dict[str, Any]:
        """Call the token endpoint and check a new ID token continues the same sign-in."""
        assert user.refresh_token is not None
        token = self.client.refresh(user.refresh_token)
        if isinstance(token.get("id_token"), str):
            claims = self.verifier.verify_id_token(token["id_token"], nonce=None, access_token=token["access_token"])
            check_same_sign_in(user.claims, claims)
        return token

    def cached_exchange(self, user: SignedInUser, key: str) -> Mapping[str, Any] | None:
        token = user.exchanged.get(key)
        if token is None:
            return None
        expires_at = token.get("expires_at")
        if isinstance(expires_at, (int, float)) and expires_at - EXCHANGE_LEEWAY <= time.time():
            return None
        return token


def check_same_sign_in(original: Mapping[str, Any], refreshed: Mapping[str, Any]) -> None:
    """OpenID Connect Core 12.2: a refreshed ID token keeps ``iss``, ``sub`` and ``aud``."""
    for claim in ("iss", "sub", "aud"):
        if refreshed.get(claim) != original.get(claim):
            raise TokenValidationError(f"The refreshed ID token has another {claim!r}.")
