"""A JSON session endpoint for the site's own front end (backend-for-frontend).

``GET`` tells whether the user is signed in and shows the claims the front end
may see; ``?token=NAME`` adds an access token configured under that name (the
user's own, or one exchanged for another audience), refreshed first when it is
due; ``POST`` refreshes on demand. Only this site's own pages may call it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Response, jsonify, request, url_for

from ..config import SessionEndpointToken
from ..errors import AccessDenied, NotAuthenticated, OktaError
from ..sessions.storage import token_type_of
from .decorators import refresh_or_sign_out
from .responses import API_REQUEST_KEY
from .views import no_store, okta

log = logging.getLogger("flask_okta_client")

#: The header a call must carry. Its value does not matter: a page on another
#: origin can add a header only after a CORS preflight, which this endpoint
#: never approves, and forms, links and ``<img>`` tags cannot add one at all.
CSRF_HEADER = "X-Requested-With"
# Sec-Fetch-Site values of requests made by this site's own pages (or typed in by the user).
SAME_ORIGIN_FETCHES = ("same-origin", "none")


def site_origin() -> str:
    """This site's origin as browsers write it in ``Origin`` (behind a proxy, configure ``ProxyFix``)."""
    return f"{request.scheme}://{request.host}".lower()


def refuse_cross_origin_request() -> None:
    """Refuse a request another origin made, or one without the CSRF header (403)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCHES:
        reason = f"Sec-Fetch-Site: {fetch_site[:20]}"
    elif origin is not None and origin.lower() != site_origin():
        reason = "Origin is another site"
    elif not request.headers.get(CSRF_HEADER):
        reason = f"no {CSRF_HEADER} header"
    else:
        return
    log.info("okta: session endpoint refused a request (%s)", reason)
    raise AccessDenied("Only this site's own pages may call the session endpoint.", error="cross_origin_request")


def handed_out_token(state: Any, spec: SessionEndpointToken) -> dict[str, Any]:
    """The token ``spec`` names: the user's own access token or one exchanged for ``spec.audience``."""
    if spec.audience is None:
        user = state.user.stored
        token = {"access_token": user.access_token, "expires_at": user.expires_at, "scope": user.scope,
                 "token_type": user.token_type}
    else:
        token = dict(state.exchange_for_current_user(
            audience=spec.audience, scope=spec.scope, requested_token_type=None, target_issuer=None,
        ))
    return {"name": spec.name, "access_token": token["access_token"], "token_type": token_type_of(token),
            "expires_at": whole_seconds(token.get("expires_at")), "scope": token.get("scope")}


def whole_seconds(expires_at: Any) -> int | None:
    """An expiry as whole seconds of Unix time (rounded down: never later than the real one)."""
    return math.floor(expires_at) if isinstance(expires_at, (int, float)) else None


def session_endpoint() -> Response:
    """``{"authenticated": ...}``, the allowed claims and, with ``?token=NAME``, a fresh access token.

    ``POST`` refreshes the user's tokens first (single flight, like every refresh).
    """
    request.environ[API_REQUEST_KEY] = True  # refusals and errors answer JSON
    refuse_cross_origin_request()
    state = okta()  # the registration this endpoint belongs to
    config = state.config
    names = request.args.getlist("token")
    if len(names) > 1:
        raise OktaError("Ask for one token at a time.", error="invalid_request", status=400)
    name = names[0] if names else None
    spec = None
    if name is not None:
        spec = config.session_endpoint_tokens.get(name)
        if spec is None:
            raise OktaError("No token is offered under this name.", error="unknown_token", status=404)
    if not state.user.is_authenticated:
        if spec is not None:
            raise NotAuthenticated("Sign in to get a token.")
        return no_store(jsonify(authenticated=False, login_url=url_for(state.endpoint("login"))))
    if spec is not None or request.method == "POST":
        refresh_or_sign_out(state, force=request.method == "POST")
    claims = state.user.claims
    body: dict[str, Any] = {
        "authenticated": True,
        "claims": {key: claims[key] for key in config.session_endpoint_claims if key in claims},
    }
    if spec is not None:
        body["token"] = handed_out_token(state, spec)
    return no_store(jsonify(body))

