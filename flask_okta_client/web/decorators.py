"""Route protection: ``@login_required`` for browser users, ``@bearer_token_required`` for APIs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar, overload

from flask import current_app, g, redirect, session, url_for
from werkzeug.local import LocalProxy

from .. import signals
from ..errors import AccessDenied, NotAuthenticated
from ..protocol.step_up import AuthenticationRequirement
from ..sessions.lifecycle import SessionEnded
from ..sessions.storage import SignedInUser
from .authorization import (
    ClaimRequirements,
    ClaimsCheck,
    authentication_requirement,
    insufficient_authentication,
    unmet_authentication,
)
from .bearer_guard import BearerGuard
from .guards import guarded, view_caller
from .login_options import checked_params, configured_defaults
from .providers import provider_state, signal_args
from .redirects import relative_request_url
from .responses import is_page_navigation
from .user import activate, forget_user

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Let everyone reach ``view`` when ``OKTA_REQUIRE_LOGIN`` protects the rest of the app::

        @app.get("/about")
        @public
        def about(): ...
    """
    return guarded(view, "public")


def sign_in_again(state: Any, error: NotAuthenticated, step_up: AuthenticationRequirement | None = None,
                  route_params: Mapping[str, str] | None = None) -> Any:
    """Send a browser to sign in with registration ``state`` (asking for ``step_up``) and come back
    here; refuse other requests with 401.

    A route with its own authorization parameters starts the sign-in itself, since
    ``/login`` only passes on the allowlisted query parameters.
    """
    if not is_page_navigation():
        raise error
    params = step_up.login_params() if step_up is not None else {}
    if not route_params:
        return redirect(url_for(state.endpoint("login"), next=relative_request_url(), **params))
    options = {**configured_defaults(state.config), **route_params, **params}
    response = redirect(state.begin_login(session, next_url=relative_request_url(), options=options))
    response.headers["Cache-Control"] = "no-store"
    return response


def refresh_or_sign_out(state: Any, *, force: bool = False) -> SignedInUser:
    """Refresh the access token of ``state``'s signed-in user if due (or ``force``); the stored
    sign-in, fresh. A refused refresh signs the user out of that registration here (and sends
    ``refresh_failed``) and raises :class:`SessionEnded`."""
    try:
        return state.refresh_current_user(force=force)
    except SessionEnded as error:
        error.provider = state.name  # a page load is sent to sign in there again (responses.py)
        signals.refresh_failed.send(current_app._get_current_object(), error=error, **signal_args(state))
        forget_user(state.name)
        raise


def require_signed_in_user(state: Any, requirements: ClaimRequirements | None,
                           step_up: AuthenticationRequirement | None = None,
                           route_params: Mapping[str, str] | None = None) -> Any:
    """``None`` to let the view run, or the response that replaces it; ``state`` is the
    registration the user must be signed in with.

    The access token is refreshed first when it is due and a refresh token is held.
    A sign-in that falls short of ``step_up`` is sent to sign in again (page loads)
    or refused with an RFC 9470 challenge (other requests).
    """
    if not state.user.is_authenticated:
        return sign_in_again(state, NotAuthenticated("Sign in to use this resource."), step_up, route_params)
    try:
        refresh_or_sign_out(state)
    except SessionEnded as error:
        return sign_in_again(state, error, step_up, route_params)
    if step_up is None and requirements is None:
        return None
    claims = state.user.claims
    if step_up is not None and unmet_authentication(state, step_up, claims) is not None:
        return sign_in_again(state, insufficient_authentication(step_up), step_up, route_params)
    if requirements is not None and not requirements.allows(claims):
        raise AccessDenied("Your account is not allowed to see this page.")
    return None


@overload
def login_required(view: F) -> F: ...


@overload
def login_required(*, groups: Collection[str] | str | None = None, claims_equal: Mapping[str, Any] | None = None,
                   claims_include: Mapping[str, Any] | None = None, check: ClaimsCheck | None = None,
                   acr_values: str | Collection[str] | None = None, max_age: int | None = None,
                   authorization_params: Mapping[str, Any] | None = None,
                   provider: str | None = None) -> Callable[[F], F]: ...


def login_required(view: F | None = None, *, groups: Collection[str] | str | None = None,
                   claims_equal: Mapping[str, Any] | None = None, claims_include: Mapping[str, Any] | None = None,
                   check: ClaimsCheck | None = None, acr_values: str | Collection[str] | None = None,
                   max_age: int | None = None, authorization_params: Mapping[str, Any] | None = None,
                   provider: str | None = None) -> F | Callable[[F], F]:
    """Require a signed-in user, optionally with some claims.

    A browser page load without a session is redirected to sign in and back;
    other requests get ``401`` JSON. A user whose claims do not satisfy the
    requirements gets ``403``. Use bare or with arguments::

        @app.get("/reports")
        @login_required(groups=["Finance"])
        def reports(): ...

    Step-up: with ``acr_values`` (acceptable ``acr`` values, space-separated or
    a list) or ``max_age`` (seconds since the user authenticated), a sign-in
    that falls short is sent through a new sign-in asking for them::

        @app.get("/payments")
        @login_required(acr_values="urn:okta:loa:2fa:any", max_age=300)
        def payments(): ...

    ``authorization_params`` go with this route's sign-ins (an identity
    provider, a language…); names the extension sets itself are refused::

        @login_required(authorization_params={"idp": "0oa1b2c3d4", "ui_locales": "fr"})

    ``provider`` names the registration to sign in with (default: the default
    one); ``current_user`` is then that registration's user::

        @login_required(provider="staff")
    """
    requirements = ClaimRequirements.build(groups, claims_equal, claims_include, check)
    step_up = authentication_requirement(acr_values, max_age)
    route_params = checked_params(authorization_params or {}, "login_required(authorization_params=...)")

    def decorate(function: F) -> F:
        call = view_caller(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = provider_state(provider)
            activate(state)
            refusal = require_signed_in_user(state, requirements, step_up, route_params)
            if refusal is not None:
                return refusal
            return call(*args, **kwargs)

        return guarded(wrapper, "login", provider)  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


@overload
def bearer_token_required(view: F) -> F: ...


@overload
def bearer_token_required(*, scopes: Collection[str] = (), audience: str | None = None,
                          groups: Collection[str] | str | None = None, claims_equal: Mapping[str, Any] | None = None,
                          claims_include: Mapping[str, Any] | None = None, check: ClaimsCheck | None = None,
                          acr_values: str | Collection[str] | None = None,
                          max_age: int | None = None, provider: str | None = None) -> Callable[[F], F]: ...


def bearer_token_required(view: F | None = None, *, scopes: Collection[str] = (), audience: str | None = None,
                          groups: Collection[str] | str | None = None, claims_equal: Mapping[str, Any] | None = None,
                          claims_include: Mapping[str, Any] | None = None, check: ClaimsCheck | None = None,
                          acr_values: str | Collection[str] | None = None,
                          max_age: int | None = None, provider: str | None = None) -> F | Callable[[F], F]:
    """Require an Okta access token (``Authorization: Bearer``) with ``scopes``.

    Bad or missing tokens get ``401``, missing scopes ``403``, each with an
    RFC 6750 ``WWW-Authenticate`` header and a JSON body. The view reads the
    claims as ``current_token`` (or ``g.okta_claims``)::

        @app.get("/api/messages")
        @bearer_token_required(scopes=["messages:read"])
        def messages(): ...

    With ``acr_values`` or ``max_age``, a token whose ``acr`` or ``auth_time``
    claims fall short gets ``401`` with RFC 9470's
    ``error="insufficient_user_authentication"`` challenge. ``provider`` names
    the registration whose tokens are accepted (default: the default one).
    """
    requirements = ClaimRequirements.build(groups, claims_equal, claims_include, check)
    guard = BearerGuard(scopes, audience, requirements, authentication_requirement(acr_values, max_age), provider)

    def decorate(function: F) -> F:
        return guard.wrap(function)  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def token_exchange_required(view: F | None = None, *, audience: str, scope: str | None = None,
                            requested_token_type: str | None = None,
                            target_issuer: str | None = None, provider: str | None = None) -> F | Callable[[F], F]:
    """Require a signed-in user and a token for a downstream API before the view runs.

    The user's access token is exchanged (RFC 8693) for one meant for
    ``audience``. With ``target_issuer`` (cross-app access), the ID token is
    exchanged for an identity assertion (ID-JAG) addressed to that
    authorization server, which redeems it with the JWT bearer grant;
    ``audience`` then only names the token. The token is cached per session
    until near expiry; the view reads it with ``okta.exchanged_token(audience)``::

        @app.get("/orders")
        @okta.token_exchange_required(audience="api://orders", scope="orders:read")
        def orders():
            token = okta.exchanged_token("api://orders")

    ``provider`` names the registration whose sign-in is exchanged (default: the default one).
    """

    def decorate(function: F) -> F:
        call = view_caller(function)

        @login_required(provider=provider)
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = provider_state(provider)
            token = state.exchange_for_current_user(
                audience=audience, scope=scope, requested_token_type=requested_token_type,
                target_issuer=target_issuer,
            )
            g.setdefault("okta_exchanged_tokens", {})[state.name, audience] = token["access_token"]
            return call(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def _current_claims() -> Mapping[str, Any]:
    claims = g.get("okta_claims")
    if claims is None:
        raise RuntimeError("current_token is only set inside a view protected by bearer_token_required")
    return claims


#: The verified claims of this request's bearer token (read-only).
current_token: Mapping[str, Any] = LocalProxy(_current_claims)  # type: ignore[assignment]
