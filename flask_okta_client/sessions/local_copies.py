"""Copies of shared-store entries kept in this process, forgotten as soon as they may have changed.

:class:`LocalCopies` is a bounded LRU map with two rules that keep it honest:

- it holds copies only while *live*: whoever feeds it invalidations calls
  :meth:`~LocalCopies.go_live` once they are sure to arrive, and
  :meth:`~LocalCopies.go_dark` (which empties it) as soon as they may not;
  each live period has its own epoch, and a copy is only handed out for the
  epoch its caller checked;
- a copy read from the store is only kept if nothing invalidated that key
  while the read was under way: :meth:`~LocalCopies.begin_read` hands out a
  ticket, any invalidation of the key (or going dark) voids the key's tickets,
  and :meth:`~LocalCopies.end_read` keeps the value only for a ticket still
  valid. So a read that started before a change and finished after its
  invalidation never stores the old value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

#: What :meth:`LocalCopies.get` answers when it has no copy to hand out.
MISS: Any = object()


class LocalCopies:
    """At most ``size`` entries, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self._reads: dict[str, set[object]] = {}  # tickets of reads under way, by key
        self._epoch: int | None = None  # None while dark
        self._epochs = 0
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int | None:
        """The current live period, or ``None`` while dark."""
        return self._epoch

    def go_live(self) -> int:
        """Start a live period (empty); invalidations arrive from now on."""
        with self._lock:
            self._forget_all()
            self._epochs += 1
            self._epoch = self._epochs
            return self._epoch

    def go_dark(self) -> None:
        """Invalidations may be missed from now on: forget everything, keep nothing until live again."""
        with self._lock:
            self._epoch = None
            self._forget_all()

    def get(self, key: str, epoch: int) -> Any:
        """The copy of ``key``, or :data:`MISS` (also when ``epoch`` is not the current live period)."""
        with self._lock:
            if epoch != self._epoch:
                return MISS
            value = self._entries.get(key, MISS)
            if value is not MISS:
                self._entries.move_to_end(key)
            return value

    def begin_read(self, key: str) -> object | None:
        """A ticket for a store read of ``key`` about to start; ``None`` while dark."""
        with self._lock:
            if self._epoch is None:
                return None
            ticket = object()
            self._reads.setdefault(key, set()).add(ticket)
            return ticket

    def end_read(self, key: str, ticket: object, value: Any) -> None:
        """Keep ``value`` (unless it is :data:`MISS`) if ``ticket`` was not voided meanwhile."""
        with self._lock:
            tickets = self._reads.get(key)
            if tickets is None or ticket not in tickets:
                return
            tickets.discard(ticket)
            if not tickets:
                del self._reads[key]
            if value is MISS:
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, keys: Iterable[str]) -> None:
        """These keys changed (or may have): drop their copies and void reads under way."""
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)
                self._reads.pop(key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._forget_all()

    def __len__(self) -> int:
        return len(self._entries)

    def _forget_all(self) -> None:
        self._entries.clear()
        self._reads.clear()
