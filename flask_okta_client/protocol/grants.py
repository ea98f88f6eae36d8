"""Machine and delegation grants: client credentials, token exchange, ID-JAG, JWT bearer.

Every request goes through :meth:`ProviderClient.token_request`, so client
authentication and the mapping of failures onto our errors are the same as for
sign-in. Tokens are never logged.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..config import OktaConfig
from ..errors import ConfigError, ProviderError
from ..sessions.storage import expiry_of, token_type_of
from .client import ACCESS_TOKEN_TYPE, ProviderClient
from .client_auth import PrivateKey, load_private_key, sign_assertion, signing_algorithm
from .discovery import MetadataCache
from .http import HttpClient
from .singleflight import SingleFlight

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"

#: A cached client-credentials token is replaced this many seconds before it expires.
EXPIRY_LEEWAY = 60
#: Settings a caller may override for the client's registration at a cross-app target.
TARGET_CLIENT_SETTINGS = frozenset(
    {"client_id", "client_secret", "client_auth_method", "private_key", "private_key_id"}
)

Scope = str | Collection[str] | None


@dataclass(frozen=True)
class TokenResult:
    """A token response; ``access_token`` and ``raw`` stay out of ``repr``."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float | None
    scope: str | None
    issued_token_type: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, token: Mapping[str, Any]) -> TokenResult:
        return cls(
            access_token=token["access_token"],
            token_type=token_type_of(token),
            expires_at=expiry_of(token),
            scope=token.get("scope") if isinstance(token.get("scope"), str) else None,
            issued_token_type=token.get("issued_token_type"),
            raw=dict(token),
        )

    def fresh(self) -> bool:
        """Usable for at least another ``EXPIRY_LEEWAY`` seconds."""
        return self.expires_at is not None and time.time() < self.expires_at - EXPIRY_LEEWAY


def scope_words(scope: Scope) -> tuple[str, ...]:
    """``scope`` as distinct words in their original order."""
    if scope is None:
        return ()
    words = scope.split() if isinstance(scope, str) else [w for item in scope for w in str(item).split()]
    return tuple(dict.fromkeys(words))


def scope_param(scope: Scope) -> dict[str, str]:
    words = scope_words(scope)
    return {"scope": " ".join(words)} if words else {}


class TokenCache:
    """Tokens by key until near expiry; concurrent misses for a key share one fetch."""

    def __init__(self) -> None:
        self._tokens: dict[Any, TokenResult] = {}
        self._flight: SingleFlight[TokenResult] = SingleFlight()

    def get(self, key: Any, fetch: Callable[[], TokenResult], *, force: bool = False) -> TokenResult:
        """The cached token for ``key`` while fresh (unless ``force``), else a fetched one."""
        token = self._tokens.get(key)
        if token is not None and token.fresh() and not force:
            return token
        return self._flight.run(key, lambda: self._keep(key, fetch()))

    def _keep(self, key: Any, token: TokenResult) -> TokenResult:
        if token.expires_at is not None:
            self._tokens[key] = token
        return token


class Grants:
    """The non-interactive grants of one registered client."""

    def __init__(self, config: OktaConfig, client: ProviderClient, http: HttpClient) -> None:
        self.config = config
        self.client = client
        self.http = http
        self._client_credentials = TokenCache()
        self._targets_lock = threading.Lock()
        self._target_metadata: dict[str, MetadataCache] = {}
        self._target_clients: dict[str, ProviderClient] = {}

    def client_credentials_token(self, scope: Scope = None, *, force: bool = False) -> TokenResult:
        """An app-only access token, cached per set of scopes until 60 s before it expires
        (``force`` fetches a new one, e.g. after an API refused the cached one)."""
        words = scope_words(scope)
        return self._client_credentials.get(frozenset(words), lambda: TokenResult.from_response(
            self.client.token_request("client credentials grant", "client_credentials", **scope_param(words))
        ), force=force)

    def token_exchange(
        self,
        subject_token: str,
        *,
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        audience: str | None = None,
        scope: Scope = None,
        requested_token_type: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> TokenResult:
        """RFC 8693: exchange ``subject_token`` for a token for ``audience``.

        The issued token, whatever its type, is in ``access_token`` (RFC 8693 §2.2.1).
        """
        optional = {
            "audience": audience,
            "requested_token_type": requested_token_type,
            "actor_token": actor_token,
            "actor_token_type": actor_token_type,
        }
        params = {k: v for k, v in optional.items() if v is not None}
        token = self.client.token_request(
            "token exchange", TOKEN_EXCHANGE,
            subject_token=subject_token, subject_token_type=subject_token_type, **params, **scope_param(scope),
        )
        return TokenResult.from_response(token)

    def id_jag(self, id_token: str, *, audience: str, scope: Scope = None) -> TokenResult:
        """An Identity Assertion JWT Authorization Grant for the authorization server ``audience``."""
        result = self.token_exchange(
            id_token, subject_token_type=ID_TOKEN_TYPE, audience=audience, scope=scope,
            requested_token_type=ID_JAG_TYPE,
        )
        if result.issued_token_type != ID_JAG_TYPE:
            raise ProviderError("The sign-in service did not issue an identity assertion grant.")
        return result

    def jwt_bearer(
        self,
        assertion: str | None = None,
        *,
        claims: Mapping[str, Any] | None = None,
        scope: Scope = None,
        token_endpoint: str | None = None,
    ) -> TokenResult:
        """RFC 7523: an access token for ``assertion``, redeemed at ``token_endpoint`` (default ours).

        Without an assertion, one is signed with ``OKTA_PRIVATE_KEY``: ``iss`` = ``sub`` =
        client id unless ``claims`` say otherwise, ``aud`` = the token endpoint, five minutes.
        """
        if assertion is None:
            audience = token_endpoint or self.client.endpoint("token_endpoint")
            own = {"iss": self.config.client_id, "sub": self.config.client_id, "aud": audience}
            key = self._signing_key
            assertion = sign_assertion(key, signing_algorithm(key), {**own, **(claims or {})})
        return redeem_assertion(self.client, assertion, scope, token_endpoint)

    def cross_app_access(
        self,
        id_token: str,
        *,
        target_issuer: str,
        audience: str | None = None,
        scope: Scope = None,
        target_client_auth: Mapping[str, Any] | None = None,
    ) -> TokenResult:
        """An access token from another authorization server for the signed-in user.

        Exchanges ``id_token`` for an ID-JAG addressed to ``audience`` (default
        ``target_issuer``), then redeems it at the token endpoint that
        ``target_issuer``'s discovery names, authenticating as this client, or with
        ``target_client_auth`` (``client_id``, ``client_secret``, ``client_auth_method``,
        ``private_key``, ``private_key_id``) when the client is registered differently there.
        """
        grant = self.id_jag(id_token, audience=audience or target_issuer, scope=scope)
        return redeem_assertion(self._target_client(target_issuer, target_client_auth), grant.access_token, scope)

    @cached_property
    def _signing_key(self) -> PrivateKey:
        setting = self.config.setting("OKTA_PRIVATE_KEY")
        if not self.config.private_key:
            raise ConfigError(f"{setting} is not set: a JWT bearer assertion needs a private key to sign it")
        return load_private_key(self.config.private_key, self.config.private_key_id, setting)

    def _target_client(self, issuer: str, overrides: Mapping[str, Any] | None) -> ProviderClient:
        """A client of the target server: its metadata is cached, and so is the client unless overridden."""
        unknown = set(overrides or ()) - TARGET_CLIENT_SETTINGS
        if unknown:
            raise ValueError(f"target_client_auth accepts {sorted(TARGET_CLIENT_SETTINGS)}, not {sorted(unknown)}")
        with self._targets_lock:
            if not overrides and issuer in self._target_clients:
                return self._target_clients[issuer]
            metadata = self._target_metadata.setdefault(
                issuer, MetadataCache(issuer, self.http, self.config.metadata_ttl)
            )
        config = dataclasses.replace(self.config, issuer=issuer, **(overrides or {}))
        client = ProviderClient(config, metadata, self.http, dpop=self.client.dpop)
        if not overrides:
            with self._targets_lock:
                client = self._target_clients.setdefault(issuer, client)
        return client


def redeem_assertion(client: ProviderClient, assertion: str, scope: Scope,
                     token_endpoint: str | None = None) -> TokenResult:
    """The JWT bearer grant at ``client``'s token endpoint (or ``token_endpoint``)."""
    token = client.token_request(
        "JWT bearer grant", JWT_BEARER, token_endpoint=token_endpoint, assertion=assertion, **scope_param(scope)
    )
    return TokenResult.from_response(token)
