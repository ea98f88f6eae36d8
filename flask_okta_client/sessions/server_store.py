"""Tokens on the server in a cachelib cache; the sign-in cookie carries only a random handle.

``OKTA_TOKEN_STORE`` may be a ``redis://`` (or ``rediss://``, ``valkey://``)
URL, a directory for cachelib's ``FileSystemCache``, or any cachelib cache.
An entry is kept under a digest of its handle and sealed with the handle as
associated data: a dump of the cache reveals neither tokens nor handles, and an
entry copied under another handle does not open. A signed-in request costs one
cache read; with a Redis URL, each process keeps copies of the sealed entries it
read, which Redis invalidates when any instance changes them (see
:mod:`~flask_okta_client.sessions.invalidation`), so a request whose entry is
unchanged costs none. With Redis, refreshes of one session take a short Redis
lock, so several processes and machines never redeem the same refresh token
twice; reads under that lock always go to Redis.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..errors import ConfigError, OktaError
from .cookie import SignInCookie
from .invalidation import TrackedCopies
from .sealing import TokenSealer
from .storage import SignedInUser

log = logging.getLogger("flask_okta_client")

KEY_PREFIX = "okta:"
#: Values of ``OKTA_TOKEN_STORE`` and ``OKTA_LOGOUT_CACHE`` that name a Redis (or Valkey) server.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "valkey://", "valkeys://")
#: Cache keys of sign-in entries start with this.
ENTRY_NAMESPACE = "signin:"
# What secrets.token_urlsafe(32) makes; anything else is not worth a cache read.
HANDLE_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: Handles drawn for a new sign-in before a store that takes none is answered 503 (two 256-bit
#: handles never meet: a refusal means the store does not write, e.g. a full disk).
NEW_HANDLE_ATTEMPTS = 3
#: Retries of a Redis command answered ``LOADING`` (see :func:`store_retry`).
STORE_RETRIES = 5
#: The longest ``Retry-After`` taken from a loading Redis' own estimate, in seconds.
MAX_LOADING_ETA = 300
#: Seconds a Redis URL store waits to connect, and for each answer, before its request answers 503: a
#: Redis that stops answering without closing its connections (a partition, a frozen host) never
#: holds a request for longer. ``?socket_timeout=`` and ``?socket_connect_timeout=`` in the URL change it.
STORE_SOCKET_TIMEOUT = 5.0
#: Locks of this process that order read-modify-writes of caches with neither atomic commands nor files.
PROCESS_LOCKS = 64


class StoreUnavailable(OktaError):
    """The server-side token store cannot be reached."""

    status = 503
    error = "temporarily_unavailable"
    title = "Sign-in is temporarily unavailable"


@contextmanager
def reachable(redis_client: Any = None) -> Iterator[None]:
    """Transport errors of the shared store become a 503; one of a Redis still loading its data
    after a restart says in ``Retry-After`` when that Redis expects to be done."""
    try:
        yield
    except OktaError:
        raise
    except Exception as exc:  # cachelib and redis-py raise their own transport errors
        error = StoreUnavailable("Sign-in is temporarily unavailable. Please try again in a moment.")
        eta = loading_eta(redis_client, exc)
        if eta is None:
            log.error("okta: token store error: %s", type(exc).__name__)
        else:
            log.error("okta: token store error: Redis is still loading its data after a restart "
                      "(done in about %d s, it says)", eta)
            error.retry_after = eta
        raise error from None


def loading_eta(redis_client: Any, exc: Exception) -> int | None:
    """When ``exc`` is Redis' ``LOADING`` answer: the seconds it expects loading to take still
    (its ``INFO persistence`` estimate, at least 1, at most :data:`MAX_LOADING_ETA`)."""
    if redis_client is None or type(exc).__name__ != "BusyLoadingError":
        return None
    try:
        eta = redis_client.info("persistence").get("loading_eta_seconds")
    except Exception:  # gone meanwhile: no estimate
        return None
    return max(1, min(int(eta), MAX_LOADING_ETA)) if isinstance(eta, (int, float)) else None


def store_retry() -> dict[str, Any]:
    """How the Redis clients this extension makes answer ``LOADING`` (a Redis reading its data back
    after a restart, up but not serving yet): the command is sent again up to :data:`STORE_RETRIES`
    times, waiting about 0.1 s, doubling, up to 1 s (with jitter): at most 2.5 s in all, then the
    request answers 503. A refused or lost connection is not waited for: that request answers 503
    at once, and the pool opens its connections again once Redis is back.

    Client options: the ``Retry``, and ``retry_on_error`` for redis-py 5.0, which re-raises at once
    any error not also listed there."""
    from redis.backoff import EqualJitterBackoff
    from redis.exceptions import BusyLoadingError
    from redis.retry import Retry

    return {"retry": Retry(EqualJitterBackoff(cap=1.0, base=0.05), STORE_RETRIES,
                           supported_errors=(BusyLoadingError,)),
            "retry_on_error": [BusyLoadingError]}


def _handle(cookie: SignInCookie) -> str | None:
    handle = cookie.value
    return handle if handle is not None and HANDLE_PATTERN.fullmatch(handle) else None


def _legacy_handle(cookie: SignInCookie) -> str | None:
    """The handle an earlier version kept in Flask's session (``{"h": handle}``)."""
    handle = cookie.legacy.get("h") if isinstance(cookie.legacy, dict) else None
    return handle if isinstance(handle, str) else None


class ServerSideTokenStore:
    """Keeps each sign-in in ``cache`` under ``okta:signin:<digest of its handle>``, for ``lifetime`` seconds."""

    keeps_tokens_on_server = True

    def __init__(self, cache: Any, sealer: TokenSealer, lifetime: int, lock_timeout: float,
                 redis_client: Any = None, lock_dir: Path | None = None,
                 copies: TrackedCopies | None = None) -> None:
        self.cache = cache
        self.sealer = sealer
        self.lifetime = lifetime
        self.lock_timeout = lock_timeout
        self.redis = redis_client
        self.lock_dir = lock_dir
        #: This process's copies of entries (Redis URL stores), kept current by Redis' invalidations.
        self.copies = copies
        self._locked = threading.local()  # how many refresh locks this thread holds
        self._process_locks = [threading.Lock() for _ in range(PROCESS_LOCKS)]

    @staticmethod
    def cache_key(handle: str) -> str:
        return f"{ENTRY_NAMESPACE}{hashlib.sha256(handle.encode()).hexdigest()}"

    def redis_key(self, key: str) -> str:
        """The Redis key of a cache key: under the cache's own ``key_prefix`` (``okta:`` for a Redis URL;
        a callable one is called, as cachelib does)."""
        prefix = getattr(self.cache, "key_prefix", KEY_PREFIX)
        return f"{prefix() if callable(prefix) else prefix}{key}"

    def entry_key(self, cookie: SignInCookie) -> str | None:
        """The cache key of this cookie's sign-in, if it has one."""
        handle = _handle(cookie)
        return None if handle is None else self.cache_key(handle)

    def _reachable(self) -> Any:
        """:func:`reachable`, knowing this store's Redis client."""
        return reachable(self.redis)

    def load(self, cookie: SignInCookie) -> SignedInUser | None:
        handle = _handle(cookie)
        if handle is None:
            self._drop_legacy_entry(cookie)
            return None
        with self._reachable():
            sealed = self._read(self.cache_key(handle))
        return self.sealer.open(sealed, handle.encode()) if sealed is not None else None

    def _read(self, key: str) -> Any:
        """A copy of the entry, or the entry itself when there is none, or under a refresh lock."""
        if self.copies is None or getattr(self._locked, "depth", 0):
            return self.cache.get(key)
        return self.copies.read(self.redis_key(key), lambda: self.cache.get(key))

    @contextmanager
    def _changing(self, keys: Iterable[str]) -> Iterator[None]:
        """Around a write or delete of these entries: this process's copies of them are dropped
        after it, also when it failed (it may have happened all the same)."""
        try:
            yield
        finally:
            if self.copies is not None:
                self.copies.forget([self.redis_key(key) for key in keys])

    def save(self, cookie: SignInCookie, user: SignedInUser) -> None:
        """Store a new sign-in under a new handle, or update this cookie's entry while it exists:
        an entry deleted meanwhile (sign-out, back-channel logout) is not brought back."""
        handle = _handle(cookie)
        if handle is None:
            cookie.set(self._add_new(user))
            return
        with self._reachable():
            self._update(self.cache_key(handle), self.sealer.seal(user, handle.encode()))

    def _add_new(self, user: SignedInUser) -> str:
        """A new handle, now holding ``user``; never one whose entry exists (another process's)."""
        for _ in range(NEW_HANDLE_ATTEMPTS):
            handle = secrets.token_urlsafe(32)
            key, sealed = self.cache_key(handle), self.sealer.seal(user, handle.encode())
            with self._reachable():
                if self.redis is not None:  # one atomic write, only if the key is free
                    added = self.redis.set(self.redis_key(key), self.cache.serializer.dumps(sealed),
                                           ex=self.lifetime, nx=True)
                else:
                    with self._exclusive(sign_in_lock(handle)):
                        added = self.cache.add(key, sealed, timeout=self.lifetime)
            if added:
                return handle
        log.error("okta: the token store refused a new sign-in %d times", NEW_HANDLE_ATTEMPTS)
        raise StoreUnavailable("Sign-in is temporarily unavailable. Please try again in a moment.")

    def _update(self, key: str, sealed: Any) -> None:
        with self._changing([key]):
            if self.redis is not None:  # one atomic write, only if the key exists
                self.redis.set(self.redis_key(key), self.cache.serializer.dumps(sealed), ex=self.lifetime, xx=True)
            elif self.cache.has(key):
                self.cache.set(key, sealed, timeout=self.lifetime)

    def replace(self, cookie: SignInCookie, loaded: SignedInUser, updated: SignedInUser) -> bool:
        """Write ``updated`` only while the entry still holds ``loaded``, so a refresh stored meanwhile
        (another thread or instance) is never undone: atomically with Redis (a transaction watching the
        entry) and with a directory (under the entry's lock, which refreshes hold, not waited for);
        other caches compare just before writing."""
        handle = _handle(cookie)
        if handle is None:
            return False
        key = self.cache_key(handle)
        sealed = self.sealer.seal(updated, handle.encode())
        with self._reachable(), self._changing([key]):
            if self.redis is not None:
                return self._replace_watched(key, handle, loaded, sealed)
            if self.lock_dir is None:
                return self._replace_if_holding(key, handle, loaded, sealed)
            lock = self._file_lock(sign_in_lock(handle), timeout=0)
            try:
                lock.acquire()
            except Timeout:
                return False  # a refresh holds it, and will store a newer entry
            try:
                return self._replace_if_holding(key, handle, loaded, sealed)
            finally:
                lock.release()

    def _replace_watched(self, key: str, handle: str, loaded: SignedInUser, sealed: Any) -> bool:
        from redis.exceptions import WatchError

        name = self.redis_key(key)
        with self.redis.pipeline() as transaction:
            try:
                transaction.watch(name)
                raw = transaction.get(name)
                if raw is None or not self._holds(self.cache.serializer.loads(raw), handle, loaded):
                    return False
                transaction.multi()
                transaction.set(name, self.cache.serializer.dumps(sealed), ex=self.lifetime, xx=True)
                transaction.execute()
            except WatchError:  # written meanwhile
                return False
        return True

    def _replace_if_holding(self, key: str, handle: str, loaded: SignedInUser, sealed: Any) -> bool:
        current = self.cache.get(key)
        if current is None or not self._holds(current, handle, loaded):
            return False
        self.cache.set(key, sealed, timeout=self.lifetime)
        return True

    def _holds(self, sealed: Any, handle: str, loaded: SignedInUser) -> bool:
        """Whether the sealed entry of ``handle`` is still the sign-in a request loaded."""
        return self.sealer.open(sealed, handle.encode()) == loaded

    def clear(self, cookie: SignInCookie) -> None:
        handle = _handle(cookie)
        cookie.clear()
        if handle is not None:
            key = self.cache_key(handle)
            with self._reachable(), self._changing([key]):
                self.cache.delete(key)

    def delete_entries(self, keys: list[str]) -> None:
        """Delete these entries (cache keys) from the store, for every instance."""
        with self._reachable(), self._changing(keys):
            self.cache.delete_many(*keys)

    def close(self) -> None:
        """Stop this process's invalidation listener, if any (a later read starts it again)."""
        if self.copies is not None:
            self.copies.close()

    def _drop_legacy_entry(self, cookie: SignInCookie) -> None:
        """An earlier version's entry is not bound to its handle: it is deleted, never opened."""
        handle = _legacy_handle(cookie)
        if handle is not None:
            cookie.legacy = None
            with self._reachable():
                self.cache.delete(f"login:{handle}")

    @contextmanager
    def refresh_lock(self, cookie: SignInCookie) -> Iterator[None]:
        """The lock below; while this thread holds it, its reads go to the store, not to copies."""
        self._locked.depth = getattr(self._locked, "depth", 0) + 1
        try:
            with self._refresh_lock(cookie):
                yield
        finally:
            self._locked.depth -= 1

    @contextmanager
    def _refresh_lock(self, cookie: SignInCookie) -> Iterator[None]:
        """A Redis lock, a file lock for a directory store, or nothing for other caches."""
        handle = _handle(cookie)
        if handle is None:
            yield
            return
        if self.redis is not None:
            with self._reachable():
                lock = self.redis.lock(self.redis_key(f"refresh-lock:{lock_digest(handle)}"),
                                       timeout=self.lock_timeout, blocking_timeout=self.lock_timeout)
                acquired = lock.acquire()
            if not acquired:
                raise StoreUnavailable("Your session is busy. Please try again in a moment.")
            try:
                yield
            finally:
                release_quietly(lock, self.lock_timeout)
        elif self.lock_dir is not None:
            with self._exclusive(sign_in_lock(handle)):
                yield
        else:
            yield

    def _file_lock(self, name: str, timeout: float) -> FileLock:
        """The directory store's lock ``name`` (of one sign-in's entry, or of one index)."""
        assert self.lock_dir is not None
        return FileLock(self.lock_dir / f"okta-{name}.lock", timeout=timeout)

    @contextmanager
    def _exclusive(self, name: str) -> Iterator[None]:
        """Hold lock ``name`` of a store without atomic commands (not Redis), waiting up to the lock
        timeout: a file lock in a directory store (every process of the machine), else a lock of
        this process only."""
        if self.lock_dir is None:
            with self._process_locks[hash(name) % PROCESS_LOCKS]:
                yield
            return
        lock = self._file_lock(name, timeout=self.lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StoreUnavailable("Your session is busy. Please try again in a moment.") from None
        try:
            yield
        finally:
            lock.release()

    # -- sets of entry keys (the logout indexes) -------------------------------------

    def add_to_sets(self, names: list[str], entry: str) -> None:
        """Add the cache key ``entry`` to each of these sets, which then live ``lifetime`` seconds more.
        Never loses another process's addition: with Redis ``SADD``, else under each set's lock."""
        with self._reachable():
            if self.redis is not None:
                pipeline = self.redis.pipeline(transaction=False)
                for name in names:
                    pipeline.sadd(self.redis_key(name), entry)
                    pipeline.expire(self.redis_key(name), self.lifetime)
                pipeline.execute()
                return
            for name in names:
                with self._exclusive(index_lock(name)):
                    self.cache.set(name, [*(self.cache.get(name) or []), entry], timeout=self.lifetime)

    def delete_indexed(self, names: list[str]) -> int:
        """Delete the entries these sets hold, then take them out of the sets (a failure leaves the
        sets whole, for a later try); an entry added meanwhile stays in its set. How many were held."""
        with self._reachable():
            if self.redis is not None:
                reading = self.redis.pipeline(transaction=False)
                for name in names:
                    reading.smembers(self.redis_key(name))
                held = [sorted(e.decode() if isinstance(e, bytes) else e for e in members)
                        for members in reading.execute()]
                entries = sorted({e for members in held for e in members})
                if entries:
                    self.delete_entries(entries)
                    removing = self.redis.pipeline(transaction=False)
                    for name, members in zip(names, held):
                        if members:
                            removing.srem(self.redis_key(name), *members)
                    removing.execute()
                return len(entries)
            ended: set[str] = set()
            for name in names:
                with self._exclusive(index_lock(name)):
                    entries = sorted(set(self.cache.get(name) or []) - ended)
                    if entries:
                        self.delete_entries(entries)
                    ended.update(entries)
                    self.cache.delete(name)
            return len(ended)


def lock_digest(handle: str) -> str:
    """What names a sign-in's lock: a digest of its handle (never the handle itself)."""
    return hashlib.sha256(handle.encode()).hexdigest()[:32]


def sign_in_lock(handle: str) -> str:
    """The name of a sign-in's lock in a store without Redis (refreshes, new entries, replacements)."""
    return f"refresh-{lock_digest(handle)}"


def index_lock(name: str) -> str:
    """The name of a logout index's lock in a store without Redis (a file name: no ``:``)."""
    return name.replace(":", "-")


def release_quietly(lock: Any, timeout: float) -> None:
    """Release a Redis lock. One Redis no longer holds (it expired, or a restarted Redis lost it) or
    cannot reach now is left to expire: what it guarded is done, so the request goes on."""
    from redis.exceptions import LockError, RedisError

    try:
        lock.release()
    except LockError:
        log.warning("okta: the refresh lock was gone when released (it expired, or Redis restarted); carrying on")
    except RedisError as exc:
        log.warning("okta: the refresh lock could not be released (%s); it expires within %g s",
                    type(exc).__name__, timeout)


def redis_url(url: str) -> str:
    """A ``valkey://`` URL as redis-py reads it."""
    return url.replace("valkey://", "redis://", 1).replace("valkeys://", "rediss://", 1)


def redis_cache(url: str, lifetime: int, setting: str = "OKTA_TOKEN_STORE") -> Any:
    """A cachelib ``RedisCache`` (keys prefixed ``okta:``) for a ``redis://`` or ``valkey://`` URL."""
    try:
        import redis
        from cachelib import RedisCache
    except ImportError:
        raise ConfigError(f"{setting} is a Redis URL: install flask-okta-client[redis]") from None
    client = redis.Redis.from_url(redis_url(url), **store_retry(), socket_timeout=STORE_SOCKET_TIMEOUT,
                                  socket_connect_timeout=STORE_SOCKET_TIMEOUT)
    return RedisCache(host=client, key_prefix=KEY_PREFIX, default_timeout=lifetime)


def redis_store(url: str, sealer: TokenSealer, lifetime: int, lock_timeout: float,
                copies: int | None = None) -> ServerSideTokenStore:
    """The store for a Redis URL; with ``copies``, this process keeps up to that many copies of entries."""
    cache = redis_cache(url, lifetime)
    store = ServerSideTokenStore(cache, sealer, lifetime, lock_timeout, redis_client=cache._write_client)
    if copies is not None:
        store.copies = TrackedCopies(redis_url(url), store.redis_key(ENTRY_NAMESPACE), copies)
    return store


def cache_store(cache: Any, sealer: TokenSealer, lifetime: int, lock_timeout: float,
                copies: int | None = None) -> ServerSideTokenStore:
    """The store for a cachelib cache the app made. A ``RedisCache`` is written with Redis' atomic
    commands; with ``copies``, this process also keeps copies of its entries when that can be
    done safely (see :func:`copies_possible`)."""
    client = getattr(cache, "_write_client", None)
    store = ServerSideTokenStore(cache, sealer, lifetime, lock_timeout, redis_client=client)
    if copies is not None and copies_possible(cache):
        store.copies = TrackedCopies(client, store.redis_key(ENTRY_NAMESPACE), copies)
    return store


def copies_possible(cache: Any) -> bool:
    """Whether Redis' invalidations cover every read of this cache: a cachelib Redis cache whose one
    client (reads from a replica could bring back a value older than its invalidation) is a plain
    redis-py client, and whose key prefix is a string (a callable one may change under the listener)."""
    try:
        import redis
    except ImportError:
        return False
    client = getattr(cache, "_write_client", None)
    return (isinstance(client, redis.Redis) and getattr(cache, "_read_client", None) is client
            and type(client.connection_pool) in (redis.ConnectionPool, redis.BlockingConnectionPool)
            and isinstance(getattr(cache, "key_prefix", None), str))


def filesystem_store(directory: str, sealer: TokenSealer, lifetime: int, lock_timeout: float) -> ServerSideTokenStore:
    from cachelib import FileSystemCache

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache = FileSystemCache(str(path), default_timeout=lifetime, threshold=0, mode=0o600)
    return ServerSideTokenStore(cache, sealer, lifetime, lock_timeout, lock_dir=path)
