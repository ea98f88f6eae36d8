"""Where an API session's tokens come from: the signed-in user, a token exchange, or the app itself."""

from __future__ import annotations

from typing import Any

from ..errors import NotAuthenticated
from ..protocol.api_session import TokenSource
from ..sessions.storage import token_type_of
from .decorators import refresh_or_sign_out


def user_token(state: Any) -> TokenSource:
    """The signed-in user's access token, refreshed through the single flight when it is due
    (or when ``force_new``; a refused refresh ends the session). Only inside a request of a signed-in user."""

    def source(force_new: bool) -> tuple[str, str]:
        if not state.user.is_authenticated:
            raise NotAuthenticated("Sign in to use this resource.")
        stored = refresh_or_sign_out(state, force=force_new)
        return stored.access_token, stored.token_type

    return source


def exchanged_token(state: Any, audience: str, scope: str | None) -> TokenSource:
    """A token for ``audience`` exchanged from the user's (RFC 8693), cached per session."""

    def source(force_new: bool) -> tuple[str, str]:
        if not state.user.is_authenticated:
            raise NotAuthenticated("Sign in to use this resource.")
        refresh_or_sign_out(state)
        token = state.exchange_for_current_user(audience=audience, scope=scope, requested_token_type=None,
                                                target_issuer=None, force=force_new)
        return token["access_token"], token_type_of(token)

    return source


def client_credentials_token(state: Any, scope: str | None) -> TokenSource:
    """The app's own token (client credentials), cached until near expiry."""

    def source(force_new: bool) -> tuple[str, str]:
        token = state.grants.client_credentials_token(scope, force=force_new)
        return token.access_token, token.token_type

    return source
