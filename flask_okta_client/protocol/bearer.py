"""Access tokens presented to the site's API: local JWT validation or introspection, cached."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

from ..config import OktaConfig
from ..errors import TokenValidationError
from .client import ProviderClient
from .discovery import ProviderMetadata
from .singleflight import SingleFlight
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

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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


class ExpiringMap(Generic[K, V]):
    """At most ``max_size`` entries, each usable until a time of its own; the oldest is evicted first
    (a hit does not move its entry)."""

    def __init__(self, max_size: int, clock: Callable[[], float]) -> None:
        self.max_size = max_size
        self.clock = clock
        #: key -> (the time the entry stops being usable, the entry), oldest first.
        self.entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The entry of ``key`` while it is usable."""
        found = self.entries.get(key)
        return found[1] if found is not None and self.clock() < found[0] else None

    def put_until(self, key: K, until: float, entry: V) -> None:
        """Keep ``entry`` for ``key`` until the time ``until``."""
        if self.max_size <= 0:
            return
        entries = self.entries
        entries[key] = (until, entry)
        if len(entries) > self.max_size:
            with self._lock:
                while len(entries) > self.max_size:
                    try:
                        del entries[next(iter(entries))]
                    except (KeyError, RuntimeError):  # changed by another thread meanwhile
                        continue

    def __len__(self) -> int:
        return len(self.entries)


class VerifiedTokenCache(ExpiringMap[str, VerifiedToken]):
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
        super().__init__(max_size, clock)
        self.leeway = leeway

    def put(self, token: str, entry: VerifiedToken) -> None:
        self.put_until(token, entry.expires_at + self.leeway, entry)


class RefusedTokens(ExpiringMap[bytes, str]):
    """Tokens the provider's introspection refused for good, each with the reason, for ``ttl`` seconds.

    Anyone can have a token refused, so an entry is found by the SHA-256
    digest of the token rather than the token: what is kept of each stays a
    few dozen bytes however long the tokens sent, and the token itself is not
    kept. Hashing costs about 1.5 µs on a path that ends in a refusal.
    """

    def __init__(self, max_size: int, ttl: float, clock: Callable[[], float]) -> None:
        super().__init__(max_size if ttl > 0 else 0, clock)
        self.ttl = ttl

    def refuse(self, token: str, reason: str) -> None:
        self.put_until(hashlib.sha256(token.encode()).digest(), self.clock() + self.ttl, reason)

    def check(self, token: str) -> None:
        """Refuse ``token`` again, with the first refusal's reason, if it is remembered."""
        if self.entries:
            reason = self.get(hashlib.sha256(token.encode()).digest())
            if reason is not None:
                raise TokenValidationError(reason)


def offers_introspection(metadata: ProviderMetadata) -> bool:
    return isinstance(metadata.get("introspection_endpoint"), str)


class AccessTokenValidator:
    """Validates bearer access tokens the way the configuration asks.

    ``OKTA_TOKEN_VALIDATION``: ``local`` checks JWTs against the JWKS;
    ``introspect`` asks the provider (RFC 7662); ``auto`` validates locally,
    except at Okta's org authorization server (whose access tokens clients
    cannot verify) when its discovery offers introspection. That is decided
    from discovery on first use, so ``init_app`` makes no network calls.

    Introspection spares the provider's rate limit: a token it refused for
    every audience is refused from memory (``OKTA_INTROSPECTION_REFUSAL_TTL``
    seconds), and concurrent requests with one new token make one call.
    """

    def __init__(self, config: OktaConfig, verifier: TokenVerifier, client: ProviderClient) -> None:
        self.config = config
        self.verifier = verifier
        self.client = client
        self.cache = VerifiedTokenCache(config.verified_token_cache_size, config.clock_skew, verifier.clock)
        self.refusals = RefusedTokens(config.verified_token_cache_size, config.introspection_refusal_ttl,
                                      verifier.clock)
        self._introspections: SingleFlight[VerifiedToken] = SingleFlight()
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
        (and refused), from the entry itself when introspected.
        """
        cached = self.cache.get(token)
        if cached is not None:
            wanted = audience or self._default_audience or self.default_audience()
            if wanted is None or wanted in cached.audiences:
                return cached
        if self._local_only or not self.introspects():
            verified = verified_token(self.verifier.verify_access_token(token, audience=audience))
            self.cache.put(token, verified)
            return verified
        verified = cached or self._introspected(token)
        if audience is not None:  # the entry serves the audiences it names; a refusal here holds for this one only
            check_audience(verified.claims, audience)
        return verified

    def _introspected(self, token: str) -> VerifiedToken:
        """The entry of an introspected ``token``, whatever the audience; concurrent callers share one call."""
        if len(token) > MAX_TOKEN_LENGTH or not B64TOKEN.fullmatch(token):
            raise TokenValidationError("The token is malformed.")  # no outbound call for what cannot be a token
        self.refusals.check(token)
        try:
            return self._introspections.run(token, lambda: self._introspect(token))
        except TokenValidationError as shared:  # each caller's own: the guards add their challenge to it
            raise TokenValidationError(shared.description) from None

    def _introspect(self, token: str) -> VerifiedToken:
        """One introspection call. A refusal for every audience is remembered; a provider
        failure (raised to every caller waiting for this call) leaves nothing behind."""
        settled = self.cache.get(token)  # by a call that ended after this caller looked
        if settled is not None:
            return settled
        self.refusals.check(token)
        answer = self.client.introspect(token, "access_token")
        now = self.verifier.clock()
        try:
            verified = self._checked(answer, now)
        except TokenValidationError as refusal:
            if not starts_later(answer, now + self.config.clock_skew):  # else time may lift the refusal
                self.refusals.refuse(token, refusal.description)
            raise
        self.cache.put(token, verified)
        return verified

    def _checked(self, answer: dict[str, Any], now: float) -> VerifiedToken:
        """The entry of an introspection ``answer`` that passes every check but the audience's."""
        if answer.get("active") is not True:
            raise TokenValidationError("The token is not active.")
        if "iss" in answer:
            check_issuer(answer, self.config.issuer)
        if "sub" in answer:  # optional in RFC 7662 (e.g. client-credentials tokens), a string when present
            check_subject(answer)
        kind = access_token_kind(answer)  # introspection finds refresh tokens too
        if kind is False or (kind is None and self.config.introspection_require_token_type):
            raise TokenValidationError("The token is not an access token." if kind is False else
                                       "The provider's answer does not say the token is an access token.")
        if str(answer.get("token_type")).lower() == "dpop" and "cnf" not in answer:  # RFC 9449 §6.2
            raise TokenValidationError("The token is bound to a key in a way this site cannot check.")
        aud = answer.get("aud")  # optional; when present, what every route's audience check reads
        if aud is not None and not (isinstance(aud, str) or isinstance(aud, list)
                                    and all(isinstance(a, str) for a in aud)):
            raise TokenValidationError("The token's audience is malformed.")
        check_times(answer, now=now, leeway=self.config.clock_skew, require_iat=False)
        return verified_token(answer)


def access_token_kind(answer: Mapping[str, Any]) -> bool | None:
    """Whether an introspection answer says the token is an access token; ``None`` when it does not say.

    Read from RFC 7662's ``token_type`` (``Bearer`` or ``DPoP``), Keycloak's ``typ`` and Ory
    Hydra's ``token_use``; every member present must agree. Some providers (oidc-provider) describe
    refresh tokens with none of them, which is why an answer that says nothing is refused by default.
    """
    verdicts = [str(answer[name]).lower() in ACCESS_TOKEN_TYPES for name in ("token_type", "typ") if name in answer]
    if "token_use" in answer:
        verdicts.append(answer["token_use"] == "access_token")
    return all(verdicts) if verdicts else None


def starts_later(claims: Mapping[str, Any], moment: float) -> bool:
    """Whether ``claims`` name a start (``iat``, ``nbf``) after ``moment``."""
    return any(type(claims.get(name)) in (int, float) and claims[name] > moment for name in ("iat", "nbf"))
