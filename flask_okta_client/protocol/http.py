"""Outbound HTTP to the provider: timeouts, rate limits, retried GETs, failures as our errors.

Every call to the provider, ours or Authlib's, goes through a :class:`ProviderAdapter`:
a transport failure is raised as :class:`ProviderUnavailable` with the reason for the
logs, and so is a ``429``, ``408`` or ``5xx`` answer, before anything reads its body. When the
provider says how long to wait (``Retry-After``, or Okta's ``X-Rate-Limit-Reset``), the
endpoint is left alone until then and the wait is handed on to the ``Retry-After`` of our
``503``. Only GETs (discovery, JWKS, UserInfo) are retried, within the call's timeout.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..errors import ProviderError, ProviderUnavailable
from .transport_errors import describe_transport_error

log = logging.getLogger("flask_okta_client")

USER_AGENT = "flask-okta-client"
# Statuses that mean "try again later" rather than "this answer is wrong".
UNAVAILABLE_STATUSES = frozenset({408, 429})
# The longest wait a provider's Retry-After or X-Rate-Limit-Reset is believed for, in seconds.
MAX_RETRY_AFTER = 300
# A 429 that names no wait keeps its endpoint alone this long.
DEFAULT_RATE_LIMIT_WAIT = 30
# Retried GETs wait about this long before the first retry, twice as long before the next.
RETRY_BASE_DELAY = 0.2
# An attempt is not started with less time than this left in the call's budget.
MIN_ATTEMPT_TIMEOUT = 0.1

#: Request headers, or a function making them afresh for each attempt.
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]


def endpoint_name(url: str) -> str:
    """A URL without its query, safe to log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def is_unavailable(status: int) -> bool:
    return status in UNAVAILABLE_STATUSES or status >= 500


def _seconds(value: str | None) -> float | None:
    """A header's number of seconds (``Retry-After: 120``) or HTTP date, from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return None


def requested_wait(response: requests.Response) -> float | None:
    """How long the provider asks callers to stay away, bounded; ``None`` if it does not say.

    ``Retry-After`` (seconds or a date) first, else Okta's ``X-Rate-Limit-Reset`` (epoch
    seconds) when the answer is ``429`` or ``X-Rate-Limit-Remaining`` is ``0``.
    """
    headers = response.headers
    wait = _seconds(headers.get("Retry-After"))
    spent = response.status_code == 429 or headers.get("X-Rate-Limit-Remaining", "").strip() == "0"
    if wait is None and spent:
        try:
            wait = float(headers["X-Rate-Limit-Reset"]) - time.time()
        except (KeyError, ValueError):
            wait = None
    if wait is None and response.status_code == 429:
        wait = DEFAULT_RATE_LIMIT_WAIT
    if wait is None or wait != wait:  # NaN
        return None
    return min(max(wait, 1.0), MAX_RETRY_AFTER)


class RateLimits:
    """Per endpoint, the time before which the provider asked not to be called."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def remaining(self, url: str) -> float:
        """Seconds until ``url``'s endpoint may be called again (0: now)."""
        until = self._until.get(endpoint_name(url))
        return 0.0 if until is None else max(until - time.monotonic(), 0.0)

    def hold(self, url: str, seconds: float) -> None:
        with self._lock:
            key = endpoint_name(url)
            self._until[key] = max(self._until.get(key, 0.0), time.monotonic() + seconds)


class ProviderAdapter(HTTPAdapter):
    """A requests transport adapter that turns every kind of provider trouble into
    :class:`ProviderUnavailable` and keeps away from rate-limited endpoints."""

    def __init__(self, limits: RateLimits) -> None:
        super().__init__()
        self.limits = limits

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        blocked = self.limits.remaining(url)
        if blocked > 0:
            raise ProviderUnavailable(retry_after=blocked,
                                      reason=f"not sent: rate limited for another {blocked:.0f} s")
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable(reason=describe_transport_error(exc)) from exc
        wait = requested_wait(response)
        if wait is not None and (is_unavailable(response.status_code)
                                 or response.headers.get("X-Rate-Limit-Remaining", "").strip() == "0"):
            self.limits.hold(url, wait)
        if is_unavailable(response.status_code):
            response.close()
            held = f"; not calling it again for {wait:.0f} s" if wait is not None else ""
            raise ProviderUnavailable(retry_after=wait, reason=f"answered {response.status_code}{held}")
        return response


def provider_session(limits: RateLimits, session: requests.Session | None = None) -> requests.Session:
    """``session`` (default a new one) sending everything through a :class:`ProviderAdapter`."""
    session = session or requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = ProviderAdapter(limits)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body as a JSON object, or :class:`ProviderError`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("okta: %s answered %s with a body that is not a JSON object",
                    endpoint_name(response.url), response.status_code)
        raise ProviderError("The sign-in service sent an answer that could not be read.")
    return body


def retry_delay(attempt: int, error: ProviderUnavailable) -> float:
    """The wait before retry ``attempt`` (1, 2…): the provider's, else a jittered doubling."""
    jitter = random.uniform(0, RETRY_BASE_DELAY)
    if error.retry_after is not None:
        return error.retry_after + jitter
    return RETRY_BASE_DELAY * 2 ** (attempt - 1) + jitter


class HttpClient:
    """A pooled ``requests`` session for the provider, with a time budget per call.

    GETs are retried ``retries`` times with backoff while the budget (``timeout``
    seconds for the whole call) allows; other methods are never retried.
    """

    def __init__(self, timeout: float, retries: int = 2) -> None:
        self.timeout = timeout
        self.retries = retries
        self.limits = RateLimits()
        self.session = provider_session(self.limits)

    def get(self, url: str, headers: Headers | None = None) -> requests.Response:
        """GET ``url``; ``headers`` may be a function, called for each attempt (a fresh DPoP proof)."""
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            try:
                return self.session.get(url, timeout=max(deadline - time.monotonic(), MIN_ATTEMPT_TIMEOUT),
                                        headers=headers() if callable(headers) else headers)
            except requests.RequestException as exc:  # raised before sending: a URL requests cannot use
                log.warning("okta: GET %s failed: %s", endpoint_name(url), describe_transport_error(exc))
                raise ProviderUnavailable(reason=describe_transport_error(exc)) from exc
            except ProviderUnavailable as exc:
                attempt += 1
                delay = retry_delay(attempt, exc)
                if attempt > self.retries or time.monotonic() + delay + MIN_ATTEMPT_TIMEOUT > deadline:
                    log.warning("okta: GET %s failed: %s", endpoint_name(url), exc.reason)
                    raise
                log.info("okta: GET %s failed: %s; retrying in %.1f s", endpoint_name(url), exc.reason, delay)
                time.sleep(delay)

    def get_json(self, url: str, headers: Headers | None = None) -> dict[str, Any]:
        """GET a JSON document (discovery, JWKS, UserInfo)."""
        def attempt_headers() -> dict[str, str]:
            return {"Accept": "application/json", **(headers() if callable(headers) else headers or {})}

        response = self.get(url, attempt_headers)
        if response.status_code != 200:
            log.warning("okta: GET %s answered %s", endpoint_name(url), response.status_code)
            raise ProviderError("The sign-in service refused a configuration request.")
        return json_object(response)
