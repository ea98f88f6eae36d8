"""Copies of the Redis token store's entries in this process, kept current by Redis itself.

Redis' server-assisted client-side caching, in the mode that works with RESP2 on
Redis 6 and later (and Valkey): one connection per process runs ``CLIENT ID``,
``CLIENT TRACKING on REDIRECT <that id> BCAST PREFIX okta:signin:`` and
``SUBSCRIBE __redis__:invalidate``. From then on Redis sends it, in order, the
name of every key under the prefix that any client writes or deletes, and every
key that expires or is evicted (a null for ``FLUSHDB``/``FLUSHALL``). BCAST
needs no tracking on the connections that read, so the store's ordinary pool
is untouched. A daemon thread reads those messages and drops the copies they
name.

A copy is handed out only while nothing can have been missed:

- the connection is subscribed and tracking. At start-up, after a lost
  connection (Redis restarted, connection reset) and until a new one tracks,
  the copies are dropped and every read goes to Redis;
- no message waits unread on the connection: Redis queues an invalidation to
  this connection before it answers the write, so once it reaches this machine
  no request is served the old copy;
- Redis answered a ping, which the thread sends every second, sent less than
  :data:`SILENCE_LIMIT` seconds ago: a connection that dies without a word
  stops copies being served within that time (and is replaced).

A read that started before an invalidation and ends after it keeps nothing
(see :mod:`~flask_okta_client.sessions.local_copies`). A Redis that refuses
``CLIENT TRACKING`` (before 6, or a managed service that disables CLIENT
commands) is logged once; reads then always go to Redis. After a fork (gunicorn
``--preload``) the child starts its own thread and copies: nothing made before
the fork is used in it.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from .local_copies import MISS, LocalCopies

log = logging.getLogger("flask_okta_client")

CHANNEL = b"__redis__:invalidate"
#: The listener pings Redis this often (seconds).
PING_INTERVAL = 1.0
#: Copies are handed out only while Redis answered a ping sent less than this many seconds ago.
SILENCE_LIMIT = 3.0
#: With no answer for this long, the connection is given up and a new one made.
RECONNECT_AFTER = 10.0
#: Waits between attempts to (re)connect: doubling from the first to the last.
RETRY_DELAYS = (0.1, 5.0)
SOCKET_TIMEOUT = 5.0
#: What the listener's connection takes from an app's redis-py client (with its ``ssl_*`` settings):
#: which server, and who it is there. Nothing else (timeouts, RESP3, retries) is the listener's own.
SERVER_SETTINGS = frozenset({"host", "port", "path", "db", "username", "password", "credential_provider",
                             "client_name"})

_ALL: weakref.WeakSet[TrackedCopies] = weakref.WeakSet()


class TrackedCopies:
    """Read-through copies of one Redis server's keys under ``prefix``, at most ``size`` of them;
    one listener thread per process, started by the first read. ``server`` is the server's URL,
    or a redis-py client of it whose connection settings the listener's connection takes."""

    def __init__(self, server: str | Any, prefix: str, size: int) -> None:
        self.server = server
        self.prefix = prefix
        self.size = size
        self._listeners: dict[int, _Listener] = {}  # by process id
        weakref.finalize(self, _stop_all, self._listeners)
        _ALL.add(self)

    def read(self, key: str, fetch: Callable[[], Any]) -> Any:
        """The copy of ``key``, or ``fetch()`` (kept as a copy unless ``None``, or invalidated meanwhile)."""
        listener = self._listener()
        copies = listener.copies
        epoch = listener.quiet_epoch()
        if epoch is not None:
            value = copies.get(key, epoch)
            if value is not MISS:
                return value
        ticket = copies.begin_read(key)
        value = MISS
        try:
            value = fetch()
        finally:
            if ticket is not None:
                copies.end_read(key, ticket, MISS if value is None else value)
        return value

    @property
    def live(self) -> bool:
        """Whether copies are handed out in this process now (its listener tracks and is up to date)."""
        listener = self._listeners.get(os.getpid())
        return listener is not None and listener.quiet_epoch() is not None

    def forget(self, keys: Iterable[str]) -> None:
        """This process wrote or deleted these keys: drop its copies now, not when Redis says so."""
        listener = self._listeners.get(os.getpid())
        if listener is not None:
            listener.copies.forget(keys)

    def close(self) -> None:
        """Stop this process's listener (closing its connection) and drop the copies; a later
        read starts a new one."""
        listener = self._listeners.pop(os.getpid(), None)
        if listener is not None:
            listener.stop(wait=True)

    def _listener(self) -> _Listener:
        pid = os.getpid()
        listener = self._listeners.get(pid)
        if listener is None:
            for inherited in [other for other in self._listeners if other != pid]:
                self._listeners.pop(inherited, None)  # its thread and connection belong to the parent
            listener = self._listeners.setdefault(pid, _Listener(self.server, self.prefix, self.size))
            listener.start()
        return listener


def close_all() -> None:
    """Stop every listener of this process (test suites that build many apps call it between tests)."""
    for tracked in list(_ALL):
        tracked.close()


def _stop_all(listeners: dict[int, _Listener]) -> None:
    listener = listeners.pop(os.getpid(), None)
    if listener is not None:
        listener.stop(wait=False)


def readable(fds: list[int], timeout: float) -> set[int]:
    """Which of these descriptors have something to read (or are closed), waiting up to ``timeout`` s.

    ``poll`` where there is one; ``select`` on Windows and under gevent, which have none.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        return {fd for fd, _ in poller.poll(timeout * 1000)}
    try:
        return set(select.select(fds, [], [], timeout)[0])
    except ValueError as exc:  # a descriptor closed meanwhile
        raise OSError(str(exc)) from None


class TrackingRefused(Exception):
    """This Redis does not do client-side caching for us."""


class _Listener:
    """The invalidation connection of one process and the thread that reads it."""

    def __init__(self, server: str | Any, prefix: str, size: int) -> None:
        self.server = server
        self.prefix = prefix
        self.copies = LocalCopies(size)
        self._watch: tuple[int, int] | None = None  # (connection's socket, live epoch) while tracking
        self._draining = False  # the thread is reading messages off the socket
        self._confirmed_at = float("-inf")  # when the last ping Redis answered was sent
        self._failing = False  # the last attempt failed (logged once until tracking again)
        self._stopping = threading.Event()
        self._waker = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="okta-store-invalidations", daemon=True)
                self._thread.start()

    def stop(self, wait: bool) -> None:
        self._stopping.set()
        try:
            self._waker[1].send(b"x")
        except OSError:
            pass  # the thread has ended and closed it
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(SOCKET_TIMEOUT)

    def quiet_epoch(self) -> int | None:
        """The live epoch if copies may be handed out now, else ``None``."""
        watch = self._watch
        if watch is None:
            return None
        fd, epoch = watch
        # Checked in this order: a message the thread has taken off the socket is still being
        # handled while ``_draining`` is set.
        try:
            pending = readable([fd], 0)
        except OSError:  # closed by the thread meanwhile: it is going dark
            return None
        if pending or self._draining or time.monotonic() - self._confirmed_at > SILENCE_LIMIT:
            return None
        return epoch

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        import redis

        delay = RETRY_DELAYS[0]
        try:
            while not self._stopping.is_set():
                connection = None
                try:
                    connection = self._connect(redis)
                    self._listen(connection, redis)
                except TrackingRefused as exc:
                    log.warning("okta: Redis refused client-side caching (%s); every signed-in request "
                                "reads the token store", exc)
                    return
                except Exception as exc:  # Redis errors, socket errors, anything unexpected: start again
                    if self._watch is not None:  # it was tracking: a new outage
                        delay = RETRY_DELAYS[0]
                    if not self._failing and not self._stopping.is_set():
                        log.warning("okta: the token store's invalidation connection failed (%s); signed-in "
                                    "requests read Redis until it is back", type(exc).__name__)
                    self._failing = True
                finally:
                    self._go_dark()
                    if connection is not None:
                        connection.disconnect()
                self._stopping.wait(delay)
                delay = min(delay * 2, RETRY_DELAYS[1])
        finally:
            self._go_dark()
            for end in self._waker:
                end.close()

    def _connect(self, redis: Any) -> Any:
        options = {"protocol": 2, "socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT,
                   "socket_keepalive": True}
        if isinstance(self.server, str):
            pool = redis.ConnectionPool.from_url(self.server, **options)
        else:  # the app's client: its server, database, credentials and TLS settings
            theirs = self.server.connection_pool
            settings = {name: value for name, value in theirs.connection_kwargs.items()
                        if name in SERVER_SETTINGS or name.startswith("ssl_")}
            pool = redis.ConnectionPool(connection_class=theirs.connection_class, **settings, **options)
        connection = pool.make_connection()
        connection.connect()
        return connection

    def _listen(self, connection: Any, redis: Any) -> None:
        """Track, subscribe, then hand invalidations to the copies until stopped or the connection fails."""
        try:
            connection.send_command("CLIENT", "ID")
            client_id = connection.read_response()
            connection.send_command("CLIENT", "TRACKING", "on", "REDIRECT", client_id, "BCAST", "PREFIX",
                                    self.prefix)
            connection.read_response()
            connection.send_command("SUBSCRIBE", CHANNEL)
            connection.read_response()
        except redis.ResponseError as exc:  # unknown command, NOPERM, ...
            raise TrackingRefused(str(exc)) from None
        sock = connection._sock
        pings: dict[bytes, float] = {}
        sequence = 0
        self._draining = False
        self._confirmed_at = next_ping = time.monotonic()
        self._watch = (sock.fileno(), self.copies.go_live())
        if self._failing:
            log.info("okta: token store invalidations are back; signed-in requests use copies again")
            self._failing = False
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_ping:
                sequence += 1
                pings[str(sequence).encode()] = now
                connection.send_command("PING", sequence)
                next_ping = now + PING_INTERVAL
            if now - self._confirmed_at > RECONNECT_AFTER:
                raise TimeoutError("Redis stopped answering pings")
            if sock.fileno() in readable([sock.fileno(), self._waker[0].fileno()], max(0.0, next_ping - now)):
                self._draining = True
                while connection.can_read(timeout=0):
                    self._handle(connection.read_response(), pings)
                self._draining = False

    def _handle(self, message: Any, pings: dict[bytes, float]) -> None:
        kind = message[0] if isinstance(message, list) and message else None
        if kind == b"message" and len(message) == 3 and message[1] == CHANNEL:
            keys = message[2]
            if keys is None:  # FLUSHDB, FLUSHALL
                self.copies.forget_all()
            else:
                self.copies.forget(key.decode(errors="surrogateescape") for key in keys)
        elif kind == b"pong" and len(message) == 2:
            sent = pings.pop(message[1], None)
            if sent is not None:
                self._confirmed_at = max(self._confirmed_at, sent)
                for older in [seq for seq, at in pings.items() if at < sent]:
                    del pings[older]
        else:  # not what a tracking subscriber receives: start again rather than guess
            raise OSError(f"unexpected message on the invalidation connection: {kind!r}")

    def _go_dark(self) -> None:
        self._watch = None
        self.copies.go_dark()
