"""Authlib grants, extensions and client authentication, configured like Okta."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    BaseGrant,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    TokenEndpointMixin,
    UnauthorizedClientError,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523 import JWTBearerGrant as _JWTBearerGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, OpenIDToken
from joserfc.jwk import KeySet, OctKey

from ._mock_dpop import bound_key
from ._mock_keys import ALGORITHM, KeyRing
from ._mock_models import (
    AUTH_METHODS,
    IDP_ID,
    TOKEN_EXCHANGE,
    AuthorizationCode,
    IssuedToken,
    MockClient,
    MockUser,
    methods_of,
)
from ._mock_tokens import ID_JAG_TTL, Realm

if TYPE_CHECKING:
    from ._mock_authz import MockAuthorizationServer

CODE_TTL = 60
CONFIDENTIAL_AUTH_METHODS = [method for method in AUTH_METHODS if method != "none"]

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id-jag"


class S256CodeChallenge(CodeChallenge):
    """PKCE on every authorization request, with the S256 method only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("The code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class _OktaIDToken(OpenIDToken):
    """Okta-shaped ID tokens signed with the current key."""

    def __init__(self, keys: KeyRing, realm: Realm) -> None:
        super().__init__()
        self.keys = keys
        self.realm = realm

    def resolve_client_private_key(self, client: MockClient) -> Any:
        return self.keys.signing_key

    def get_encode_header(self, client: MockClient) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.keys.signing_key.kid}

    def get_client_claims(self, client: MockClient) -> dict[str, Any]:
        return {"iss": self.realm.issuer, "aud": client.client_id}

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, Any]:
        claims = super().get_compatible_claims(request)
        claims["jti"] = "ID." + secrets.token_urlsafe(24)
        if request.refresh_token is not None:
            claims["auth_time"] = request.refresh_token.auth_time
            if request.refresh_token.acr:
                claims["acr"] = request.refresh_token.acr
            claims["amr"] = methods_of(request.refresh_token.acr)
        return claims

    def generate_user_info(self, user: MockUser, scope: str) -> dict[str, Any]:
        return {**user.claims(), "idp": IDP_ID, "ver": 1}


class IDTokenForCode(_OktaIDToken, OpenIDCode):
    """ID tokens in the code flow; the nonce is echoed (replay is the client's check)."""

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False


class IDTokenForRefresh(_OktaIDToken):
    """ID tokens on refresh, keeping the original ``auth_time``."""


class _SignInInAccessTokens:
    """Access tokens carry the sign-in's ``auth_time`` and ``acr``, as step-up (RFC 9470) reads them."""

    server: MockAuthorizationServer
    request: OAuth2Request
    GRANT_TYPE: str

    def authentication(self) -> dict[str, Any]:
        raise NotImplementedError

    def generate_token(self, user: MockUser | None = None, scope: str | None = None, grant_type: str | None = None,
                       expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        return self.server.minter.generate(grant_type or self.GRANT_TYPE, self.request.client, user, scope,
                                           include_refresh_token=include_refresh_token,
                                           authentication=self.authentication())


class AuthorizationCodeGrant(_SignInInAccessTokens, grants.AuthorizationCodeGrant):
    """Single-use codes; replaying one revokes the tokens it produced."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    server: MockAuthorizationServer

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                sign_in=request.user,  # the SignIn the authorize view granted
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                family=secrets.token_hex(8),
                expires_at=time.time() + CODE_TTL,
            )
        )

    def query_authorization_code(self, code: str, client: MockClient) -> AuthorizationCode | None:
        return self.server.store.redeem_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: redeeming retired the code, which stays to detect replays."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> MockUser:
        return authorization_code.sign_in.user

    def authentication(self) -> dict[str, Any]:
        code = self.request.authorization_code
        return {"auth_time": code.get_auth_time(), "acr": code.get_acr()}


class RefreshTokenGrant(_SignInInAccessTokens, grants.RefreshTokenGrant):
    """Refresh with rotation; replaying a used refresh token revokes its family."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: MockAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        """The refresh token, if usable; one bound to a DPoP key needs a proof with that key."""
        token = self.server.store.active_refresh_token(refresh_token)
        if token is not None and token.jkt is not None and token.jkt != bound_key():
            return None
        return token

    def authenticate_user(self, refresh_token: IssuedToken) -> MockUser | None:
        return refresh_token.user

    def authentication(self) -> dict[str, Any]:
        refresh_token = self.request.refresh_token
        return {"auth_time": refresh_token.auth_time, "acr": refresh_token.acr}

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        if not self.server.store.rotate(refresh_token):
            raise InvalidGrantError("The refresh token was already used.")


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 token exchange of a token this server issued.

    Returns an access token for ``audience``, or an ID-JAG when
    ``requested_token_type`` is ``urn:ietf:params:oauth:token-type:id-jag``.
    """

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
    server: MockAuthorizationServer

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(f"The client is not authorized to use grant_type={self.GRANT_TYPE}")
        form = self.request.form
        self.requested_token_type = form.get("requested_token_type", ACCESS_TOKEN_TYPE)
        if self.requested_token_type not in (ACCESS_TOKEN_TYPE, ID_JAG_TOKEN_TYPE):
            raise InvalidRequestError("Unsupported requested_token_type.")
        if self.requested_token_type == ID_JAG_TOKEN_TYPE and not form.get("audience"):
            raise InvalidRequestError("An ID-JAG needs an audience.")
        scope = client.get_allowed_scope(self.request.payload.scope)
        if scope is None:
            raise InvalidScopeError()
        self.request.client = client
        self.request.scope = scope
        self.request.user = self._subject_user(client)

    def _subject_user(self, client: MockClient) -> MockUser:
        form = self.request.form
        token, token_type = form.get("subject_token"), form.get("subject_token_type")
        if not token or token_type not in (ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE):
            raise InvalidRequestError("Send a subject_token of type access_token or id_token.")
        claims = self.server.minter.verify(token)
        if token_type == ID_TOKEN_TYPE:
            if claims.get("aud") != client.client_id:
                raise InvalidGrantError("The ID token was issued to another client.")
            sub = claims.get("sub")
        else:
            record = self.server.store.find_token(token, "access_token")
            if record is not None and record.is_revoked():
                raise InvalidGrantError("The subject token was revoked.")
            sub = claims.get("uid")
        user = self.server.store.user_by_sub(sub) if isinstance(sub, str) else None
        if user is None:
            raise InvalidGrantError("The subject token does not identify a user.")
        return user

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client, user, scope = self.request.client, self.request.user, self.request.scope
        audience = self.request.form.get("audience")
        if self.requested_token_type == ID_JAG_TOKEN_TYPE:
            body: dict[str, Any] = {
                "access_token": self.server.minter.id_jag(client, user, audience, scope),
                "token_type": "N_A",
                "expires_in": ID_JAG_TTL,
                "scope": scope,
            }
        else:
            body = self.server.minter.bearer(client, user, scope, audience=audience)
            self.save_token(body)
        body["issued_token_type"] = self.requested_token_type
        return 200, body, self.TOKEN_RESPONSE_HEADER


class JWTBearerGrant(_JWTBearerGrant):
    """RFC 7523 assertions signed by this server (such as an ID-JAG) or by a client's keys.

    A server-signed assertion needs client authentication, and its
    ``client_id`` claim, when present, must name the authenticated client.
    A client-signed assertion has the client id as ``iss``.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
    server: MockAuthorizationServer

    def resolve_issuer_client(self, issuer: str) -> MockClient | None:
        self.server_signed = issuer == self.server.realm.issuer
        if not self.server_signed:
            client = self.server.store.client(issuer)
            return client if client and client.jwks else None
        if self.request.client is None:
            self.request.client = self.authenticate_token_endpoint_client()
        return self.request.client

    def resolve_client_public_key(self, client: MockClient) -> KeySet:
        if self.server_signed:
            return self.server.keys.public_key_set()
        return KeySet.import_key_set(client.jwks)

    def get_audiences(self) -> list[str]:
        return [self.server.realm.issuer, self.server.realm.url("token")]

    def process_assertion_claims(self, assertion: str) -> dict[str, Any]:
        claims = super().process_assertion_claims(assertion)
        if self.server_signed and claims.get("client_id") not in (None, self.request.client.client_id):
            raise InvalidGrantError("The assertion was issued to another client.")
        if "jti" in claims and not self.server.store.first_use(claims["iss"], claims["jti"], claims["exp"]):
            raise InvalidGrantError("The assertion was already used.")
        self.request.scope = _bounded_scope(self.request.payload.scope, claims.get("scope"))
        return claims

    def authenticate_user(self, subject: str) -> MockUser:
        return self.server.store.user_by_sub(subject) or self.server.store.user(subject)

    def has_granted_permission(self, client: MockClient, user: MockUser) -> bool:
        return True

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.scope, user=self.request.user, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def _bounded_scope(requested: str | None, granted: str | None) -> str | None:
    """The requested scope, which must fit in the assertion's; defaults to it."""
    if granted is None or not requested:
        return requested or granted
    if not set(scope_to_list(requested)) <= set(scope_to_list(granted)):
        raise InvalidScopeError("The requested scope exceeds the assertion's scope.")
    return requested


class ClientAssertion(JWTBearerClientAssertion):
    """``private_key_jwt`` or ``client_secret_jwt`` client authentication (RFC 7523)."""

    def __init__(self, method: str, server: MockAuthorizationServer) -> None:
        super().__init__()
        self.CLIENT_AUTH_METHOD = method
        self.server = server

    def __call__(self, query_client: Any, request: OAuth2Request) -> MockClient | None:
        if self._asserting_client_method(query_client, request) != self.CLIENT_AUTH_METHOD:
            return None
        return super().__call__(query_client, request)

    def _asserting_client_method(self, query_client: Any, request: OAuth2Request) -> str | None:
        """The auth method registered for the client the assertion claims to be."""
        assertion = request.form.get("client_assertion")
        if not assertion:
            return None
        _, claims = self.extract_assertion(assertion)
        client = query_client(claims["sub"]) if isinstance(claims.get("sub"), str) else None
        return client.token_endpoint_auth_method if client else None

    def get_audiences(self) -> list[str]:
        realm = self.server.realm
        return [realm.issuer, *(realm.url(name) for name in ("token", "par", "revoke", "introspect"))]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return self.server.store.first_use(claims["sub"], jti, claims["exp"])

    def resolve_client_public_key(self, client: MockClient) -> KeySet | OctKey:
        if self.CLIENT_AUTH_METHOD == "client_secret_jwt":
            return OctKey.import_key(client.client_secret)
        return KeySet.import_key_set(client.jwks)
