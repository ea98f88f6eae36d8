"""``current_user``: the signed-in user of this request, or an anonymous one.

With several registrations (providers), each has its own sign-in and user
(:func:`provider_user`); ``current_user`` is the user of the request's *active*
registration: the one whose guard protects the view, or whose own route is
serving; otherwise the first registration, in registration order, the browser
is signed in with; otherwise nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import request
from werkzeug.local import LocalProxy

from ..errors import OktaError
from ..sessions.storage import SignedInUser
from .guards import PROVIDER_ATTRIBUTE, is_bearer_guarded, requested_view
from .providers import DEFAULT_NAME, provider_state, registrations

if TYPE_CHECKING:
    from ..extension import OktaState


class User:
    """A signed-in user; ``claims`` are the verified ID token claims, ``provider`` the name of the
    registration the user signed in with (``"okta"`` unless the app has several)."""

    is_authenticated = True

    def __init__(self, stored: SignedInUser, provider: str = DEFAULT_NAME) -> None:
        self._stored = stored
        self.provider = provider

    def __repr__(self) -> str:
        return f"<User sub={self.sub!r}>" if self.provider == DEFAULT_NAME else \
            f"<User sub={self.sub!r} provider={self.provider!r}>"

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
    provider = None

    def __repr__(self) -> str:
        return "<AnonymousUser>"


# Kept in the WSGI environ, per registration: it lives exactly as long as the request (``g`` may
# outlive it when an app context is shared, as in tests).
USER_KEY = "flask_okta_client.user:"
#: The registration whose guard protects this request's view (set by ``login_required`` and the
#: app-wide guard; a ``bearer_token_required`` view names its registration itself).
ACTIVE_KEY = "flask_okta_client.active_provider"


def state_user(state: OktaState) -> User | AnonymousUser:
    """The user of registration ``state`` in this request, loaded on first use (timeouts
    enforced, the idle clock rolled).

    If loading failed in this request (the token store is down), the user is
    anonymous from then on, so the error page can render without the store.
    """
    environ = request.environ
    user = environ.get(USER_KEY + state.name)
    if user is None:
        try:
            stored = state.lifecycle.current(state.sign_in_cookie())
        except OktaError:
            environ[USER_KEY + state.name] = AnonymousUser()
            raise
        user = set_user(state.name, stored)
    return user


def loaded_user(provider: str) -> User | AnonymousUser | None:
    """This request's user of registration ``provider`` if it was loaded already, else ``None``
    (nothing is read)."""
    return request.environ.get(USER_KEY + provider)


def provider_user(provider: str | None = None) -> User | AnonymousUser:
    """The user signed in with registration ``provider`` (default: the default registration),
    whichever registration is active in this request::

        if provider_user("staff").is_authenticated: ...
    """
    return state_user(provider_state(provider))


def activate(state: OktaState) -> None:
    """Make ``state`` this request's active registration (its guard protects the view)."""
    request.environ[ACTIVE_KEY] = state


def active_state() -> OktaState | None:
    """This request's active registration: the guarding one, the one whose blueprint serves,
    else the first the browser is signed in with (one without a sign-in cookie costs nothing);
    ``None`` when there is none."""
    return request.environ.get(ACTIVE_KEY) or unguarded_state()


def unguarded_state() -> OktaState | None:
    """The active registration of a request no guard marked (see :func:`active_state`)."""
    providers = registrations()
    if len(providers) == 1:
        return next(iter(providers.values()))
    view = requested_view()
    if is_bearer_guarded(view):
        return provider_state(getattr(view, PROVIDER_ATTRIBUTE))
    serving = providers.get(request.blueprint or "")
    if serving is not None:
        return serving
    for candidate in providers.values():
        if state_user(candidate).is_authenticated:
            return candidate
    return None


def load_user() -> User | AnonymousUser:
    """``current_user``: the user of the active registration, or anonymous (read on every
    access, so the common case, a guarded view's user already loaded, takes two lookups)."""
    environ = request.environ
    state = environ.get(ACTIVE_KEY) or unguarded_state()
    if state is None:
        return AnonymousUser()
    return environ.get(USER_KEY + state.name) or state_user(state)


def leave_unloaded_user_anonymous() -> None:
    """For error pages: users not loaded yet show as anonymous, without opening the store."""
    environ = request.environ
    for name in registrations():
        environ.setdefault(USER_KEY + name, AnonymousUser())


def set_user(provider: str, stored: SignedInUser | None) -> User | AnonymousUser:
    """Make ``stored`` this request's user of registration ``provider`` (``None``: anonymous)."""
    user = request.environ[USER_KEY + provider] = User(stored, provider) if stored is not None else AnonymousUser()
    return user


def forget_user(provider: str) -> None:
    request.environ.pop(USER_KEY + provider, None)


current_user: User | AnonymousUser = LocalProxy(load_user)  # type: ignore[assignment]
