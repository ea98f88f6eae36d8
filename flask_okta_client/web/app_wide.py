"""``OKTA_REQUIRE_LOGIN``: every view needs a signed-in user unless it says otherwise."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from .decorators import require_signed_in_user
from .guards import GUARD_ATTRIBUTE
from .providers import registrations
from .user import activate


def is_open_endpoint(endpoint: str) -> bool:
    """The extension's own routes (each provider's sign-in, callback, sign-out…) and static files."""
    return endpoint == "static" or endpoint.endswith(".static") or endpoint.partition(".")[0] in registrations()


#: What :func:`requested_view_guard` names a request no hook should guard: one matching no route (left to
#: routing, so it answers 404 or 405 as usual), the extension's own routes and static files.
OPEN = "open"


def requested_view_guard() -> str | None:
    """How the requested view guards itself (``login``, ``bearer``, ``public``), :data:`OPEN`, or ``None``
    for a view that does not say: what the app-wide hooks ask before they act."""
    endpoint = request.endpoint
    if endpoint is None or is_open_endpoint(endpoint):
        return OPEN
    return getattr(current_app.view_functions.get(endpoint), GUARD_ATTRIBUTE, None)


def require_login_everywhere(state: Any) -> Any:
    """A ``before_request`` hook: sign in with registration ``state`` first, unless the view is
    open, public or guarded itself.

    A CORS preflight that Flask answers on its own passes too: browsers send it
    without cookies.
    """
    if requested_view_guard() is not None:
        return None
    rule = request.url_rule
    if request.method == "OPTIONS" and rule is not None and rule.provide_automatic_options:
        return None
    activate(state)
    return require_signed_in_user(state, None)
