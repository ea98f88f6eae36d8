"""``current_user``: the signed-in user of this request, or an anonymous one."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.local import LocalProxy

from ..errors import OktaError
from ..sessions.storage import SignedInUser


class User:
    """A signed-in user; ``claims`` are the verified ID token claims."""

    is_authenticated = True

    def __init__(self, stored: SignedInUser) -> None:
        self._stored = stored

    def __repr__(self) -> str:
        return f"<User sub={self.sub!r}>"

    @property
    def claims(self) -> dict[str, Any]:
        return self._stored.claims

    @property
    def sub(self) -> str:
        return self.claims["sub"]

    @property
    def email(self) -> str | None:
        return self.claims.get("email")

    @property
    def name(self) -> str | None:
        return self.claims.get("name") or self.claims.get("preferred_username") or self.email

    @property
    def groups(self) -> list[str]:
        groups = self.claims.get("groups")
        return [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []

    @property
    def stored(self) -> SignedInUser:
        """The tokens and timestamps behind this user."""
        return self._stored

    @property
    def access_token(self) -> str:
        return self._stored.access_token

    @property
    def id_token(self) -> str:
        return self._stored.id_token

    @property
    def has_refresh_token(self) -> bool:
        return self._stored.refresh_token is not None

    @property
    def access_token_expires_at(self) -> float | None:
        return self._stored.expires_at

    @property
    def id_token_expires_at(self) -> float | None:
        exp = self.claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None


class AnonymousUser:
    """Nobody is signed in."""

    is_authenticated = False
    claims: dict[str, Any] = {}
    sub = email = name = access_token = id_token = None
    access_token_expires_at = id_token_expires_at = None
    groups: list[str] = []
    has_refresh_token = False

    def __repr__(self) -> str:
        return "<AnonymousUser>"


# Kept in the WSGI environ: it lives exactly as long as the request (``g`` may
# outlive it when an app context is shared, as in tests).
USER_KEY = "flask_okta_client.user"


def load_user() -> User | AnonymousUser:
    """The user of this request, loaded on first use (timeouts enforced, the idle clock rolled).

    If loading failed in this request (the token store is down), the user is
    anonymous from then on, so the error page can render without the store.
    """
    environ = request.environ
    user = environ.get(USER_KEY)
    if user is None:
        state = current_app.extensions["okta"]
        try:
            stored = state.lifecycle.current(state.sign_in_cookie())
        except OktaError:
            environ[USER_KEY] = AnonymousUser()
            raise
        user = set_user(stored)
    return user


def loaded_user() -> User | AnonymousUser | None:
    """This request's user if it was loaded already, else ``None`` (nothing is read)."""
    return request.environ.get(USER_KEY)


def leave_unloaded_user_anonymous() -> None:
    """For error pages: a user not loaded yet shows as anonymous, without opening the store."""
    request.environ.setdefault(USER_KEY, AnonymousUser())


def set_user(stored: SignedInUser | None) -> User | AnonymousUser:
    """Make ``stored`` this request's ``current_user`` (``None``: anonymous)."""
    user = request.environ[USER_KEY] = User(stored) if stored is not None else AnonymousUser()
    return user


def forget_user() -> None:
    request.environ.pop(USER_KEY, None)


current_user: User | AnonymousUser = LocalProxy(load_user)  # type: ignore[assignment]
