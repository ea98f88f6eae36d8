"""Okta-shaped tokens minted by the mock authorization server."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidScopeError,
    OAuth2Request,
    scope_to_list,
)
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from ._mock_dpop import InvalidDPoPProof, bound_key
from ._mock_keys import KeyRing, read_claims
from ._mock_models import IssuedToken, MockClient, MockUser

ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 7 * 24 * 3600
ID_JAG_TTL = 300
ID_JAG_TYP = "oauth-id-jag+jwt"

ENDPOINT_PATHS = {
    "discovery": "/.well-known/openid-configuration",
    "authorize": "/v1/authorize",
    "token": "/v1/token",
    "keys": "/v1/keys",
    "userinfo": "/v1/userinfo",
    "revoke": "/v1/revoke",
    "introspect": "/v1/introspect",
    "logout": "/v1/logout",
    "par": "/v1/par",
}


@dataclass
class Realm:
    """Where the mock lives: its base URL and the issuer's shape.

    By default Okta's layout: a custom authorization server at ``/oauth2/{auth_server_id}``
    with its endpoints below the issuer, or, for ``auth_server_id="org"``, the org
    authorization server (the base URL is the issuer, the endpoints are under ``/oauth2/v1/``).
    ``issuer_path`` (``""``, ``/realms/x``, ``/{tenant}/v2.0``…) puts the issuer there
    instead, with the endpoints below it. ``require_par``: authorization requests must be pushed.
    """

    auth_server_id: str = "default"
    audience: str = "api://default"
    base_url: str | None = None
    issuer_path: str | None = None
    require_par: bool = False
    #: The ``token_type`` of DPoP-bound access tokens (RFC 6749 §5.1: case-insensitive).
    dpop_token_type: str = "DPoP"

    def __post_init__(self) -> None:
        if self.issuer_path is not None and self.issuer_path != "" and (
                not self.issuer_path.startswith("/") or self.issuer_path.endswith("/")):
            raise ValueError(f"issuer_path must be empty or start, and not end, with '/': {self.issuer_path!r}")

    @property
    def is_okta_org_server(self) -> bool:
        return self.issuer_path is None and self.auth_server_id == "org"

    @property
    def path(self) -> str:
        """The issuer's path on the base URL."""
        if self.issuer_path is not None:
            return self.issuer_path
        return "" if self.is_okta_org_server else f"/oauth2/{self.auth_server_id}"

    @property
    def endpoints_path(self) -> str:
        """The path the endpoints (all but discovery) live under."""
        return "/oauth2" if self.is_okta_org_server else self.path

    @property
    def issuer(self) -> str:
        if self.base_url is None:
            raise RuntimeError("the mock Okta server is not started")
        return self.base_url + self.path

    def route(self, endpoint: str) -> str:
        """An endpoint's path on the base URL."""
        return (self.path if endpoint == "discovery" else self.endpoints_path) + ENDPOINT_PATHS[endpoint]

    def url(self, endpoint: str) -> str:
        if self.base_url is None:
            raise RuntimeError("the mock Okta server is not started")
        return self.base_url + self.route(endpoint)


class TokenMinter:
    """Signs access tokens and ID-JAGs, and verifies tokens it signed."""

    def __init__(self, keys: KeyRing, realm: Realm) -> None:
        self.keys = keys
        self.realm = realm

    def generate(
        self,
        grant_type: str,
        client: MockClient,
        user: MockUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
        *,
        authentication: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Authlib's token generator hook; lifetimes are fixed, so ``expires_in`` is ignored.

        A refresh token is issued only when ``offline_access`` is granted.
        ``authentication`` (``auth_time``, ``acr``) goes into the access token.
        """
        granted = client.get_allowed_scope(scope)
        if granted is None:
            raise InvalidScopeError()
        refresh = include_refresh_token and "offline_access" in scope_to_list(granted)
        return self.bearer(client, user, granted, refresh=refresh, authentication=authentication)

    def bearer(
        self,
        client: MockClient,
        user: MockUser | None,
        scope: str,
        *,
        audience: str | None = None,
        refresh: bool = False,
        authentication: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A token response with a JWT access token (and maybe a refresh token).

        The access token is DPoP-bound (``cnf.jkt``, ``token_type: DPoP``) when the request proved a key.
        """
        jkt = bound_key()
        if jkt is None and client.dpop_bound_access_tokens:
            raise InvalidDPoPProof("The DPoP proof JWT header is missing.")
        token: dict[str, Any] = {
            "token_type": self.realm.dpop_token_type if jkt else "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "access_token": self.access_token(client, user, scope, audience, jkt, authentication),
            "scope": scope,
        }
        if refresh:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def access_token(self, client: MockClient, user: MockUser | None, scope: str, audience: str | None,
                     jkt: str | None = None, authentication: dict[str, Any] | None = None) -> str:
        """An Okta-shaped JWT; with a user's sign-in, its ``auth_time`` and ``acr`` (RFC 9068 2.2.1)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "ver": 1,
            "jti": "AT." + secrets.token_urlsafe(24),
            "iss": self.realm.issuer,
            "aud": audience or self.realm.audience,
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL,
            "cid": client.client_id,
            "scp": scope_to_list(scope) or [],
            "sub": user.username if user else client.client_id,
        }
        if jkt:
            claims["cnf"] = {"jkt": jkt}
        if user:
            claims["uid"] = user.sub
            if user.groups:
                claims["groups"] = list(user.groups)
            claims.update({k: v for k, v in (authentication or {}).items() if v is not None})
        return self.keys.sign(claims)

    def id_jag(self, client: MockClient, user: MockUser, audience: str, scope: str) -> str:
        """An Identity Assertion JWT Authorization Grant for another authorization server."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.realm.issuer,
            "sub": user.sub,
            "aud": audience,
            "client_id": client.client_id,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + ID_JAG_TTL,
        }
        if scope:
            claims["scope"] = scope
        return self.keys.sign(claims, {"typ": ID_JAG_TYP})

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of an unexpired JWT this server signed.

        :raises InvalidGrantError: for anything else.
        """
        registry = JWTClaimsRegistry(iss={"essential": True, "value": self.realm.issuer}, exp={"essential": True})
        try:
            claims = self.keys.verify(token)
            registry.validate(claims)
        except (JoseError, ValueError) as error:
            raise InvalidGrantError("The token was not issued by this server or has expired.") from error
        return claims


def issued_tokens(token: dict[str, Any], request: OAuth2Request) -> list[IssuedToken]:
    """Records of the tokens in a token response, linked to the grant they came from."""
    family, auth_time, acr = _lineage(request)
    common: dict[str, Any] = {
        "client": request.client,
        "user": request.user,
        "scope": token.get("scope") or "",
        "family": family,
        "auth_time": auth_time,
        "jkt": bound_key(),
        "acr": acr,
    }
    claims = read_claims(token["access_token"])
    access = IssuedToken(
        token["access_token"], "access_token", claims=claims, issued_at=claims["iat"], expires_at=claims["exp"],
        **common,
    )
    if "refresh_token" not in token:
        return [access]
    now = int(time.time())
    refresh = IssuedToken(
        token["refresh_token"], "refresh_token", issued_at=now, expires_at=now + REFRESH_TOKEN_TTL, **common
    )
    return [access, refresh]


def _lineage(request: OAuth2Request) -> tuple[str, int | None, str | None]:
    """The token family, sign-in time and level inherited from a code or refresh token."""
    code, refresh_token = request.authorization_code, request.refresh_token
    if code is not None:
        return code.family, code.get_auth_time(), code.get_acr()
    if refresh_token is not None:
        return refresh_token.family, refresh_token.auth_time, refresh_token.acr
    return secrets.token_hex(8), None, None
