"""Thread-safe in-memory state of the mock Okta authorization server."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from ._mock_models import AuthorizationCode, IssuedToken, MockClient, MockUser

PUSHED_REQUEST_TTL = 60
PENDING_SIGN_IN_TTL = 600
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


class _ExpiringMap:
    """Single-use values that expire after a fixed number of seconds."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Any]] = {}

    def put(self, value: Any) -> str:
        key = secrets.token_urlsafe(24)
        self._items[key] = (time.time() + self.ttl, value)
        return key

    def take(self, key: str) -> Any | None:
        expires_at, value = self._items.pop(key, (0.0, None))
        return value if time.time() < expires_at else None


class Store:
    """Clients, users, codes, tokens and pending requests, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clients: dict[str, MockClient] = {}
        self._users: dict[str, MockUser] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._pushed = _ExpiringMap(PUSHED_REQUEST_TTL)
        self._pending = _ExpiringMap(PENDING_SIGN_IN_TTL)
        self._used_jtis: set[tuple[str, str]] = set()

    # clients and users

    def add_client(self, client: MockClient) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def client(self, client_id: str) -> MockClient | None:
        with self._lock:
            return self._clients.get(client_id)

    def set_user(self, user: MockUser) -> None:
        with self._lock:
            self._users[user.username] = user

    def user(self, username: str) -> MockUser:
        """The user with this username, created on first sign-in."""
        with self._lock:
            return self._users.setdefault(username, MockUser(username))

    def user_by_sub(self, sub: str) -> MockUser | None:
        with self._lock:
            return next((user for user in self._users.values() if user.sub == sub), None)

    # authorization codes

    def save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def redeem_code(self, value: str, client_id: str) -> AuthorizationCode | None:
        """Mark a code used and return it; a replayed code revokes its tokens."""
        with self._lock:
            code = self._codes.get(value)
            if code is None or code.client_id != client_id:
                return None
            if code.used:
                self._revoke_family(code.family)
                return None
            code.used = True
            return code if time.time() < code.expires_at else None

    # tokens

    def save_tokens(self, tokens: list[IssuedToken]) -> None:
        with self._lock:
            self._tokens.update((token.value, token) for token in tokens)

    def find_token(self, value: str, kind: str | None = None) -> IssuedToken | None:
        with self._lock:
            token = self._tokens.get(value)
        if token is None or (kind and token.kind != kind):
            return None
        return token

    def active_refresh_token(self, value: str) -> IssuedToken | None:
        """The refresh token if usable; replaying a rotated one revokes its family."""
        with self._lock:
            token = self.find_token(value, "refresh_token")
            if token is None:
                return None
            if token.rotated:
                self._revoke_family(token.family)
                return None
            return None if token.revoked or token.is_expired() else token

    def rotate(self, token: IssuedToken) -> bool:
        """Retire a refresh token after use; False (and family revoked) if already used."""
        with self._lock:
            if token.rotated:
                self._revoke_family(token.family)
                return False
            token.rotated = True
            return True

    def revoke(self, token: IssuedToken) -> None:
        """Revoke an access token, or a refresh token with everything it issued."""
        with self._lock:
            if token.kind == "refresh_token":
                self._revoke_family(token.family)
            token.revoked = True

    def _revoke_family(self, family: str) -> None:
        for token in self._tokens.values():
            if token.family == family:
                token.revoked = True

    # pushed authorization requests and pending sign-ins

    def push_request(self, params: dict[str, str]) -> str:
        with self._lock:
            return REQUEST_URI_PREFIX + self._pushed.put(params)

    def take_pushed_request(self, request_uri: str, client_id: str) -> dict[str, str] | None:
        """The pushed parameters, once, if the request_uri is fresh and the client's."""
        if not request_uri.startswith(REQUEST_URI_PREFIX):
            return None
        with self._lock:
            params = self._pushed.take(request_uri.removeprefix(REQUEST_URI_PREFIX))
        return params if params and params.get("client_id") == client_id else None

    def hold_sign_in(self, params: dict[str, str]) -> str:
        with self._lock:
            return self._pending.put(params)

    def take_sign_in(self, pending_id: str) -> dict[str, str] | None:
        with self._lock:
            return self._pending.take(pending_id)

    # replay protection

    def first_use(self, issuer: str, jti: str) -> bool:
        """Record a JWT id; False if this issuer used it before."""
        with self._lock:
            if (issuer, jti) in self._used_jtis:
                return False
            self._used_jtis.add((issuer, jti))
            return True
