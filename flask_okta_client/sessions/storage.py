"""What a sign-in leaves behind, and the stores that keep it between requests.

Two built-ins: :class:`~flask_okta_client.sessions.session_store.SessionTokenStore`
(tokens sealed inside the sign-in cookie) and
:class:`~flask_okta_client.sessions.server_store.ServerSideTokenStore` (tokens in a
cachelib cache, e.g. Redis; the sign-in cookie carries only a random handle).
Pick one with ``OKTA_TOKEN_STORE``. Both keep the sign-in out of Flask's session
(see :mod:`~flask_okta_client.sessions.cookie`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from ..protocol.validation import b64url_decode

if TYPE_CHECKING:
    from .cookie import SignInCookie


@dataclass(frozen=True)
class SignedInUser:
    """The tokens of one sign-in and its timestamps. ``claims`` come from the verified ID token."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scope: str | None = None
    signed_in_at: float = field(default_factory=time.time)
    last_seen_at: float = field(default_factory=time.time)
    userinfo: dict[str, Any] | None = None
    exchanged: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: ``Bearer``, or ``DPoP`` for a sender-constrained access token (RFC 9449).
    token_type: str = "Bearer"

    @cached_property
    def claims(self) -> dict[str, Any]:
        """The ID token's claims (verified when it was stored), plus UserInfo claims if fetched."""
        payload = self.id_token.split(".")[1].encode("ascii")
        claims = json.loads(b64url_decode(payload))
        return {**(self.userinfo or {}), **claims}

    @classmethod
    def from_token(cls, token: Mapping[str, Any], userinfo: dict[str, Any] | None = None) -> SignedInUser:
        return cls(
            id_token=token["id_token"],
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            expires_at=expiry_of(token),
            scope=token.get("scope"),
            userinfo=userinfo,
            token_type=token_type_of(token),
        )

    def refreshed(self, token: Mapping[str, Any]) -> SignedInUser:
        """A copy with the tokens of a refresh response (which may rotate the refresh token)."""
        return replace(
            self,
            id_token=token.get("id_token") or self.id_token,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or self.refresh_token,
            expires_at=expiry_of(token),
            scope=token.get("scope") or self.scope,
            exchanged={},
            token_type=token_type_of(token),
        )

    def touched(self, now: float) -> SignedInUser:
        return replace(self, last_seen_at=now)

    def with_exchanged(self, key: str, token: dict[str, Any]) -> SignedInUser:
        return replace(self, exchanged={**self.exchanged, key: token})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> SignedInUser | None:
        """Rebuild from :meth:`to_dict`; ``None`` for anything unreadable."""
        if not isinstance(data, dict):
            return None
        try:
            user = cls(**data)
            user.claims  # noqa: B018 - a stored ID token that no longer parses is no sign-in
        except (TypeError, ValueError, IndexError, AttributeError):
            return None
        return user


def token_type_of(token: Mapping[str, Any]) -> str:
    """A token response's ``token_type`` (case-insensitive, RFC 6749 §5.1): ``DPoP`` or ``Bearer``,
    or RFC 8693's ``N_A`` for an exchanged token that is not an access token."""
    token_type = token.get("token_type")
    if token_type == "N_A":
        return token_type
    return "DPoP" if str(token_type or "").lower() == "dpop" else "Bearer"


def expiry_of(token: Mapping[str, Any]) -> float | None:
    """Absolute expiry from a token response's ``expires_in`` (or ``expires_at``)."""
    expires_in = token.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        return time.time() + expires_in
    expires_at = token.get("expires_at")
    if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool):
        return float(expires_at)
    return None


class TokenStore(Protocol):
    """Keeps one :class:`SignedInUser` per browser, found through its sign-in cookie."""

    #: Whether the tokens live on the server, under a handle the cookie carries, so they
    #: can be written after the response (by a refresh that outlived its request).
    keeps_tokens_on_server: bool

    def load(self, cookie: SignInCookie) -> SignedInUser | None:
        """The sign-in this cookie stands for, if any."""

    def save(self, cookie: SignInCookie, user: SignedInUser) -> None:
        """Store ``user`` for this cookie (replacing what was there)."""

    def replace(self, cookie: SignInCookie, loaded: SignedInUser, updated: SignedInUser) -> bool:
        """Store ``updated`` in place of ``loaded``, the sign-in this request read, unless the store
        holds another one by now (a refresh made meanwhile): then nothing is written (False)."""

    def clear(self, cookie: SignInCookie) -> None:
        """Forget this cookie's sign-in, here and in any server-side entry."""

    def refresh_lock(self, cookie: SignInCookie) -> Iterator[None]:
        """A context manager held while this session's tokens are refreshed.

        Stores shared by several processes make it cross-process.
        """
