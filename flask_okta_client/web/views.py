"""The blueprint: sign-in, callback, profile and sign-out routes."""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import signals
from ..errors import ExpiredLoginError, LoginError, OktaError
from ..sessions import transactions
from .decorators import login_required
from .initiated_login import (
    INITIATED_LOGIN_PARAMS,
    initiated_login_target,
    is_initiated_login,
)
from .login_options import login_options, single
from .providers import provider_state, signal_args
from .redirects import safe_next_url
from .silent_login import NOT_SIGNED_IN_ERRORS, mark_tried
from .user import User

log = logging.getLogger("flask_okta_client")

CSRF_SESSION_KEY = "_okta_csrf"
LOGOUT_STATE_SESSION_KEY = "_okta_logout_state"
MAX_ERROR_TEXT = 300
#: The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207).
CALLBACK_PARAMS = ("code", "state", "iss", "error", "error_description", "error_uri")
# The packaged templates (okta/error.html, okta/profile.html, okta/logout.html).
TEMPLATES = str(Path(__file__).resolve().parent.parent / "templates")


def okta() -> Any:
    """The state of the registration whose route is serving."""
    return provider_state(request.blueprint)


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def same_secret(sent: str, expected: object) -> bool:
    """Constant-time comparison of a value the browser sent with one the session kept."""
    return isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode())


def csrf_token() -> str:
    """A per-session token for the sign-out form."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def landing_url() -> str:
    """Where users land when there is nowhere better: ``OKTA_DEFAULT_REDIRECT``, else the app's root."""
    return okta().config.default_redirect or f"{request.script_root}/"


def login() -> Response:
    """Start the authorization code flow with PKCE and send the browser to the provider.

    With ``iss`` it is a third-party-initiated login: ``target_link_uri`` is where to land.
    """
    state = okta()
    if request.method == "POST":
        return relay_initiated_login()
    if is_initiated_login(request.args):
        site_origins = [request.host_url, *filter(None, [state.config.redirect_uri])]
        next_url = initiated_login_target(request.args, issuer=state.config.issuer,
                                          site_origins=site_origins) or landing_url()
    else:
        next_url = safe_next_url(request.args.get("next")) or landing_url()
    options = login_options(request.args, state.config)
    authorize_url = state.begin_login(session, next_url=next_url, options=options)
    return no_store(redirect(authorize_url))


def relay_initiated_login() -> Response:
    """A third-party-initiated login posted as a form: sent on as a GET with the same parameters.

    A cross-site POST carries no ``SameSite=Lax`` session cookie; starting the
    sign-in here would give the browser a new, empty session in place of its own.
    """
    if not is_initiated_login(request.form):
        raise LoginError("Only a third-party-initiated login (with iss) may be posted to this route.")
    params = [(name, value) for name in INITIATED_LOGIN_PARAMS for value in request.form.getlist(name)]
    return no_store(redirect(f"{url_for(okta().endpoint('login'))}?{urlencode(params)}", code=303))


def provider_error() -> LoginError:
    """The provider answered with ``error``: its code and description, shortened (templates escape them)."""
    return LoginError(
        request.args.get("error_description", "The sign-in service refused the request.")[:MAX_ERROR_TEXT],
        error=request.args.get("error", "access_denied")[:MAX_ERROR_TEXT],
    )


def refuse_repeated_parameters() -> None:
    """RFC 6749 §3.1: response parameters must not be included more than once; which copy
    counts is never guessed."""
    repeated = [name for name in CALLBACK_PARAMS if len(request.args.getlist(name)) > 1]
    if repeated:
        raise LoginError(f"The sign-in answer repeats {', '.join(repeated)}.", error="invalid_request")


def callback() -> Response:
    """Finish signing in: check state and iss, exchange the code, verify the ID token."""
    state = okta()
    transaction = transactions.take_login(session, request.args.get("state"),
                                          key=state.session_key(transactions.SESSION_KEY))
    if transaction is None:
        # A used (back button), expired or foreign callback (another provider's included):
        # nothing to finish. A provider message is shown only for a sign-in this browser started.
        if state.user.is_authenticated:
            return no_store(redirect(landing_url()))
        if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            log.warning(
                "okta: the sign-in callback came without this site's session cookie, so it matches no "
                "sign-in. Start signing in on the same host as the redirect URI (%r; localhost and "
                "127.0.0.1 are different sites to a browser), and keep SESSION_COOKIE_SAMESITE at 'Lax'",
                state.redirect_uri(),
            )
        raise ExpiredLoginError("This sign-in link has expired or was already used. Please sign in again.")
    g.okta_login_state = transaction.login_state
    try:
        refuse_repeated_parameters()
        state.check_response_issuer(request.args.get("iss"))
        if "error" in request.args:
            raise provider_error()
        code = request.args.get("code")
        if not code:
            raise LoginError("The sign-in service sent no authorization code.")
        stored = state.verify_login(transaction, code)
        user = User(stored, state.name)
        response = state.run_after_login(user)
    except OktaError as error:
        signals.login_failed.send(current_app._get_current_object(), error=error, **signal_args(state))
        if transaction.silent:
            return no_store(stay_anonymous(error, transaction.next_url))
        log.info("okta: sign-in failed: %s (%s)", error.error, error.description)
        raise
    state.store_login(session, stored)
    signals.user_logged_in.send(current_app._get_current_object(), user=user, **signal_args(state))
    return no_store(response or redirect(transaction.next_url))


def stay_anonymous(error: OktaError, next_url: str) -> Response:
    """A silent sign-in that did not work: back to the page, anonymous, with no error page."""
    if error.error in NOT_SIGNED_IN_ERRORS:
        log.info("okta: silent sign-in: not signed in at the provider (%s)", error.error)
    else:
        log.warning("okta: silent sign-in failed: %s (%s)", error.error, error.description)
    return redirect(next_url)


def profile() -> str:
    state = okta()
    return render_template("okta/profile.html", user=state.user, provider=state.name)


def logout_confirmation() -> Response:
    state = okta()
    if not state.user.is_authenticated:
        return redirect(landing_url())
    return no_store(Response(render_template("okta/logout.html", provider=state.name)))


def logout() -> Response:
    """Sign out here, revoke the tokens, then sign out at the provider."""
    if not same_secret(request.form.get("csrf_token", ""), session.get(CSRF_SESSION_KEY)):
        raise LoginError("The sign-out form has expired. Please try again.", error="invalid_csrf_token")
    state = okta()
    user = state.user
    if not user.is_authenticated:
        return redirect(landing_url())
    signals.user_logged_out.send(current_app._get_current_object(), user=user, **signal_args(state))
    id_token = state.end_session(session)
    mark_tried(session)  # signed out here: no silent sign-in straight back
    end_session_url = state.metadata.get().get("end_session_endpoint")
    if not isinstance(end_session_url, str):
        return no_store(redirect(landing_url()))
    logout_state = session[state.session_key(LOGOUT_STATE_SESSION_KEY)] = secrets.token_urlsafe(32)
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": state.post_logout_redirect_uri(),
        "state": logout_state,
        "client_id": state.config.client_id,
    }
    separator = "&" if "?" in end_session_url else "?"
    return no_store(redirect(f"{end_session_url}{separator}{urlencode(query)}"))


def logout_callback() -> Response:
    """Back from the provider's sign-out: check the state we sent. A wrong state leaves it in place,
    so a forged return cannot spoil the genuine one."""
    key = okta().session_key(LOGOUT_STATE_SESSION_KEY)
    if not same_secret(single(request.args, "state") or "", session.get(key)):
        raise LoginError("This sign-out response does not match a sign-out from this site.",
                         error="invalid_logout_state")
    session.pop(key)
    return no_store(redirect(landing_url()))


def create_blueprint(name: str, url_prefix: str) -> Blueprint:
    """The routes of registration ``name`` (its blueprint has that name)."""
    blueprint = Blueprint(name, __name__, template_folder=TEMPLATES, url_prefix=url_prefix or None)
    blueprint.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    blueprint.add_url_rule("/authorization-code/callback", "callback", callback, methods=["GET"])
    blueprint.add_url_rule("/profile", "profile", login_required(provider=name)(profile), methods=["GET"])
    blueprint.add_url_rule("/logout", "logout_confirmation", logout_confirmation, methods=["GET"])
    blueprint.add_url_rule("/logout", "logout", logout, methods=["POST"])
    blueprint.add_url_rule("/logout/callback", "logout_callback", logout_callback, methods=["GET"])

    @blueprint.after_request
    def callback_headers(response: Response) -> Response:
        if request.endpoint == f"{name}.callback":
            response.headers["Referrer-Policy"] = "no-referrer"
            no_store(response)
        return response

    return blueprint
