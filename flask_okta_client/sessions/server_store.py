"""Tokens on the server in a cachelib cache; the session cookie carries only a random handle.

``OKTA_TOKEN_STORE`` may be a ``redis://`` (or ``rediss://``, ``valkey://``)
URL, a directory for cachelib's ``FileSystemCache``, or any cachelib cache.
Entries are sealed like the session store's cookie, so a dump of the cache does
not reveal tokens. With Redis, refreshes of one session take a short Redis lock,
so several processes and machines never redeem the same refresh token twice.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..errors import ConfigError, OktaError
from .sealing import TokenSealer
from .storage import SESSION_KEY, SignedInUser

log = logging.getLogger("flask_okta_client")

KEY_PREFIX = "okta:"


class StoreUnavailable(OktaError):
    """The server-side token store cannot be reached."""

    status = 503
    error = "temporarily_unavailable"
    title = "Sign-in is temporarily unavailable"


@contextmanager
def reachable() -> Iterator[None]:
    """Transport errors of the shared store become a 503."""
    try:
        yield
    except OktaError:
        raise
    except Exception as exc:  # cachelib and redis-py raise their own transport errors
        log.error("okta: token store error: %s", type(exc).__name__)
        raise StoreUnavailable("Sign-in is temporarily unavailable. Please try again in a moment.") from None


def _handle(session: MutableMapping[str, Any]) -> str | None:
    stored = session.get(SESSION_KEY)
    handle = stored.get("h") if isinstance(stored, dict) else None
    return handle if isinstance(handle, str) else None


class ServerSideTokenStore:
    """Keeps each sign-in in ``cache`` under ``okta:login:<handle>``, for ``lifetime`` seconds."""

    def __init__(self, cache: Any, sealer: TokenSealer, lifetime: int, lock_timeout: float,
                 redis_client: Any = None, lock_dir: Path | None = None) -> None:
        self.cache = cache
        self.sealer = sealer
        self.lifetime = lifetime
        self.lock_timeout = lock_timeout
        self.redis = redis_client
        self.lock_dir = lock_dir

    @staticmethod
    def cache_key(handle: str) -> str:
        return f"login:{handle}"

    def entry_key(self, session: MutableMapping[str, Any]) -> str | None:
        """The cache key of this session's sign-in, if it has one."""
        handle = _handle(session)
        return None if handle is None else self.cache_key(handle)

    _reachable = staticmethod(reachable)

    def load(self, session: MutableMapping[str, Any]) -> SignedInUser | None:
        handle = _handle(session)
        if handle is None:
            return None
        with self._reachable():
            return self.sealer.open(self.cache.get(self.cache_key(handle)))

    def save(self, session: MutableMapping[str, Any], user: SignedInUser) -> None:
        handle = _handle(session) or secrets.token_urlsafe(32)
        with self._reachable():
            self.cache.set(self.cache_key(handle), self.sealer.seal(user), timeout=self.lifetime)
        session[SESSION_KEY] = {"h": handle}

    def clear(self, session: MutableMapping[str, Any]) -> None:
        handle = _handle(session)
        session.pop(SESSION_KEY, None)
        if handle is not None:
            with self._reachable():
                self.cache.delete(self.cache_key(handle))

    @contextmanager
    def refresh_lock(self, session: MutableMapping[str, Any]) -> Iterator[None]:
        """A Redis lock, a file lock for a directory store, or nothing for other caches."""
        handle = _handle(session)
        if handle is None:
            yield
            return
        digest = hashlib.sha256(handle.encode()).hexdigest()[:32]
        if self.redis is not None:
            with self._reachable():
                lock = self.redis.lock(f"{KEY_PREFIX}refresh-lock:{digest}", timeout=self.lock_timeout,
                                       blocking_timeout=self.lock_timeout)
                acquired = lock.acquire()
            if not acquired:
                raise StoreUnavailable("Your session is busy. Please try again in a moment.")
            try:
                yield
            finally:
                with self._reachable():
                    lock.release()
        elif self.lock_dir is not None:
            lock = FileLock(self.lock_dir / f"okta-refresh-{digest}.lock", timeout=self.lock_timeout)
            try:
                lock.acquire()
            except Timeout:
                raise StoreUnavailable("Your session is busy. Please try again in a moment.") from None
            try:
                yield
            finally:
                lock.release()
        else:
            yield


def redis_cache(url: str, lifetime: int, setting: str = "OKTA_TOKEN_STORE") -> Any:
    """A cachelib ``RedisCache`` (keys prefixed ``okta:``) for a ``redis://`` or ``valkey://`` URL."""
    try:
        import redis
        from cachelib import RedisCache
    except ImportError:
        raise ConfigError(f"{setting} is a Redis URL: install flask-okta-client[redis]") from None
    client = redis.Redis.from_url(url.replace("valkey://", "redis://", 1).replace("valkeys://", "rediss://", 1))
    return RedisCache(host=client, key_prefix=KEY_PREFIX, default_timeout=lifetime)


def redis_store(url: str, sealer: TokenSealer, lifetime: int, lock_timeout: float) -> ServerSideTokenStore:
    cache = redis_cache(url, lifetime)
    return ServerSideTokenStore(cache, sealer, lifetime, lock_timeout, redis_client=cache._write_client)


def filesystem_store(directory: str, sealer: TokenSealer, lifetime: int, lock_timeout: float) -> ServerSideTokenStore:
    try:
        from cachelib import FileSystemCache
    except ImportError:
        raise ConfigError("OKTA_TOKEN_STORE is a directory: install cachelib (flask-okta-client[redis])") from None
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache = FileSystemCache(str(path), default_timeout=lifetime, threshold=0, mode=0o600)
    return ServerSideTokenStore(cache, sealer, lifetime, lock_timeout, lock_dir=path)
