"""In-memory models of the mock Okta authorization server (clients, users, grants)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, list_to_scope, scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE, JWT_BEARER)

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none")
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")

STANDARD_SCOPES = ("openid", "profile", "email", "address", "phone", "groups", "offline_access")

#: Okta's identifier of the identity provider that signed the user in.
IDP_ID = "00o0mockidp00000000"
#: Okta's authentication context classes the mock's sign-in page offers, weakest first,
#: with the authentication methods (RFC 8176) each stands for.
ACR_PASSWORD = "urn:okta:loa:1fa:pwd"
ACR_TWO_FACTOR = "urn:okta:loa:2fa:any"
AUTHENTICATION_LEVELS = {ACR_PASSWORD: ("pwd",), ACR_TWO_FACTOR: ("pwd", "otp", "mfa")}


def methods_of(acr: str | None) -> list[str]:
    """The ``amr`` of a sign-in at level ``acr``."""
    return list(AUTHENTICATION_LEVELS.get(acr or ACR_PASSWORD, ("pwd",)))


@dataclass
class MockClient(ClientMixin):
    """An OAuth client registered with the mock server.

    ``client_secret=None`` makes a public client (auth method ``none``) unless
    ``jwks`` is given, which makes a ``private_key_jwt`` client.
    """

    client_id: str
    client_secret: str | None = None
    redirect_uris: Sequence[str] = ()
    post_logout_redirect_uris: Sequence[str] = ()
    token_endpoint_auth_method: str | None = None
    jwks: dict[str, Any] | None = None
    grant_types: Sequence[str] | None = None
    scopes: Sequence[str] = STANDARD_SCOPES
    #: Okta's "Require Demonstrating Proof of Possession (DPoP) header in token requests".
    dpop_bound_access_tokens: bool = False

    def __post_init__(self) -> None:
        if self.token_endpoint_auth_method is None:
            self.token_endpoint_auth_method = self._default_auth_method()
        if self.grant_types is None:
            self.grant_types = self._default_grant_types()
        self._check_credentials()

    def _default_auth_method(self) -> str:
        if self.client_secret:
            return "client_secret_basic"
        return "private_key_jwt" if self.jwks else "none"

    def _default_grant_types(self) -> tuple[str, ...]:
        if self.is_public:
            return ("authorization_code", "refresh_token")
        return GRANT_TYPES

    def _check_credentials(self) -> None:
        method = self.token_endpoint_auth_method
        if method not in AUTH_METHODS:
            raise ValueError(f"unsupported token_endpoint_auth_method {method!r}")
        if method in SECRET_AUTH_METHODS and not self.client_secret:
            raise ValueError(f"{method} needs a client_secret")
        if method == "private_key_jwt" and not self.jwks:
            raise ValueError("private_key_jwt needs the client's public jwks")

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types or ()),
        }

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Return the requested scope, or None when any of it is not allowed."""
        requested = scope_to_list(scope) or []
        if not set(requested) <= set(self.scopes):
            return None
        return list_to_scope(requested) or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret:
            return False
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or ())


@dataclass
class MockUser:
    """A user of the mock: anyone who types a username on the sign-in page."""

    username: str
    groups: list[str] = field(default_factory=list)
    extra_claims: dict[str, Any] = field(default_factory=dict)

    @property
    def sub(self) -> str:
        """A stable Okta-style user id derived from the username."""
        return "00u" + hashlib.sha256(self.username.encode()).hexdigest()[:17]

    def claims(self) -> dict[str, Any]:
        """Profile claims for ID tokens and the userinfo endpoint."""
        claims: dict[str, Any] = {
            "sub": self.sub,
            "name": _display_name(self.username),
            "email": self.username if "@" in self.username else f"{self.username}@example.com",
            "preferred_username": self.username,
        }
        if self.groups:
            claims["groups"] = list(self.groups)
        return {**claims, **self.extra_claims}


def _display_name(username: str) -> str:
    local_part = username.split("@")[0]
    return " ".join(word.capitalize() for word in local_part.replace("_", ".").replace("-", ".").split(".") if word)


@dataclass(frozen=True)
class SignIn:
    """A sign-in on the mock page: who signed in, when, and how strongly (``acr``)."""

    user: MockUser
    auth_time: int
    acr: str = ACR_PASSWORD


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """A single-use, short-lived authorization code."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    sign_in: SignIn
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    family: str
    expires_at: float
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.sign_in.auth_time

    def get_acr(self) -> str:
        return self.sign_in.acr

    def get_amr(self) -> list[str]:
        return methods_of(self.sign_in.acr)


@dataclass
class IssuedToken(TokenMixin):
    """An access or refresh token issued by the mock.

    ``family`` links every token descended from one authorization, so a
    replayed refresh token or code can revoke them all.
    """

    value: str
    kind: str  # "access_token" or "refresh_token"
    client: MockClient
    user: MockUser | None
    scope: str
    issued_at: int
    expires_at: int
    family: str
    auth_time: int | None = None
    acr: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    #: The thumbprint of the DPoP key the token is bound to, if any.
    jkt: str | None = None
    revoked: bool = False
    rotated: bool = False

    def check_client(self, client: MockClient) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_at - self.issued_at

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked or self.rotated

    def get_user(self) -> MockUser | None:
        return self.user

    def get_client(self) -> MockClient:
        return self.client
