"""Authlib's Flask authorization server wired to the mock's in-memory state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask

from ._mock_dpop import ProofChecker
from ._mock_endpoints import EndSession, Introspection, Revocation, UserInfo
from ._mock_grants import (
    AuthorizationCodeGrant,
    ClientAssertion,
    ClientCredentialsGrant,
    IDTokenForCode,
    IDTokenForRefresh,
    JWTBearerGrant,
    RefreshTokenGrant,
    S256CodeChallenge,
    TokenExchangeGrant,
)
from ._mock_keys import KeyRing
from ._mock_store import Store
from ._mock_tokens import Realm, TokenMinter, issued_tokens


class _IssuerParameter(IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm

    def get_issuer(self) -> str:
        return self.realm.issuer


class MockAuthorizationServer(AuthorizationServer):
    """The OAuth 2.0 / OIDC machinery of the mock, with Okta's grants and endpoints."""

    def __init__(self, app: Flask, store: Store, keys: KeyRing, realm: Realm, dpop: ProofChecker) -> None:
        self.store = store
        self.keys = keys
        self.realm = realm
        self.minter = TokenMinter(keys, realm)
        self.dpop = dpop
        super().__init__(app, query_client=store.client)
        self.register_token_generator("default", self.minter.generate)
        for method in ("client_secret_jwt", "private_key_jwt"):
            self.register_client_auth_method(method, ClientAssertion(method, self))
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True), IDTokenForCode(keys, realm)])
        self.register_grant(RefreshTokenGrant, [IDTokenForRefresh(keys, realm)])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(TokenExchangeGrant)
        self.register_grant(JWTBearerGrant)
        for endpoint in (Revocation, Introspection, EndSession, UserInfo(store)):
            self.register_endpoint(endpoint)
        self.register_extension(_IssuerParameter(realm))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.store.save_tokens(issued_tokens(token, request))

    def create_oauth2_request(self, request: Mapping[str, str] | None) -> OAuth2Request:
        """The current Flask request, with ``request`` as its parameters when given.

        Pushed (PAR) and held sign-in requests pass their stored parameters.
        """
        oauth_request = super().create_oauth2_request(request)
        if isinstance(request, Mapping):
            oauth_request.payload = BasicOAuth2Payload(dict(request))
        return oauth_request
