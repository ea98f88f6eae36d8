"""Minting tokens that the extension accepts, for tests of protected views."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from flask.testing import FlaskClient

from ..sessions.cookie import SignInCookie, split
from ..sessions.storage import SignedInUser
from ..web.providers import provider_state
from ..web.user import User
from .mock_server import MockOktaServer

TEST_CLIENT_ID = "0oa-pytest-client"


def test_subject(username: str) -> str:
    """A stable Okta-like user id for ``username``."""
    return "00u" + hashlib.sha256(username.encode()).hexdigest()[:17]


class TestTokens:
    """Signs ID and access tokens with a :class:`MockOktaServer`'s keys."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: MockOktaServer, client_id: str = TEST_CLIENT_ID,
                 audience: str = "api://default") -> None:
        self.server = server
        self.client_id = client_id
        self.audience = audience

    def _base(self, lifetime: int) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.server.issuer, "iat": now, "exp": now + lifetime, "jti": secrets.token_hex(8)}

    def id_token(self, username: str = "tester", lifetime: int = 3600, *, client_id: str | None = None,
                 **claims: Any) -> str:
        defaults = {
            "sub": test_subject(username),
            "aud": client_id or self.client_id,
            "auth_time": int(time.time()),
            "name": username.title(),
            "email": f"{username}@example.com",
            "preferred_username": f"{username}@example.com",
        }
        return self.server.sign({**self._base(lifetime), **defaults, **claims})

    def access_token(self, scopes: list[str] | tuple[str, ...] = ("openid",), username: str = "tester",
                     lifetime: int = 3600, *, audience: str | None = None, **claims: Any) -> str:
        """An access token for ``audience`` (default: this object's, ``api://default`` unless given)."""
        defaults = {
            "aud": audience or self.audience,
            "sub": f"{username}@example.com",
            "uid": test_subject(username),
            "cid": self.client_id,
            "scp": list(scopes),
        }
        return self.server.sign({**self._base(lifetime), **defaults, **claims})

    def sign_in(self, client: FlaskClient, username: str = "tester", *, refresh_token: str | None = None,
                access_token_lifetime: int = 3600, provider: str | None = None, **claims: Any) -> User:
        """Store a sign-in for ``client`` as if it had completed the login flow, with tokens
        for the app's ``OKTA_CLIENT_ID`` and ``OKTA_AUDIENCE`` (those of registration ``provider``,
        which must sign in at this object's server; default: the default registration)."""
        state = provider_state(provider, client.application)
        config = state.config
        if config.issuer != self.server.issuer:
            raise ValueError(f"the provider {state.name!r} signs in at {config.issuer}, not at this server "
                             f"({self.server.issuer}): use TestTokens(<its mock server>)")
        stored = SignedInUser(
            id_token=self.id_token(username, client_id=config.client_id, **claims),
            access_token=self.access_token(username=username, lifetime=access_token_lifetime,
                                           audience=config.audience),
            refresh_token=refresh_token,
            expires_at=time.time() + access_token_lifetime,
            scope="openid profile email",
        )
        store_sign_in(client, stored, provider=state.name)
        return User(stored, state.name)


def store_sign_in(client: FlaskClient, stored: SignedInUser, provider: str | None = None) -> None:
    """Give ``client`` a new sign-in cookie of registration ``provider`` for ``stored`` (replacing
    any it had)."""
    state = provider_state(provider, client.application)
    with client.application.test_request_context():
        cookie = SignInCookie(None)
        state.store.save(cookie, stored)
        state.logouts.signed_in(cookie, stored)
    set_sign_in_cookie(client, cookie.value, provider=state.name)


def set_sign_in_cookie(client: FlaskClient, value: str | None, provider: str | None = None) -> None:
    """Make ``value`` the sign-in cookie of registration ``provider`` that ``client`` sends
    (``None``: none), split as the site splits it."""
    name = provider_state(provider, client.application).cookie.name
    for old in [c.key for c in client._cookies.values() if c.key == name or c.key.startswith(f"{name}.")]:
        client.delete_cookie(old)
    for key, chunk in split(name, value or "").items():
        if chunk:
            client.set_cookie(key, chunk)
