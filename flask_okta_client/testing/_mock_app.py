"""Flask routes of the mock Okta authorization server."""

from __future__ import annotations

import re
import secrets
import socket
import struct
import time
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oauth2.rfc9101.errors import InvalidRequestUriError
from flask import (
    Flask,
    Response,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
)

from ._mock_authz import MockAuthorizationServer
from ._mock_dpop import NONCE_HEADER, ProofChecker
from ._mock_keys import ALGORITHM, KeyRing
from ._mock_models import (
    ACR_PASSWORD,
    AUTH_METHODS,
    AUTHENTICATION_LEVELS,
    GRANT_TYPES,
    STANDARD_SCOPES,
    MockClient,
    SignIn,
)
from ._mock_pages import ERROR_PAGE, SIGN_IN_PAGE, SIGNED_OUT_PAGE
from ._mock_store import PUSHED_REQUEST_TTL, Store
from ._mock_tokens import ENDPOINT_PATHS, Realm
from ._mock_traffic import Traffic

SESSION_COOKIE = "okta_mock_session"
_MAX_AGE = re.compile(r"[0-9]{1,9}")
CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
_METHODS = {
    "discovery": ("GET",),
    "keys": ("GET",),
    "authorize": ("GET", "POST"),
    "userinfo": ("GET", "POST"),
    "logout": ("GET", "POST"),
}


def create_app(store: Store, keys: KeyRing, realm: Realm, traffic: Traffic, dpop: ProofChecker) -> Flask:
    """The mock's Flask app, with its endpoints where ``realm`` puts them."""
    app = Flask(__name__, static_folder=None)
    app.secret_key = secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH=realm.endpoints_path + "/",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    views = _Views(MockAuthorizationServer(app, store, keys, realm, dpop))
    for name in ENDPOINT_PATHS:
        app.add_url_rule(realm.route(name), name, getattr(views, name), methods=_METHODS.get(name, ("POST",)))
    app.add_url_rule(realm.path + "/.well-known/oauth-authorization-server", "discovery", views.discovery)
    app.before_request(partial(_record_and_inject_fault, traffic))
    app.after_request(_add_fault_headers)
    return app


def _record_and_inject_fault(traffic: Traffic) -> Response | None:
    """Count the request; answer with an injected fault when one is queued."""
    if request.endpoint is None:
        return None
    fault = traffic.record(request.endpoint, request.method, request.path)
    if fault is None:
        return None
    time.sleep(fault.delay)
    if fault.reset:
        return Response(_reset_connection(request.environ["werkzeug.socket"]))
    if fault.status is None:
        g.mock_fault_headers = fault.headers
        return None
    body, media_type, headers = fault.answer()
    return Response(body, status=fault.status, mimetype=media_type, headers=headers)


def _add_fault_headers(response: Response) -> Response:
    """The extra headers of a fault that answers normally (e.g. ``X-Rate-Limit-Remaining: 0``)."""
    response.headers.update(g.pop("mock_fault_headers", {}))
    return response


def _reset_connection(connection: socket.socket) -> Iterator[bytes]:
    """A response body that resets the connection before anything is sent.

    With a zero linger time, closing the socket sends a TCP reset; the server closes
    it when the body raises ConnectionResetError, and reads no further request.
    """
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RD)
    raise ConnectionResetError("injected reset")
    yield b""  # a generator, so the reset happens while the server sends the body


def discovery_document(realm: Realm, dpop_algorithms: tuple[str, ...]) -> dict[str, Any]:
    """OpenID Provider / OAuth 2.0 authorization server metadata, as Okta publishes it."""
    return {
        "issuer": realm.issuer,
        "authorization_endpoint": realm.url("authorize"),
        "token_endpoint": realm.url("token"),
        "userinfo_endpoint": realm.url("userinfo"),
        "jwks_uri": realm.url("keys"),
        "revocation_endpoint": realm.url("revoke"),
        "introspection_endpoint": realm.url("introspect"),
        "end_session_endpoint": realm.url("logout"),
        "pushed_authorization_request_endpoint": realm.url("par"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "scopes_supported": list(STANDARD_SCOPES),
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "idp", "ver",
            "name", "email", "preferred_username", "groups",
        ],  # fmt: skip
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ["HS256", ALGORITHM],
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": list(AUTHENTICATION_LEVELS),
        "request_parameter_supported": False,
        "require_pushed_authorization_requests": realm.require_par,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(dpop_algorithms),
    }


class _Views:
    """One method per endpoint, named like the endpoint."""

    def __init__(self, server: MockAuthorizationServer) -> None:
        self.server = server
        self.store = server.store
        self.realm = server.realm

    def discovery(self) -> Response:
        return jsonify(discovery_document(self.realm, self.server.dpop.algorithms))

    def keys(self) -> Response:
        return jsonify(self.server.keys.public_jwks())

    def token(self) -> Response:
        """Okta's DPoP at the token endpoint: a proof binds the tokens, after a nonce challenge."""
        if "DPoP" not in request.headers:
            return self.server.create_token_response()
        dpop = self.server.dpop
        try:
            g.dpop_jkt = dpop.check(request.headers, "POST", self.realm.url("token"), nonce_required=True)
        except OAuth2Error as error:
            response = jsonify(error=error.error, error_description=error.description)
            response.status_code = 400
        else:
            response = self.server.create_token_response()
        response.headers[NONCE_HEADER] = dpop.nonces.current
        response.headers["Cache-Control"] = "no-store"
        return response

    def userinfo(self) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "dpop":
            return self._dpop_userinfo(token)
        return self.server.create_endpoint_response("userinfo")

    def _dpop_userinfo(self, token: str) -> Response:
        """UserInfo for a DPoP-bound access token and a proof of its key (RFC 9449 §7)."""
        try:
            jkt = self.server.dpop.check(request.headers, request.method, self.realm.url("userinfo"),
                                         access_token=token)
        except OAuth2Error as error:
            return _dpop_refusal(error.error, error.description, self.server.dpop.algorithms)
        record = self.store.find_token(token, "access_token")
        if record is None or record.is_revoked() or record.is_expired() or record.jkt != jkt or record.user is None:
            return _dpop_refusal("invalid_token", "The access token is not valid for this DPoP key.",
                                 self.server.dpop.algorithms)
        return jsonify(record.user.claims())

    def revoke(self) -> Response:
        return self.server.create_endpoint_response("revocation")

    def introspect(self) -> Response:
        return self.server.create_endpoint_response("introspection")

    def logout(self) -> Response | str:
        try:
            end_session = self.server.validate_endpoint_request("end_session")
        except OAuth2Error as error:
            return _error_page(error)
        response = self.server.create_endpoint_response("end_session", end_session)
        return response or render_template_string(SIGNED_OUT_PAGE)

    def par(self) -> Response | tuple[Response, int]:
        """RFC 9126: authenticate the client, validate and store its authorization request."""
        oauth_request = self.server.create_oauth2_request(None)
        try:
            client = self.server.authenticate_client(oauth_request, list(AUTH_METHODS))
            params = _pushed_params(request.form, client)
            grant = self.server.get_authorization_grant(self.server.create_oauth2_request(params))
            grant.validate_authorization_request()
        except OAuth2Error as error:
            error.redirect_uri = None
            return self.server.handle_error_response(oauth_request, error)
        return jsonify(request_uri=self.store.push_request(params), expires_in=PUSHED_REQUEST_TTL), 201

    def authorize(self) -> Response | tuple[str, int]:
        if request.method == "POST":
            return self._submit_sign_in()
        if self.realm.require_par and "request_uri" not in request.args:
            return _error_page(InvalidRequestError("This server requires pushed authorization requests."))
        try:
            params = self._take_pushed_request() if "request_uri" in request.args else None
            sign_in = self._current_sign_in(params or request.args)
            grant = self.server.get_consent_grant(params, end_user=sign_in)
        except OAuth2Error as error:
            return self._authorization_error(error)
        if sign_in is None or grant.prompt == "login":
            return self._sign_in_page(grant.request.payload.data)
        return self.server.create_authorization_response(grant.request, grant_user=sign_in, grant=grant)

    def _take_pushed_request(self) -> dict[str, str]:
        params = self.store.take_pushed_request(request.args["request_uri"], request.args.get("client_id", ""))
        if params is None:
            raise InvalidRequestUriError("The request_uri is unknown, used or expired.")
        return params

    def _current_sign_in(self, params: Mapping[str, str]) -> SignIn | None:
        """The mock's own sign-in session, unless older than ``max_age`` or weaker than
        the ``acr_values`` it knows (like an Okta sign-on policy, it asks again)."""
        username, auth_time = session.get("username"), session.get("auth_time", 0)
        if not username:
            return None
        max_age = params.get("max_age")
        if max_age is not None:
            if not _MAX_AGE.fullmatch(max_age):
                raise InvalidRequestError("max_age must be a whole number of seconds.")
            if time.time() - auth_time >= int(max_age):
                return None
        acr = session.get("acr", ACR_PASSWORD)
        wanted = _known_acr_values(params)
        if wanted and acr not in wanted:
            return None
        return SignIn(self.store.user(username), auth_time, acr)

    def _sign_in_page(self, params: Mapping[str, str], error: str | None = None) -> tuple[str, int]:
        pending = self.store.hold_sign_in({key: params[key] for key in params})
        page = render_template_string(
            SIGN_IN_PAGE,
            action=self.realm.url("authorize"),
            pending=pending,
            client_id=params.get("client_id"),
            scopes=scope_to_list(params.get("scope")) or [],
            login_hint=params.get("login_hint", ""),
            levels=list(AUTHENTICATION_LEVELS),
            level=_preferred_acr(params),
            error=error,
        )
        return page, 400 if error else 200

    def _submit_sign_in(self) -> Response | tuple[str, int]:
        params = self.store.take_sign_in(request.form.get("pending", ""))
        if params is None:
            return _error_page(InvalidRequestError("This sign-in page has expired. Start again from the application."))
        username = request.form.get("username", "").strip()
        if not username:
            return self._sign_in_page(params, error="Enter a username.")
        acr = request.form.get("acr", "")
        if acr not in AUTHENTICATION_LEVELS:
            acr = _preferred_acr(params)
        sign_in = SignIn(self.store.user(username), int(time.time()), acr)
        session.update(username=username, auth_time=sign_in.auth_time, acr=acr)
        try:
            grant = self.server.get_consent_grant(params, end_user=sign_in)
        except OAuth2Error as error:
            return self._authorization_error(error)
        return self.server.create_authorization_response(grant.request, grant_user=sign_in, grant=grant)

    def _authorization_error(self, error: OAuth2Error) -> Response | tuple[str, int]:
        """Redirect the error back with ``iss``, unless the redirect URI is not trusted."""
        if error.redirect_uri is None:
            return _error_page(error)
        params = [*error.get_body(), ("iss", self.realm.issuer)]
        return redirect(add_params_to_uri(error.redirect_uri, params))


def _known_acr_values(params: Mapping[str, str]) -> list[str]:
    """The requested ``acr_values`` the mock can satisfy, in order of preference."""
    return [value for value in params.get("acr_values", "").split() if value in AUTHENTICATION_LEVELS]


def _preferred_acr(params: Mapping[str, str]) -> str:
    """The level the sign-in page offers first: the first requested one it knows, else a password."""
    return next(iter(_known_acr_values(params)), ACR_PASSWORD)


def _pushed_params(form: Mapping[str, str], client: MockClient) -> dict[str, str]:
    """The authorization parameters of a PAR request, bound to the authenticated client."""
    params = {key: form[key] for key in form if key not in CLIENT_AUTH_PARAMS}
    if params.setdefault("client_id", client.client_id) != client.client_id:
        raise InvalidRequestError("The client_id is not the authenticated client.")
    if "request_uri" in params:
        raise InvalidRequestError("A pushed request cannot contain a request_uri.")
    return params


def _dpop_refusal(error: str, description: str | None, algorithms: tuple[str, ...]) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'DPoP error="{error}", algs="{" ".join(algorithms)}"'
    return response


def _error_page(error: OAuth2Error) -> tuple[str, int]:
    return render_template_string(ERROR_PAGE, error=error.error, description=error.description), 400
