"""A sign-in's life after the callback: timeouts, refresh before the view, exchanged tokens."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..config import OktaConfig
from ..errors import (
    NotAuthenticated,
    OktaError,
    ProviderUnavailable,
    TokenValidationError,
)
from ..protocol.client import GrantError, ProviderClient
from ..protocol.singleflight import SingleFlight, TooManyCalls
from ..protocol.verifier import TokenVerifier
from .cookie import SignInCookie
from .logout import LogoutRegistry
from .storage import SignedInUser, TokenStore

log = logging.getLogger("flask_okta_client")

# The idle clock is written back at most this often, so most requests write nothing.
TOUCH_INTERVAL = 60.0
# How long a refresh result is shared with requests that still carry the old refresh token.
REFRESH_RESULT_TTL = 60.0
# ... and how long when every request waiting for it had given up (the provider was slow):
# the session's next request takes it instead of sending the spent refresh token again.
UNCLAIMED_REFRESH_RESULT_TTL = 600.0
# Refreshed tokens the store could not take are offered to it again, at most this many seconds apart,
# and at once when a request of this process finds the store answering.
STORE_RETRY_MAX_DELAY = 1.0
# Refreshes waiting for the provider at once in one process, at most: a provider stall under load
# cannot make threads without end; a refresh beyond these answers 503 without being sent.
MAX_BACKGROUND_REFRESHES = 32
# Exchanged tokens are fetched again this long before they expire.
EXCHANGE_LEEWAY = 30.0


class SessionEnded(NotAuthenticated):
    """The sign-in ended (refresh refused, ID token changed): sign in again."""

    error = "session_ended"
    #: The registration whose sign-in ended, once known: page loads are sent to sign in there.
    provider: str | None = None


class SignInLifecycle:
    """Loads a session's sign-in, enforces its timeouts and keeps its access token fresh."""

    def __init__(self, config: OktaConfig, store: TokenStore, client: ProviderClient,
                 verifier: TokenVerifier, logouts: LogoutRegistry) -> None:
        self.config = config
        self.store = store
        self.logouts = logouts
        self.client = client
        self.verifier = verifier
        self.refreshes: SingleFlight[SignedInUser | None] = SingleFlight(
            remember=REFRESH_RESULT_TTL, remember_unclaimed=UNCLAIMED_REFRESH_RESULT_TTL,
            background=MAX_BACKGROUND_REFRESHES,
        )
        #: Notified when a request reads the store while refreshed tokens wait to be written to it.
        self._store_answered = threading.Condition()
        self._writes_waiting = 0

    def current(self, cookie: SignInCookie) -> SignedInUser | None:
        """The live sign-in; an idle or too old one is removed (server-side entry included)."""
        user = self.store.load(cookie)
        if self._writes_waiting:
            with self._store_answered:
                self._store_answered.notify_all()
        if user is None:
            return None
        now = time.time()
        if now - user.signed_in_at > self.config.session_absolute_timeout or \
                now - user.last_seen_at > self.config.session_idle_timeout:
            log.info("okta: session expired; signing out")
            self.store.clear(cookie)
            return None
        if self.logouts.checks_each_request and self.logouts.has_ended(user):
            log.info("okta: the provider ended this session; signing out")
            self.store.clear(cookie)
            return None
        if now - user.last_seen_at > min(TOUCH_INTERVAL, self.config.session_idle_timeout / 10):
            touched = self.refreshed_here(user).touched(now)
            if self.store.replace(cookie, user, touched):  # never over a refresh stored meanwhile
                user = touched
        return user

    def refreshed_here(self, user: SignedInUser) -> SignedInUser:
        """``user``, or what this process refreshed it into already: a cookie that still carries the
        spent refresh token (another request's response brought the new one) is not written back."""
        if user.refresh_token is None:
            return user
        return self.refreshes.finished(refresh_key(user.refresh_token)) or user

    def refresh_due(self, user: SignedInUser) -> bool:
        return user.expires_at is not None and user.expires_at - self.config.refresh_leeway <= time.time()

    def ensure_fresh(self, cookie: SignInCookie, user: SignedInUser, *,
                     force: bool = False) -> SignedInUser:
        """Refresh the access token if it is (nearly) expired and a refresh token is held.

        One token request per refresh token, however many requests and processes ask:
        the store's lock orders processes, :class:`SingleFlight` shares one outcome
        between threads. The refresh runs in a thread of a bounded pool: when the provider is
        slower than ``OKTA_HTTP_TIMEOUT`` this request answers 503, and the refresh goes
        on for up to ``OKTA_REFRESH_TIMEOUT``, so its outcome is kept (see :meth:`_refresh`)
        rather than the spent refresh token being sent again.
        """
        if user.refresh_token is None or not (force or self.refresh_due(user)):
            return user
        key = refresh_key(user.refresh_token)
        detached = SignInCookie(cookie.value)  # the background refresh may outlive this request
        try:
            refreshed = self.refreshes.run(key, lambda: self._refresh(detached, user, force),
                                           wait=self.config.http_timeout)
        except TimeoutError:
            log.warning("okta: the refresh is taking longer than %g s; answering 503 while it goes on "
                        "for up to %g s", self.config.http_timeout, self.config.refresh_timeout)
            raise ProviderUnavailable(reason="the refresh is still waiting for the provider") from None
        except TooManyCalls:
            log.warning("okta: %d refreshes are waiting for the provider already; answering 503 without "
                        "sending this one", self.refreshes.background)
            raise ProviderUnavailable(retry_after=self.config.http_timeout,
                                      reason="too many refreshes are waiting for the provider") from None
        if refreshed is None:
            self.store.clear(cookie)
            raise SessionEnded("Your session has ended. Please sign in again.")
        if not self.store.keeps_tokens_on_server:
            self.store.save(cookie, refreshed)  # the cookie goes out with this response
        return refreshed

    def _refresh(self, cookie: SignInCookie, user: SignedInUser, force: bool) -> SignedInUser | None:
        """The refreshed sign-in, ``None`` when the session ended; runs in a thread of the pool.

        A server-side store is read and written here, under its refresh lock, so the
        outcome is stored even when no request waits for it any more; a cookie store
        cannot be written without a response, so the outcome is only remembered (by
        :class:`SingleFlight`, keyed by the spent refresh token) for the next request.
        """
        if not self.store.keeps_tokens_on_server:
            return self._redeem(user)
        with self.store.refresh_lock(cookie):
            latest = self.store.load(cookie)
            if latest is None:
                return None
            if latest.refresh_token != user.refresh_token or not (force or self.refresh_due(latest)):
                return latest  # another request or process refreshed already
            refreshed = self._redeem(latest)
            if refreshed is None:
                self.store.clear(cookie)
            else:
                self._store(cookie, refreshed, spent=latest.refresh_token)
            return refreshed

    def _redeem(self, user: SignedInUser) -> SignedInUser | None:
        """Call the token endpoint (waiting up to ``OKTA_REFRESH_TIMEOUT``); ``None`` if the
        provider refused, or a new ID token does not continue the same sign-in."""
        assert user.refresh_token is not None
        try:
            token = self.client.refresh(user.refresh_token, timeout=self.config.refresh_timeout)
            if isinstance(token.get("id_token"), str):
                claims = self.verifier.verify_id_token(
                    token["id_token"], nonce=None, access_token=token["access_token"]
                )
                check_same_sign_in(user.claims, claims)
        except (GrantError, TokenValidationError) as exc:
            log.info("okta: refresh failed (%s); ending the session", exc.error)
            return None
        return user.refreshed(token)

    def _store(self, cookie: SignInCookie, refreshed: SignedInUser, spent: str | None) -> None:
        """Save ``refreshed``; while the store is down, keep offering it (with backoff) as long
        as the session could live, unless the stored sign-in changed meanwhile (signed out,
        or refreshed elsewhere). Requests of this process waiting meanwhile share the outcome."""
        deadline = time.time() + self.config.session_idle_timeout
        delay = 0.2
        while True:
            try:
                self.store.save(cookie, refreshed)
                return
            except OktaError as exc:
                if time.time() + delay > deadline:
                    log.error("okta: refreshed tokens could not be stored (%s); the session will end", exc.error)
                    raise
                log.warning("okta: refreshed tokens could not be stored (%s); trying again in %.1f s",
                            exc.error, delay)
            self._wait_for_store(delay)
            delay = min(delay * 2, STORE_RETRY_MAX_DELAY)
            try:
                current = self.store.load(cookie)
            except OktaError:
                continue
            if current is None or current.refresh_token != spent:
                log.warning("okta: the session changed while its refreshed tokens waited for the store; "
                            "dropping them")
                return

    def _wait_for_store(self, delay: float) -> None:
        """Wait ``delay`` seconds, or until a request of this process has read the store."""
        with self._store_answered:
            self._writes_waiting += 1
            try:
                self._store_answered.wait(delay)
            finally:
                self._writes_waiting -= 1

    def cached_exchange(self, user: SignedInUser, key: str) -> Mapping[str, Any] | None:
        token = user.exchanged.get(key)
        if token is None:
            return None
        expires_at = token.get("expires_at")
        if isinstance(expires_at, (int, float)) and expires_at - EXCHANGE_LEEWAY <= time.time():
            return None
        return token


def refresh_key(refresh_token: str) -> bytes:
    """How a refresh is known to :class:`SingleFlight`: a digest of the refresh token it spends."""
    return hashlib.sha256(refresh_token.encode()).digest()


def check_same_sign_in(original: Mapping[str, Any], refreshed: Mapping[str, Any]) -> None:
    """OpenID Connect Core 12.2: a refreshed ID token keeps ``iss``, ``sub`` and ``aud``."""
    for claim in ("iss", "sub", "aud"):
        if refreshed.get(claim) != original.get(claim):
            raise TokenValidationError(f"The refreshed ID token has another {claim!r}.")
