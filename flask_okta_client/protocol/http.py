"""Outbound HTTP to the provider: timeouts on every call, failures as our errors."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import ProviderError, ProviderUnavailable
from .transport_errors import describe_transport_error

log = logging.getLogger("flask_okta_client")

USER_AGENT = "flask-okta-client"
# Statuses that mean "try again later" rather than "this answer is wrong".
UNAVAILABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def endpoint_name(url: str) -> str:
    """A URL without its query, safe to log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def raise_for_transport(exc: requests.RequestException, url: str) -> None:
    """Turn a transport failure into :class:`ProviderUnavailable`, logging why (the cause stays chained)."""
    log.warning("okta: %s failed: %s", endpoint_name(url), describe_transport_error(exc))
    outcome = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
    raise ProviderUnavailable(f"The sign-in service {outcome}. Please try again in a moment.") from exc


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


def check_status(response: requests.Response) -> None:
    """Raise for 5xx/429 (unavailable) before anything reads the body."""
    if response.status_code in UNAVAILABLE_STATUSES or response.status_code >= 500:
        log.warning("okta: %s answered %s", endpoint_name(response.url), response.status_code)
        raise ProviderUnavailable("The sign-in service is unavailable. Please try again in a moment.")


class HttpClient:
    """A pooled ``requests`` session that always applies ``timeout``."""

    def __init__(self, timeout: float, session: requests.Session | None = None) -> None:
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def get_json(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON document (discovery, JWKS, UserInfo)."""
        try:
            response = self.session.get(
                url, timeout=self.timeout, headers={"Accept": "application/json", **(headers or {})}
            )
        except requests.RequestException as exc:
            raise_for_transport(exc, url)
        check_status(response)
        if response.status_code != 200:
            log.warning("okta: %s answered %s", endpoint_name(url), response.status_code)
            raise ProviderError("The sign-in service refused a configuration request.")
        return json_object(response)
