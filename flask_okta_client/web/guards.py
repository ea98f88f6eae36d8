"""How a view guards itself: marked on the view function by the decorators, read off it by the
app-wide hooks, ``current_user`` and error answers (so guarding a request writes nothing per request)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

F = TypeVar("F", bound=Callable[..., Any])

#: How a view is protected ("login", "bearer" or "public"); ``OKTA_REQUIRE_LOGIN`` leaves such views alone.
GUARD_ATTRIBUTE = "okta_guard"
#: The registration a guard stands for (``None``: the default one).
PROVIDER_ATTRIBUTE = "okta_provider"


def guarded(view: F, guard: str, provider: str | None = None) -> F:
    setattr(view, GUARD_ATTRIBUTE, guard)
    setattr(view, PROVIDER_ATTRIBUTE, provider)
    return view


def requested_view() -> Callable[..., Any] | None:
    """The view function this request's endpoint names, if any."""
    endpoint = request.endpoint
    return None if endpoint is None else current_app.view_functions.get(endpoint)


def is_bearer_guarded(view: Callable[..., Any] | None) -> bool:
    """Whether ``view`` takes access tokens (its answers, refusals included, are JSON)."""
    return getattr(view, GUARD_ATTRIBUTE, None) == "bearer"


def view_caller(function: F) -> Callable[..., Any]:
    """How to call a view: directly, or through Flask's ``ensure_sync`` when it is async."""
    if inspect.iscoroutinefunction(function):
        return lambda *args, **kwargs: current_app.ensure_sync(function)(*args, **kwargs)
    return function
