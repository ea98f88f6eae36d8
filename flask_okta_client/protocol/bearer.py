"""Access tokens presented to the site's API: local JWT validation or introspection, cached."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ..config import OktaConfig
from ..errors import TokenValidationError
from .client import ProviderClient
from .discovery import ProviderMetadata
from .validation import (
    MAX_TOKEN_LENGTH,
    check_audience,
    check_issuer,
    check_subject,
    check_times,
    token_scopes,
)
from .verifier import TokenVerifier

log = logging.getLogger("flask_okta_client")

#: RFC 6750 §2.1: the syntax of a bearer token.
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: ``token_type`` values of an introspected access token (RFC 6750 bearer, RFC 9449 DPoP-bound).
ACCESS_TOKEN_TYPES = frozenset({"bearer", "dpop"})


class VerifiedToken(NamedTuple):
    """A token that passed validation: read-only claims, its scopes, expiry, DPoP key binding and audiences."""

    claims: Mapping[str, Any]
    scopes: frozenset[str]
    expires_at: float
    #: ``cnf.jkt``: the thumbprint of the DPoP key the token is bound to (RFC 9449 §6), if any.
    jkt: str | None = None
    audiences: frozenset[str] = frozenset()


def verified_token(claims: dict[str, Any]) -> VerifiedToken:
    """What the cache keeps of a token whose ``claims`` passed validation (``exp`` is a number).

    Built for every token seen for the first time, so the common shapes (one
    audience, no ``cnf``) take no further calls.
    """
    aud = claims.get("aud")
    return tuple.__new__(VerifiedToken, (  # as NamedTuple._make does, without its own Python call
        MappingProxyType(claims),
        token_scopes(claims),
        float(claims["exp"]),
        bound_key(claims) if "cnf" in claims else None,
        frozenset((aud,)) if isinstance(aud, str) else claimed_audiences(claims),
    ))


def bound_key(claims: Mapping[str, Any]) -> str | None:
    """``cnf.jkt`` of a token; a confirmation this site cannot check (mTLS, say) refuses the token."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt:
        raise TokenValidationError("The token is bound to a key in a way this site cannot check.")
    return jkt


def claimed_audiences(claims: Mapping[str, Any]) -> frozenset[str]:
    """The ``aud`` claim as a set; empty when absent or malformed (introspection answers need not have one)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return frozenset((aud,))
    if isinstance(aud, list):
        return frozenset(a for a in aud if isinstance(a, str))
    return frozenset()


class VerifiedTokenCache:
    """A bounded map of verified tokens, found by the exact token; the oldest entry is evicted first.

    The token string itself is the key: a hit needs every character to
    match, so a copy with any character changed is a miss, and the lookup
    costs one hash of the string (a digest of the signature cost more than
    the rest of a hit inside a request). The cache therefore holds the
    tokens it verified, at most ``max_size`` of them, in the process's
    memory, as the requests that carried them did. Only tokens that passed
    validation are stored, each with the time it stops being usable (its
    expiry plus the clock leeway), which every hit checks.

    A hit is a dict lookup and one comparison: entries are never moved, so a
    token still in use when it becomes the oldest is evicted and verified
    once more, at most once per ``max_size`` new tokens.
    """

    def __init__(self, max_size: int, leeway: float, clock: Callable[[], float] = time.time) -> None:
        self.max_size = max_size
        self.leeway = leeway
        self.clock = clock
        #: token -> (the time the entry stops being usable, the entry), oldest first.
        self.entries: dict[str, tuple[float, VerifiedToken]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> VerifiedToken | None:
        """The entry of ``token`` while it is usable."""
        found = self.entries.get(token)
        return found[1] if found is not None and self.clock() < found[0] else None

    def put(self, token: str, entry: VerifiedToken) -> None:
        if self.max_size <= 0:
            return
        entries = self.entries
        entries[token] = (entry.expires_at + self.leeway, entry)
        if len(entries) > self.max_size:
            with self._lock:
                while len(entries) > self.max_size:
                    try:
                        del entries[next(iter(entries))]
                    except (KeyError, RuntimeError):  # changed by another thread meanwhile
                        continue

    def __len__(self) -> int:
        return len(self.entries)


def offers_introspection(metadata: ProviderMetadata) -> bool:
    return isinstance(metadata.get("introspection_endpoint"), str)


class AccessTokenValidator:
    """Validates bearer access tokens the way the configuration asks.

    ``OKTA_TOKEN_VALIDATION``: ``local`` checks JWTs against the JWKS;
    ``introspect`` asks the provider (RFC 7662); ``auto`` validates locally,
    except at Okta's org authorization server (whose access tokens clients
    cannot verify) when its discovery offers introspection. That is decided
    from discovery on first use, so ``init_app`` makes no network calls.
    """

    def __init__(self, config: OktaConfig, verifier: TokenVerifier, client: ProviderClient) -> None:
        self.config = config
        self.verifier = verifier
        self.client = client
        self.cache = VerifiedTokenCache(config.verified_token_cache_size, config.clock_skew, verifier.clock)
        mode = config.token_validation
        self._always_introspects = mode == "introspect"
        self._introspects_if_offered = mode == "auto" and config.is_org_authorization_server
        # Tokens always validated locally: the default audience is known now, and no discovery is read per call.
        self._local_only = not (self._always_introspects or self._introspects_if_offered)
        self._default_audience = config.audience if self._local_only else None

    def known_audience(self, audience: str | None) -> str | None:
        """The audience a cached token must name to serve a route asking for ``audience``, when
        that is known without discovery; ``None`` when only :meth:`validate` can tell."""
        return audience or self._default_audience

    def default_audience(self) -> str | None:
        """The audience a token must name when the route names none: ``OKTA_AUDIENCE`` for
        local validation; none with introspection (the audience is checked only when given)."""
        return None if self.introspects() else self.config.audience

    def introspects(self) -> bool:
        """Whether tokens are introspected rather than validated locally."""
        if self._introspects_if_offered:
            return offers_introspection(self.verifier.metadata.get())
        return self._always_introspects

    def validate(self, token: str, audience: str | None = None) -> VerifiedToken:
        """The verified token, or :class:`TokenValidationError`.

        ``audience`` defaults to ``OKTA_AUDIENCE`` for local validation; with
        introspection it is checked only when given. One cache entry serves
        every audience the token names; another audience is validated afresh
        (and refused).
        """
        cached = self.cache.get(token)
        if cached is not None:
            wanted = audience or self._default_audience or self.default_audience()
            if wanted is None or wanted in cached.audiences:
                return cached
        if self._local_only or not self.introspects():
            claims = self.verifier.verify_access_token(token, audience=audience)
        else:
            claims = self._introspect(token, audience)
        verified = verified_token(claims)
        self.cache.put(token, verified)
        return verified

    def _introspect(self, token: str, audience: str | None) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH or not B64TOKEN.fullmatch(token):
            raise TokenValidationError("The token is malformed.")  # no outbound call for what cannot be a token
        answer = self.client.introspect(token, "access_token")
        if answer.get("active") is not True:
            raise TokenValidationError("The token is not active.")
        if "iss" in answer:
            check_issuer(answer, self.config.issuer)
        if "sub" in answer:  # optional in RFC 7662 (e.g. client-credentials tokens), a string when present
            check_subject(answer)
        token_type = answer.get("token_type")  # introspection finds refresh tokens too
        if token_type is not None and str(token_type).lower() not in ACCESS_TOKEN_TYPES:
            raise TokenValidationError("The token is not an access token.")
        if audience is not None:
            check_audience(answer, audience)
        check_times(answer, now=self.verifier.clock(), leeway=self.config.clock_skew, require_iat=False)
        return answer
