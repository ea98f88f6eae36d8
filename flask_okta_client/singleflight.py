"""Run one call per key at a time; concurrent callers share its result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished_at = 0.0


class SingleFlight(Generic[T]):
    """``run(key, fn)``: the first caller runs ``fn``; callers arriving while it runs,
    or within ``remember`` seconds after it succeeded, get the same result.
    Failures are shared with the callers that waited, but not remembered.
    """

    def __init__(self, remember: float = 0.0) -> None:
        self.remember = remember
        self._calls: dict[Hashable, _Call[T]] = {}
        self._lock = threading.Lock()

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        with self._lock:
            self._forget_old(time.monotonic())
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = _Call()
        assert call is not None
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.result  # type: ignore[return-value]
        try:
            call.result = fn()
        except BaseException as exc:
            call.error = exc
            with self._lock:
                self._calls.pop(key, None)
            raise
        finally:
            call.finished_at = time.monotonic()
            call.done.set()
        return call.result

    def _forget_old(self, now: float) -> None:
        stale = [k for k, c in self._calls.items() if c.done.is_set() and now - c.finished_at > self.remember]
        for key in stale:
            del self._calls[key]
