"""Ending sign-ins the provider says are over, on every instance of the site.

Back-channel logout tokens and Okta event hooks name a provider session
(``sid``) and/or a user (``sub``). A sign-in matches when its ID token has
that ``sid``, or that ``sub`` when the logout names only a user (a sign-in
whose ID token carries no ``sid`` also matches a logout naming its ``sub``).

- With a server-side token store, each sign-in is indexed by its ``sid`` and
  ``sub`` when it is stored, and a logout deletes the matching entries: every
  instance sharing the store finds them gone, and signed-in requests cost
  nothing more.
- With the cookie store, a logout is recorded (``sid``/``sub`` and the time)
  in ``OKTA_LOGOUT_CACHE`` (in-process memory by default), and a sign-in
  stored before a matching record ends on its next request. A sign-out on this
  site is recorded there too, so copies of the cookie stop working.

The same cache remembers the ``jti`` of logout tokens, to refuse replays.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from cachelib import SimpleCache

from ..errors import ConfigError
from .cookie import SignInCookie
from .server_store import (
    REDIS_SCHEMES,
    ServerSideTokenStore,
    reachable,
    redis_cache,
)
from .storage import SignedInUser, TokenStore

log = logging.getLogger("flask_okta_client")

#: In-process caches keep at most this many logout records and seen token ids.
MEMORY_CACHE_SIZE = 100_000

Match = tuple[str, str]  # (kind, value): ("sid", sid), ("sub", sub) or ("sub-nosid", sub)


def sign_in_matches(claims: Mapping[str, Any]) -> list[Match]:
    """What a logout may name to end a sign-in with these ID token claims."""
    sub, sid = claims.get("sub"), claims.get("sid")
    return [("sub", sub), ("sid", sid) if isinstance(sid, str) and sid else ("sub-nosid", sub)]


def this_sign_in(user: SignedInUser) -> Match:
    """One sign-in, whatever was refreshed since: its user and the moment it started."""
    return ("sign-in", f"{user.claims.get('sub')}\0{user.signed_in_at!r}")


def logout_matches(*, sid: str | None, sub: str | None) -> list[Match]:
    """What a logout naming ``sid`` and/or ``sub`` ends: that session, or all of the user's."""
    if sid is None:
        return [("sub", sub)] if sub is not None else []
    return [("sid", sid)] + ([("sub-nosid", sub)] if sub is not None else [])


def build_logout_cache(value: Any, store: TokenStore, lifetime: int) -> Any:
    """``OKTA_LOGOUT_CACHE``: a Redis URL or a cachelib cache; else the server-side store's
    cache; else memory in this process."""
    if value is None:
        if isinstance(store, ServerSideTokenStore):
            return store.cache
        return SimpleCache(threshold=MEMORY_CACHE_SIZE, default_timeout=lifetime)
    if isinstance(value, str) and value.startswith(REDIS_SCHEMES):
        return redis_cache(value, lifetime, setting="OKTA_LOGOUT_CACHE")
    if all(callable(getattr(value, name, None)) for name in ("get_many", "set", "add", "delete")):
        return value
    raise ConfigError("OKTA_LOGOUT_CACHE must be a redis:// URL or a cachelib cache")


class LogoutRegistry:
    """Ends the sign-ins a logout names; tracking starts with :meth:`enable`."""

    def __init__(self, owner: str, store: TokenStore, cache: Any, lifetime: int,
                 clock: Callable[[], float] = time.time) -> None:
        #: Whose sign-ins these are: the issuer (and, for a named registration, its client and name).
        self.owner = owner
        self.store = store
        self.cache = cache
        self.lifetime = lifetime
        self.clock = clock
        self.enabled = False
        self.server_side = isinstance(store, ServerSideTokenStore)
        self.in_process = isinstance(cache, SimpleCache)
        #: When this process last recorded a logout (all there is to know when the cache is in-process).
        self.last_recorded_at = float("-inf")

    def enable(self) -> None:
        if not self.enabled and not self.server_side and self.in_process:
            log.warning("okta: logouts are recorded in this process only; with several processes or "
                        "machines set OKTA_LOGOUT_CACHE to a shared redis:// URL")
        self.enabled = True

    @property
    def checks_each_request(self) -> bool:
        """Whether sign-ins must be checked against logout records when they are read."""
        return self.enabled and not self.server_side

    def _key(self, namespace: str, kind: str, value: str) -> str:
        """A bounded cache key; the owner is part of it, so caches may be shared between sites and registrations."""
        digest = hashlib.sha256(f"{self.owner}\0{kind}\0{value}".encode()).hexdigest()[:40]
        return f"{namespace}:{digest}"

    # -- when a sign-in is stored or read ------------------------------------

    def signed_in(self, cookie: SignInCookie, user: SignedInUser) -> None:
        """Index a newly stored sign-in of a server-side store by what may end it."""
        if not (self.enabled and self.server_side):
            return
        store = self.store
        assert isinstance(store, ServerSideTokenStore)
        entry = store.entry_key(cookie)
        if entry is None:
            return
        store.add_to_sets([self._key("logout-index", kind, value) for kind, value in sign_in_matches(user.claims)],
                          entry)

    def has_ended(self, user: SignedInUser) -> bool:
        """Whether a logout recorded after this sign-in started names it (cookie store).

        With the in-process cache, a sign-in newer than every record is answered without a lookup.
        """
        if self.in_process and user.signed_in_at > self.last_recorded_at:
            return False
        matches = [*sign_in_matches(user.claims), this_sign_in(user)]
        keys = [self._key("logout-ended", kind, value) for kind, value in matches]
        with reachable():
            ended = self.cache.get_many(*keys)
        return any(isinstance(at, (int, float)) and at >= user.signed_in_at for at in ended)

    # -- when a logout arrives ------------------------------------------------

    def end(self, *, sid: str | None, sub: str | None) -> None:
        """End every sign-in this logout names, on every instance sharing the store or cache."""
        matches = logout_matches(sid=sid, sub=sub)
        if self.server_side:
            self._delete_indexed(matches)
        else:
            self._record([self._key("logout-ended", kind, value) for kind, value in matches])

    def _record(self, keys: list[str]) -> None:
        now = self.last_recorded_at = self.clock()
        with reachable():
            for key in keys:
                self.cache.set(key, now, timeout=self.lifetime)

    def signed_out(self, user: SignedInUser) -> None:
        """Record a sign-out here, so copies of a cookie-store cookie stop working too
        (a server-side store deletes the entry instead)."""
        if self.checks_each_request:
            self._record([self._key("logout-ended", *this_sign_in(user))])

    def _delete_indexed(self, matches: list[Match]) -> None:
        store = self.store
        assert isinstance(store, ServerSideTokenStore)
        ended = store.delete_indexed([self._key("logout-index", kind, value) for kind, value in matches])
        log.info("okta: back-channel logout ended %d stored sign-in(s)", ended)

    # -- replays ---------------------------------------------------------------

    def first_use(self, kind: str, value: str, ttl: int) -> bool:
        """Remember ``value`` for ``ttl`` seconds; False if it was already seen."""
        with reachable():
            return bool(self.cache.add(self._key(f"seen-{kind}", kind, value), 1, timeout=ttl))

    def forget_use(self, kind: str, value: str) -> None:
        with reachable():
            self.cache.delete(self._key(f"seen-{kind}", kind, value))
