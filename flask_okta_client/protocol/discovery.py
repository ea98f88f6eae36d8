"""Provider metadata from ``/.well-known/openid-configuration``, cached with an expiry."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import OktaError, ProviderError
from .http import HttpClient

log = logging.getLogger("flask_okta_client")

# After a failed refresh, how long the stale document is served before trying again.
STALE_RETRY_SECONDS = 30.0
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a discovery document the extension uses."""

    document: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.document[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.document.get(key, default)

    @property
    def issuer(self) -> str:
        return self.document["issuer"]

    @property
    def requires_iss_parameter(self) -> bool:
        """RFC 9207: the provider promises ``iss`` in every authorization response."""
        return self.document.get("authorization_response_iss_parameter_supported") is True

    def signing_algorithms(self, key: str) -> tuple[str, ...]:
        values = self.document.get(key)
        if isinstance(values, list):
            return tuple(v for v in values if isinstance(v, str))
        return ()


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_metadata(document: dict[str, Any], issuer: str) -> ProviderMetadata:
    """Check the document belongs to ``issuer`` and names the endpoints we need."""
    if document.get("issuer") != issuer:
        log.error("okta: discovery document names issuer %r, configured issuer is %r",
                  document.get("issuer"), issuer)
        raise ProviderError("The sign-in service's configuration does not match this site's issuer.")
    for key in REQUIRED_ENDPOINTS:
        if not isinstance(document.get(key), str):
            log.error("okta: discovery document has no %s", key)
            raise ProviderError("The sign-in service's configuration is incomplete.")
    return ProviderMetadata(document)


class MetadataCache:
    """Fetches the discovery document once per ``ttl`` seconds, one thread at a time.

    When a refresh fails but an older document is held, the older one is served
    so a short provider outage does not stop token validation.
    """

    def __init__(self, issuer: str, http: HttpClient, ttl: float) -> None:
        self.issuer = issuer
        self.http = http
        self.ttl = ttl
        self._metadata: ProviderMetadata | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> ProviderMetadata:
        metadata = self._metadata
        if metadata is not None and time.monotonic() < self._expires_at:
            return metadata
        with self._lock:
            if self._metadata is not None and time.monotonic() < self._expires_at:
                return self._metadata
            try:
                self._keep(parse_metadata(self.http.get_json(discovery_url(self.issuer)), self.issuer))
            except OktaError:
                if self._metadata is None:
                    raise
                log.warning("okta: discovery refresh failed; using the cached document")
                self._expires_at = time.monotonic() + min(self.ttl, STALE_RETRY_SECONDS)
            return self._metadata

    def keep(self, document: dict[str, Any]) -> ProviderMetadata:
        """Cache a document fetched elsewhere (``flask okta check`` reads it whole), checked
        as a fetched one is, so the calls that follow do not fetch it again."""
        metadata = parse_metadata(document, self.issuer)
        with self._lock:
            self._keep(metadata)
        return metadata

    def _keep(self, metadata: ProviderMetadata) -> None:
        self._metadata = metadata
        self._expires_at = time.monotonic() + self.ttl

    def clear(self) -> None:
        with self._lock:
            self._metadata = None
            self._expires_at = 0.0
