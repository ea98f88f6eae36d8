"""``@login_required``: the view runs only for a signed-in (and allowed) user."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar, overload

from flask import current_app, redirect, request, url_for

from .authorization import ClaimRequirements, ClaimsCheck
from .errors import AccessDenied, NotAuthenticated
from .responses import is_page_navigation
from .user import current_user

F = TypeVar("F", bound=Callable[..., Any])


def relative_request_url() -> str:
    """This request's path and query, to come back to after signing in."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def require_signed_in_user(requirements: ClaimRequirements | None) -> Any:
    """``None`` to let the view run, or the response that replaces it."""
    if not current_user.is_authenticated:
        if is_page_navigation():
            return redirect(url_for("okta.login", next=relative_request_url()))
        raise NotAuthenticated("Sign in to use this resource.")
    if requirements is not None and not requirements.allows(current_user.claims):
        raise AccessDenied("Your account is not allowed to see this page.")
    return None


@overload
def login_required(view: F) -> F: ...


@overload
def login_required(*, groups: Collection[str] | str | None = None, claims_equal: Mapping[str, Any] | None = None,
                   claims_include: Mapping[str, Any] | None = None,
                   check: ClaimsCheck | None = None) -> Callable[[F], F]: ...


def login_required(view: F | None = None, *, groups: Collection[str] | str | None = None,
                   claims_equal: Mapping[str, Any] | None = None, claims_include: Mapping[str, Any] | None = None,
                   check: ClaimsCheck | None = None) -> F | Callable[[F], F]:
    """Require a signed-in user, optionally with some claims.

    A browser page load without a session is redirected to sign in and back;
    other requests get ``401`` JSON. A user whose claims do not satisfy the
    requirements gets ``403``. Use bare or with arguments::

        @app.get("/reports")
        @login_required(groups=["Finance"])
        def reports(): ...
    """
    requirements = ClaimRequirements.build(groups, claims_equal, claims_include, check)

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refusal = require_signed_in_user(requirements)
            if refusal is not None:
                return refusal
            return current_app.ensure_sync(function)(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate
