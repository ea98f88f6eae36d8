"""Run one call per key at a time; concurrent callers share its outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """``run(key, fn)``: the first caller runs ``fn``; callers arriving while it runs
    get its result or its exception. A success is also handed to callers that
    arrive within ``remember`` seconds after it.
    """

    def __init__(self, remember: float = 0.0) -> None:
        self.remember = remember
        self._lock = threading.Lock()
        self._calls: dict[Hashable, tuple[Future[T], list[float]]] = {}

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        with self._lock:
            self._forget_finished(time.monotonic())
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = (Future(), [])
        future, finished_at = call
        if not leader:
            return future.result()
        try:
            result = fn()
        except BaseException as exc:
            with self._lock:
                self._calls.pop(key, None)
            future.set_exception(exc)
            raise
        finished_at.append(time.monotonic())
        future.set_result(result)
        return result

    def _forget_finished(self, now: float) -> None:
        stale = [key for key, (_, done) in self._calls.items() if done and now - done[0] > self.remember]
        for key in stale:
            del self._calls[key]
