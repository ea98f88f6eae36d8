"""The back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0).

The provider POSTs a signed ``logout_token``; this site ends the sign-ins it
names. Answers (§2.8): 200 with ``Cache-Control: no-store`` when the token is
valid (whether or not a sign-in matched), 400 with a JSON ``error`` when the
request or the token is not, and 503 when the provider's keys or the shared
store cannot be reached, so the provider may deliver it again.
"""

from __future__ import annotations

import logging

from flask import Response, current_app, request

from .. import signals
from ..errors import OktaError, TokenValidationError
from ..protocol.verifier import LOGOUT_TOKEN_MAX_AGE
from .providers import signal_args
from .responses import API_REQUEST_KEY
from .views import no_store, okta

log = logging.getLogger("flask_okta_client")


class LogoutRequestError(OktaError):
    """A back-channel logout request the site refuses (always 400, §2.8)."""

    status = 400
    error = "invalid_request"
    title = "Invalid logout request"


def logout_token() -> str:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise LogoutRequestError("The logout request must be form-encoded.")
    tokens = request.form.getlist("logout_token")
    if len(tokens) != 1 or not tokens[0]:
        raise LogoutRequestError("The logout request needs exactly one logout_token.")
    return tokens[0]


def backchannel_logout() -> Response:
    """End the sign-ins a valid logout token names, on every instance."""
    request.environ[API_REQUEST_KEY] = True  # errors are JSON for the provider, never a page
    state = okta()
    token = logout_token()
    try:
        claims = state.verifier.verify_logout_token(token)
    except TokenValidationError as exc:
        log.warning("okta: back-channel logout token refused: %s", exc.description)
        raise LogoutRequestError(exc.description, error="invalid_token") from None
    sid, sub = claims.get("sid"), claims.get("sub")
    replay_window = LOGOUT_TOKEN_MAX_AGE + 2 * state.config.clock_skew
    if not state.logouts.first_use("jti", claims["jti"], replay_window):
        log.warning("okta: back-channel logout token replayed (jti seen before)")
        raise LogoutRequestError("This logout token was already used.", error="invalid_token")
    try:
        state.logouts.end(sid=sid, sub=sub)
    except OktaError:
        state.logouts.forget_use("jti", claims["jti"])  # let the provider deliver it again
        raise
    signals.backchannel_logout.send(current_app._get_current_object(), sub=sub, sid=sid, **signal_args(state))
    return no_store(Response(status=200))
