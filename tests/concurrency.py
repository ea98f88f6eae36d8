"""Run calls at the same moment, each on its own thread, and collect what each returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_concurrently(calls: Sequence[Callable[[], T]], timeout: float = 30.0) -> list[T | BaseException]:
    """Start every call behind one barrier; outcomes come back in the order of ``calls``.

    A call that raises leaves its exception as its outcome; one still running
    after ``timeout`` fails the test.
    """
    start = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [RuntimeError("did not run")] * len(calls)

    def run(index: int) -> None:
        try:
            start.wait(timeout=timeout)
            outcomes[index] = calls[index]()
        except BaseException as error:  # noqa: BLE001 - reported to the caller as the outcome
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f"a concurrent call was still running after {timeout} s")
    return outcomes
