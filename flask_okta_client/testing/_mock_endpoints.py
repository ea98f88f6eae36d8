"""Authlib endpoints of the mock: revocation, introspection, userinfo and logout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from flask import session
from joserfc.jwk import KeySet

from ._mock_models import AUTH_METHODS, IssuedToken, MockClient, MockUser
from ._mock_store import Store

if TYPE_CHECKING:
    from ._mock_authz import MockAuthorizationServer


class _TokenLookup:
    """Finds tokens for the revocation and introspection endpoints."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)
    server: MockAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.store.find_token(token_string)


class Revocation(_TokenLookup, RevocationEndpoint):
    """RFC 7009; revoking a refresh token revokes every token of its family."""

    def revoke_token(self, token: IssuedToken, request: OAuth2Request) -> None:
        self.server.store.revoke(token)


class Introspection(_TokenLookup, IntrospectionEndpoint):
    """RFC 7662 for access and refresh tokens; any registered client may ask."""

    def check_permission(self, token: IssuedToken, client: MockClient, request: OAuth2Request) -> bool:
        return True

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "active": True,
            "token_type": ("DPoP" if token.jkt else "Bearer") if token.kind == "access_token" else "refresh_token",
            "scope": token.scope,
            "client_id": token.client.client_id,
            "iss": self.server.realm.issuer,
            "iat": token.issued_at,
            "exp": token.expires_at,
            "sub": token.user.username if token.user else token.client.client_id,
        }
        if token.user:
            payload.update(username=token.user.username, uid=token.user.sub)
        payload.update((claim, token.claims[claim]) for claim in ("aud", "jti", "cnf") if claim in token.claims)
        return payload


class _AccessTokens(BearerTokenValidator):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        """Bearer access tokens only: a DPoP-bound one needs its proof (see the UserInfo view)."""
        token = self.store.find_token(token_string, "access_token")
        return None if token is None or token.jkt else token


class UserInfo(UserInfoEndpoint):
    """OIDC userinfo for a Bearer access token with the openid scope."""

    def __init__(self, store: Store) -> None:
        protector = ResourceProtector()
        protector.register_token_validator(_AccessTokens(store))
        super().__init__(resource_protector=protector)

    def generate_user_info(self, user: MockUser, scope: str) -> dict[str, Any]:
        return user.claims()


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: ends the mock's sign-in session."""

    server: MockAuthorizationServer

    def get_server_jwks(self) -> KeySet:
        return self.server.keys.public_key_set()

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        session.clear()
