"""Pending sign-ins (state, nonce, PKCE verifier, next URL), kept in the session.

Each is keyed by its ``state``, so two tabs can sign in at once; each is
single-use, expires, and only the newest few are kept so the cookie stays small.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge

SESSION_KEY = "_okta_logins"


@dataclass(frozen=True)
class LoginTransaction:
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_url: str
    expires_at: float
    max_age: int | None = None
    acr_values: str | None = None
    #: A ``prompt=none`` attempt the visitor did not ask for: any failure leaves them anonymous.
    silent: bool = False
    #: What the app's ``state_for_login`` hooks gave this sign-in (JSON), handed back at the callback.
    login_state: dict[str, Any] | None = None

    @property
    def code_challenge(self) -> str:
        return create_s256_code_challenge(self.code_verifier)


def _pending(session: MutableMapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    pending = session.get(key)
    return dict(pending) if isinstance(pending, dict) else {}


def begin_login(session: MutableMapping[str, Any], *, redirect_uri: str, next_url: str,
                lifetime: int, max_pending: int, max_age: int | None = None,
                acr_values: str | None = None, silent: bool = False,
                login_state: dict[str, Any] | None = None, key: str = SESSION_KEY) -> LoginTransaction:
    """Create and remember a new transaction under the session's ``key`` (one per registration);
    drop expired and surplus old ones."""
    now = time.time()
    transaction = LoginTransaction(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        redirect_uri=redirect_uri,
        next_url=next_url,
        expires_at=now + lifetime,
        max_age=max_age,
        acr_values=acr_values,
        silent=silent,
        login_state=login_state,
    )
    live = sorted(
        (t for t in _pending(session, key).values() if isinstance(t.get("expires_at"), (int, float)) and t["expires_at"] > now),
        key=lambda t: t["expires_at"],
    )
    kept = live[-(max_pending - 1):] if max_pending > 1 else []
    session[key] = {t["state"]: t for t in kept} | {transaction.state: asdict(transaction)}
    return transaction


def take_login(session: MutableMapping[str, Any], state: str | None,
               key: str = SESSION_KEY) -> LoginTransaction | None:
    """Remove and return the live transaction for ``state`` kept under ``key``; ``None`` if unknown
    or expired. Another registration's transactions (under another key) are never taken."""
    pending = _pending(session, key)
    if not state or state not in pending:
        return None
    stored = pending.pop(state)
    if pending:
        session[key] = pending
    else:
        session.pop(key, None)
    try:
        transaction = LoginTransaction(**stored)
    except TypeError:
        return None
    return transaction if transaction.expires_at > time.time() else None
