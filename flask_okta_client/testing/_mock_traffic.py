"""Request counting and fault injection for the mock Okta authorization server."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

#: How many requests the log keeps (the newest); counts cover every request.
LOG_LIMIT = 10_000
ENDPOINT_NAMES = ("discovery", "keys", "authorize", "token", "userinfo", "revoke", "introspect", "par", "logout")
# What Okta answers when a rate limit is exceeded (with X-Rate-Limit-* headers).
OKTA_RATE_LIMIT_BODY = {
    "errorCode": "E0000047",
    "errorSummary": "API call exceeded rate limit due to too many requests.",
    "errorLink": "E0000047",
    "errorId": "oaeMockRateLimit",
    "errorCauses": [],
}
OKTA_RATE_LIMIT = 600


@dataclass(frozen=True)
class LoggedRequest:
    """One request the mock received (never its query, body or headers)."""

    endpoint: str
    method: str
    path: str
    at: float


@dataclass
class Fault:
    """How to answer the next requests to an endpoint.

    ``status=None`` answers normally after ``delay`` seconds; ``reset`` resets the
    connection instead of answering.
    """

    status: int | None
    body: str | None
    delay: float
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False

    def answer(self) -> tuple[str, str, dict[str, str]]:
        """The body, its media type and the headers of this fault's answer."""
        headers = dict(self.headers)
        if self.status == 429:
            headers = {
                "X-Rate-Limit-Limit": str(OKTA_RATE_LIMIT),
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(int(time.time()) + 60),
                **headers,
            }
        body = self.body
        if body is None:
            default = OKTA_RATE_LIMIT_BODY if self.status == 429 else {
                "error": "temporarily_unavailable", "error_description": "Injected fault."
            }
            body = json.dumps(default)
        media_type = "text/html" if body.lstrip().startswith("<") else "application/json"
        return body, media_type, headers


class Traffic:
    """The request log and the queue of injected faults per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[LoggedRequest] = deque(maxlen=LOG_LIMIT)
        self._counts: Counter[str] = Counter()
        self._faults: dict[str, deque[Fault]] = {}

    def record(self, endpoint: str, method: str, path: str) -> Fault | None:
        """Log a request and return the fault it should suffer, if any."""
        with self._lock:
            self._log.append(LoggedRequest(endpoint, method, path, time.time()))
            self._counts[endpoint] += 1
            queue = self._faults.get(endpoint)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault

    def inject(self, endpoint: str, fault: Fault) -> None:
        if endpoint not in ENDPOINT_NAMES:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINT_NAMES}")
        with self._lock:
            self._faults.setdefault(endpoint, deque()).append(fault)

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._counts.clear()
            self._faults.clear()
