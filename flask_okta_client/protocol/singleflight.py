"""Run one call per key at a time; concurrent callers share its outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Call(Generic[T]):
    future: Future[T] = field(default_factory=Future)
    waiting: int = 0  # callers waiting for the outcome right now
    keep_until: float | None = None  # set once it succeeded


class SingleFlight(Generic[T]):
    """``run(key, fn)``: the first caller runs ``fn``; callers arriving while it runs
    get its result or its exception. A success is also handed to callers that
    arrive within ``remember`` seconds after it, or, when no caller was waiting
    for it any more, within ``remember_unclaimed`` seconds (``remember`` seconds
    after the first caller takes it).

    With ``wait``, ``fn`` runs in a thread of its own and callers wait for it at
    most ``wait`` seconds (then :class:`TimeoutError`): the call itself goes on,
    and its result is remembered for the next callers.
    """

    def __init__(self, remember: float = 0.0, remember_unclaimed: float | None = None) -> None:
        self.remember = remember
        self.remember_unclaimed = remember if remember_unclaimed is None else remember_unclaimed
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}

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
                threading.Thread(target=self._complete, args=(key, call, fn), daemon=True,
                                 name="single-flight").start()
            result = call.future.result(timeout=wait)
        finally:
            with self._lock:
                call.waiting -= 1
        with self._lock:
            if call.keep_until is not None:  # taken late: remembered as if it had just finished
                call.keep_until = min(call.keep_until, time.monotonic() + self.remember)
        return result

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
