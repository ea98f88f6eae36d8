"""Where a signed-in user's tokens live between requests."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

SESSION_KEY = "_okta"


@dataclass(frozen=True)
class SignedInUser:
    """What the extension remembers about a sign-in."""

    claims: dict[str, Any]
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scope: str | None = None
    signed_in_at: float = field(default_factory=time.time)

    def with_tokens(self, token: dict[str, Any], claims: dict[str, Any] | None = None) -> SignedInUser:
        """A copy updated from a token endpoint response (refresh)."""
        return replace(
            self,
            claims=claims if claims is not None else self.claims,
            id_token=token.get("id_token") or self.id_token,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or self.refresh_token,
            expires_at=expiry_of(token),
            scope=token.get("scope") or self.scope,
        )

    @classmethod
    def from_token(cls, token: dict[str, Any], claims: dict[str, Any]) -> SignedInUser:
        return cls(
            claims=claims,
            id_token=token["id_token"],
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            expires_at=expiry_of(token),
            scope=token.get("scope"),
        )


def expiry_of(token: dict[str, Any]) -> float | None:
    """Absolute expiry from a token response's ``expires_in`` (or ``expires_at``)."""
    expires_in = token.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        return time.time() + expires_in
    expires_at = token.get("expires_at")
    return float(expires_at) if isinstance(expires_at, (int, float)) else None


class TokenStore(Protocol):
    """Keeps one :class:`SignedInUser` per browser session."""

    def load(self, session: MutableMapping[str, Any]) -> SignedInUser | None: ...

    def save(self, session: MutableMapping[str, Any], user: SignedInUser) -> None: ...

    def clear(self, session: MutableMapping[str, Any]) -> None: ...


class SessionTokenStore:
    """Keeps tokens inside Flask's (signed) session cookie."""

    def load(self, session: MutableMapping[str, Any]) -> SignedInUser | None:
        stored = session.get(SESSION_KEY)
        if not isinstance(stored, dict):
            return None
        try:
            return SignedInUser(**stored)
        except TypeError:
            return None

    def save(self, session: MutableMapping[str, Any], user: SignedInUser) -> None:
        session[SESSION_KEY] = asdict(user)

    def clear(self, session: MutableMapping[str, Any]) -> None:
        session.pop(SESSION_KEY, None)
