"""How errors and refusals are answered: HTML pages for browsers, JSON for APIs."""

from __future__ import annotations

import logging

from flask import Response, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import InternalServerError

from ..errors import OktaError
from ..sessions.lifecycle import SessionEnded
from .guards import is_bearer_guarded, requested_view
from .providers import provider_state
from .redirects import relative_request_url
from .user import active_state, leave_unloaded_user_anonymous

log = logging.getLogger("flask_okta_client")


# Retry-After of a 503 whose cause did not say how long to wait, in seconds.
DEFAULT_RETRY_AFTER = 30

# Set on requests to the extension's JSON endpoints (back-channel logout, the session endpoint, event
# hooks): they always get JSON, as views protected by bearer_token_required do.
API_REQUEST_KEY = "flask_okta_client.api_request"


def is_page_navigation() -> bool:
    """Whether this request is a top-level page load a browser user will see.

    Not when it is an API call, prefers JSON, carries ``X-Requested-With``,
    or its ``Sec-Fetch-Mode`` says it is a fetch rather than a navigation.
    """
    if request.environ.get(API_REQUEST_KEY) or is_bearer_guarded(requested_view()) \
            or request.headers.get("X-Requested-With"):
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None and mode != "navigate":
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best != "application/json"


def error_response(error: OktaError) -> Response:
    """The single place an :class:`OktaError` becomes an HTTP answer."""
    if error.status >= 500:
        log.warning("okta: answering %s (%s) to %s %s", error.status, error.error, request.method, request.path)
    page = is_page_navigation()
    if page and isinstance(error, SessionEnded) and error.provider is not None:
        login = url_for(provider_state(error.provider).endpoint("login"), next=relative_request_url())
        response = redirect(login)  # as the decorators do: sign in again, back to this page
    elif page:
        leave_unloaded_user_anonymous()  # the page's layout may read current_user: no store behind it
        failed = active_state() or provider_state()  # its "Sign in again" link
        response = Response(render_template("okta/error.html", error=error, provider=failed.name),
                            status=error.status)
    else:
        response = jsonify(error=error.error, error_description=error.description)
        response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    if error.challenge is not None:
        response.headers["WWW-Authenticate"] = error.challenge
    if error.headers:
        response.headers.update(error.headers)
    if error.status == 503 or error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after or DEFAULT_RETRY_AFTER)
    return response


def failed_error_page_response(error: InternalServerError) -> Response | InternalServerError:
    """An :class:`OktaError` raised while another error page rendered (its layout read
    ``current_user`` while the token store was down) gets its own answer, not a 500."""
    if isinstance(error.original_exception, OktaError):
        return error_response(error.original_exception)
    return error
