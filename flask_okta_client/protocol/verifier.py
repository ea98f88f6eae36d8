"""Verifies ID tokens and JWT access tokens of one provider."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from joserfc.jwk import Key, OctKey

from ..config import ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, OktaConfig
from ..errors import TokenValidationError
from . import validation as rules
from .discovery import MetadataCache, ProviderMetadata
from .jwks import JwksCache

DEFAULT_ALGORITHMS = ("RS256",)
#: Logout tokens issued longer ago than this (plus the clock skew) are refused.
LOGOUT_TOKEN_MAX_AGE = 300
#: Signature checks kept (one per signing key and algorithm; a provider has a handful).
MAX_SIGNATURE_CHECKS = 64
#: Allowed header segments kept, with the algorithms they were checked against.
MAX_ALLOWED_HEADERS = 256


class TokenVerifier:
    """Signature and claim checks with keys from the provider's JWKS.

    Allowed algorithms come from configuration or, failing that, from the
    discovery document (asymmetric ones only); never from the token. HMAC is
    accepted only when configured, and then only with the client secret.
    """

    def __init__(self, config: OktaConfig, metadata: MetadataCache, jwks: JwksCache,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.metadata = metadata
        self.jwks = jwks
        self.clock = clock
        hmac_allowed = any(a in HMAC_ALGORITHMS for a in config.id_token_algorithms or ())
        self._hmac_key = OctKey.import_key(config.client_secret) if hmac_allowed and config.client_secret else None
        # (kid, alg) -> (the key, its signature check); only keys the JWKS answered reach it.
        self._signature_checks: dict[tuple[str | None, str], tuple[Key, rules.SignatureCheck]] = {}
        # (header segment, allowed algorithms) -> (kid, alg) of a header that passed the policy.
        self._allowed_headers: dict[tuple[bytes, tuple[str, ...]], tuple[str | None, str]] = {}
        self._algorithms_for: ProviderMetadata | None = None
        self._algorithms_cache: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def id_token_algorithms(self) -> tuple[str, ...]:
        return self._algorithms()[0]

    def access_token_algorithms(self) -> tuple[str, ...]:
        """Asymmetric only (RFC 9068): the client secret must not mint access tokens."""
        return self._algorithms()[1]

    def _algorithms(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(ID token, access token) algorithms, worked out again only when discovery changes."""
        metadata = self.metadata.get()
        if self._algorithms_for is not metadata:
            advertised = metadata.signing_algorithms("id_token_signing_alg_values_supported")
            id_token = self.config.id_token_algorithms or (
                tuple(a for a in advertised if a in ASYMMETRIC_ALGORITHMS) or DEFAULT_ALGORITHMS
            )
            access_token = tuple(
                a for a in self.config.access_token_algorithms or id_token if a in ASYMMETRIC_ALGORITHMS
            ) or DEFAULT_ALGORITHMS
            self._algorithms_cache = (id_token, access_token)
            self._algorithms_for = metadata
        return self._algorithms_cache

    def verified_claims(self, token: str | bytes, algorithms: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        """``(alg, claims)`` of a token whose header passes the policy and whose signature is valid.

        The signature is checked before the payload is parsed.
        """
        header_segment, payload_segment, signature_segment = rules.split_compact(token)
        kid, alg = self._allowed_headers.get((header_segment, algorithms)) or \
            self._allowed_header(header_segment, algorithms)
        rules.check_signature(self._signature_check(kid, alg), header_segment, payload_segment, signature_segment)
        return alg, rules.decode_claims(payload_segment)

    def _allowed_header(self, segment: bytes, algorithms: tuple[str, ...]) -> tuple[str | None, str]:
        """``(kid, alg)`` of a header segment the policy allows, remembered (a provider's tokens
        share a handful of headers, so most tokens skip decoding and checking theirs)."""
        header = rules.decode_header(segment)
        rules.check_header(header, algorithms)
        if len(self._allowed_headers) >= MAX_ALLOWED_HEADERS:
            self._allowed_headers.clear()
        allowed = self._allowed_headers[segment, algorithms] = (header.get("kid"), header["alg"])
        return allowed

    def _signature_check(self, kid: str | None, alg: str) -> rules.SignatureCheck:
        """The check of ``alg`` signatures by the key for ``kid``, built once per key object
        (a refetched key set brings new objects, and so new checks)."""
        if alg in HMAC_ALGORITHMS:
            if self._hmac_key is None:
                raise TokenValidationError("HMAC-signed tokens need a client secret.")
            key, kid = self._hmac_key, None  # any kid names the one secret
        else:
            key = self.jwks.key_for(kid, alg)
        built = self._signature_checks.get((kid, alg))
        if built is None or built[0] is not key:
            if len(self._signature_checks) >= MAX_SIGNATURE_CHECKS:
                self._signature_checks.clear()
            built = self._signature_checks[kid, alg] = (key, rules.signature_check(alg, key))
        return built[1]

    def verify_id_token(self, token: str, *, nonce: str | None, access_token: str | None = None,
                        max_age: int | None = None) -> dict[str, Any]:
        """All of OpenID Connect Core 3.1.3.7; returns the claims.

        ``nonce=None`` is only for refreshed ID tokens, which carry no new nonce.
        """
        alg, claims = self.verified_claims(token, self.id_token_algorithms())
        now, leeway = self.clock(), self.config.clock_skew
        rules.check_issuer(claims, self.config.issuer)
        rules.check_audience(claims, self.config.client_id)
        rules.check_authorized_party(claims, self.config.client_id)
        rules.check_subject(claims)
        rules.check_times(claims, now=now, leeway=leeway)
        if nonce is not None:
            rules.check_nonce(claims, nonce)
        if access_token is not None:
            rules.check_access_token_hash(claims, access_token, alg)
        if max_age is not None:
            rules.check_auth_time(claims, max_age=max_age, now=now, leeway=leeway)
        return claims

    def verify_access_token(self, token: str | bytes, *, audience: str | None = None) -> dict[str, Any]:
        """A JWT access token for ``audience`` (default ``OKTA_AUDIENCE``) with a ``sub``; returns the claims."""
        _, claims = self.verified_claims(token, self.access_token_algorithms())
        config = self.config
        rules.check_access_token_claims(claims, issuer=config.issuer, audience=audience or config.audience,
                                        now=self.clock(), leeway=config.clock_skew)
        return claims

    def verify_logout_token(self, token: str) -> dict[str, Any]:
        """A back-channel logout token (Back-Channel Logout 1.0 §2.6); returns the claims.

        Signed like ID tokens (same algorithms and keys). Replays are the caller's to refuse.
        """
        rules.check_logout_token_type(rules.decode_header(rules.split_compact(token)[0]))
        _, claims = self.verified_claims(token, self.id_token_algorithms())
        now, leeway = self.clock(), self.config.clock_skew
        rules.check_issuer(claims, self.config.issuer)
        rules.check_audience(claims, self.config.client_id)
        rules.check_times(claims, now=now, leeway=leeway, require_exp=False)
        rules.check_issued_recently(claims, max_age=LOGOUT_TOKEN_MAX_AGE, now=now, leeway=leeway)
        rules.check_logout_claims(claims)
        return claims
