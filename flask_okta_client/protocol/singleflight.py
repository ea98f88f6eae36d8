"""Run one call per key at a time; concurrent callers share its outcome."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

#: Calls running in threads of their own (``run(..., wait=...)``) at once, at most, by default.
MAX_BACKGROUND_CALLS = 32


class TooManyCalls(RuntimeError):
    """Every background thread is busy: the call was not started."""


@dataclass
class _Call(Generic[T]):
    future: Future[T] = field(default_factory=Future)
    waiting: int = 0  # callers waiting for the outcome right now
    keep_until: float | None = None  # set once it succeeded


class BackgroundThreads:
    """Runs at most ``size`` functions at once in a thread pool, and queues none: one more is
    refused. The pool is made on first use, and made again in a forked child process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._free = threading.BoundedSemaphore(size)
        self._pid = os.getpid()

    def start(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in a thread of the pool; :class:`TooManyCalls` when all are busy."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # the parent's threads are not in a child
                self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="single-flight")
                self._free = threading.BoundedSemaphore(self.size)
                self._pid = os.getpid()
            pool, free = self._pool, self._free
        if not free.acquire(blocking=False):
            raise TooManyCalls(f"all {self.size} background threads are busy")

        def run() -> None:
            try:
                fn()
            finally:
                free.release()

        pool.submit(run)


class SingleFlight(Generic[T]):
    """``run(key, fn)``: the first caller runs ``fn``; callers arriving while it runs
    get its result or its exception. A success is also handed to callers that
    arrive within ``remember`` seconds after it, or, when no caller was waiting
    for it any more, within ``remember_unclaimed`` seconds (``remember`` seconds
    after the first caller takes it).

    With ``wait``, ``fn`` runs in a thread of a pool of ``background`` threads and
    callers wait for it at most ``wait`` seconds (then :class:`TimeoutError`): the
    call itself goes on, and its result is remembered for the next callers. When
    every thread of the pool is busy, the call is not started: its callers get
    :class:`TooManyCalls`.
    """

    def __init__(self, remember: float = 0.0, remember_unclaimed: float | None = None,
                 background: int = MAX_BACKGROUND_CALLS) -> None:
        self.remember = remember
        self.remember_unclaimed = remember if remember_unclaimed is None else remember_unclaimed
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}
        self.background = background
        self._threads = BackgroundThreads(background)

    def run(self, key: Hashable, fn: Callable[[], T], *, wait: float | None = None) -> T:
        with self._lock:
            self._forget_finished(time.monotonic())
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            call.waiting += 1
        try:
            if leader and wait is None:
                self._complete(key, call, fn)
            elif leader:
                self._start(key, call, fn)
            result = call.future.result(timeout=wait)
        finally:
            with self._lock:
                call.waiting -= 1
        with self._lock:
            self._taken(call)
        return result

    def finished(self, key: Hashable) -> T | None:
        """The remembered result for ``key``, taken as :meth:`run` would take it, if there is one;
        nothing is started."""
        with self._lock:
            self._forget_finished(time.monotonic())
            call = self._calls.get(key)
            if call is None or call.keep_until is None:
                return None
            self._taken(call)
        return call.future.result()

    def _taken(self, call: _Call[T]) -> None:
        """A result taken late is remembered as if it had just finished (under the lock)."""
        if call.keep_until is not None:
            call.keep_until = min(call.keep_until, time.monotonic() + self.remember)

    def _start(self, key: Hashable, call: _Call[T], fn: Callable[[], T]) -> None:
        """Run the call in the background, or fail it (for every caller) when no thread is free."""
        try:
            self._threads.start(lambda: self._complete(key, call, fn))
        except TooManyCalls as exc:
            with self._lock:
                self._calls.pop(key, None)
            call.future.set_exception(exc)

    def _complete(self, key: Hashable, call: _Call[T], fn: Callable[[], T]) -> None:
        """Run ``fn`` and settle ``call``'s future; a failure is forgotten at once."""
        try:
            result = fn()
        except BaseException as exc:
            with self._lock:
                self._calls.pop(key, None)
            call.future.set_exception(exc)
            return
        with self._lock:
            claimed = call.waiting > 0
            call.keep_until = time.monotonic() + (self.remember if claimed else self.remember_unclaimed)
        call.future.set_result(result)

    def _forget_finished(self, now: float) -> None:
        stale = [key for key, call in self._calls.items() if call.keep_until is not None and now > call.keep_until]
        for key in stale:
            del self._calls[key]
