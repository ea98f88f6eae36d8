"""Silent sign-in: an anonymous visitor's first page load tries ``prompt=none`` once.

A visitor already signed in at the provider comes back signed in, on the page
they asked for; anyone else comes back anonymous to the same page, with no error
page. It is tried only for a browser's top-level page load (``Sec-Fetch-Mode:
navigate`` and ``Sec-Fetch-Dest: document``, which browsers send and scripts,
crawlers and ``fetch()`` do not), once per session: a session that tried or
signed out does not try again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

from flask import Response, redirect, request, session

from ..errors import OktaError
from .app_wide import OPEN, requested_view_guard
from .guards import view_caller
from .login_options import configured_defaults
from .providers import provider_state, registrations
from .redirects import relative_request_url
from .responses import is_page_navigation

log = logging.getLogger("flask_okta_client")

F = TypeVar("F", bound=Callable[..., Any])

#: Set in the session once a silent sign-in was tried (or is no longer wanted: signed out).
TRIED_SESSION_KEY = "_okta_silent_tried"
#: Provider answers that only mean "not without the user": the visitor stays anonymous, quietly.
NOT_SIGNED_IN_ERRORS = frozenset({
    "login_required", "interaction_required", "consent_required", "account_selection_required",
})


def mark_tried(session: MutableMapping[str, Any]) -> None:
    session[TRIED_SESSION_KEY] = True


def is_browser_page_load() -> bool:
    """A browser's top-level GET navigation to a document, not a prefetch."""
    headers = request.headers
    return (
        request.method == "GET"
        and headers.get("Sec-Fetch-Mode") == "navigate"
        and headers.get("Sec-Fetch-Dest") == "document"
        and "prefetch" not in headers.get("Sec-Purpose", headers.get("Purpose", ""))
        and is_page_navigation()
    )


def attempt_silent_login(state: Any) -> Response | None:
    """The redirect that tries ``prompt=none`` at registration ``state``, or ``None`` to serve
    the page as it is.

    The provider being unreachable is logged, and the page served anonymously.
    """
    if not is_browser_page_load() or session.get(TRIED_SESSION_KEY) or state.user.is_authenticated:
        return None
    options = {**configured_defaults(state.config), "prompt": "none"}
    try:
        authorize_url = state.begin_login(session, next_url=relative_request_url(), options=options, silent=True)
    except OktaError as error:
        log.warning("okta: silent sign-in not tried: %s (%s)", error.error, error.description)
        return None
    mark_tried(session)
    response = redirect(authorize_url)
    response.headers["Cache-Control"] = "no-store"
    return response


def silent_login_everywhere(state: Any) -> Response | None:
    """``OKTA_SILENT_LOGIN``: a ``before_request`` hook trying silent sign-in with registration
    ``state`` before any page that does not protect itself (``login_required`` signs in for
    real; APIs never; nor does ``OKTA_REQUIRE_LOGIN``, whichever provider has it)."""
    guard = requested_view_guard()
    if guard in (OPEN, "login", "bearer") or (
            guard is None and any(other.config.require_login for other in registrations().values())):
        return None
    return attempt_silent_login(state)


def silent_login(view: F | None = None, *, provider: str | None = None) -> Any:
    """Try a silent sign-in before this view, for an anonymous visitor's first page load::

        @app.get("/")
        @silent_login
        def home(): ...

    ``@silent_login(provider="staff")`` tries it with that registration (default: the default one).
    """

    def decorate(function: F) -> F:
        call = view_caller(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return attempt_silent_login(provider_state(provider)) or call(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate
