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
#: The most values an expiring map holds: a flood of page loads drops the oldest rather than grow it.
MAX_HELD = 10_000
#: How long a used or expired code is remembered, so that its replay still revokes its tokens.
CODE_REPLAY_WINDOW = 600
#: How long a JWT id without a known expiry (a DPoP proof's) is remembered.
JTI_RETENTION = 3600
#: Expired tokens and used assertion ids are swept out at most this often (seconds).
SWEEP_INTERVAL = 60


class _ExpiringMap:
    """Single-use values that expire after a fixed number of seconds.

    With one lifetime for all, insertion order is expiry order: each ``put``
    drops expired values from the front, and the oldest beyond ``MAX_HELD``.
    """

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Any]] = {}

    def put(self, value: Any) -> str:
        now = time.time()
        self.purge(now, room_for=1)
        key = secrets.token_urlsafe(24)
        self._items[key] = (now + self.ttl, value)
        return key

    def purge(self, now: float, room_for: int = 0) -> None:
        """Drop expired values, and the oldest until ``room_for`` more fit under ``MAX_HELD``."""
        items = self._items
        while items and (len(items) + room_for > MAX_HELD or items[next(iter(items))][0] <= now):
            del items[next(iter(items))]

    def take(self, key: str) -> Any | None:
        expires_at, value = self._items.pop(key, (0.0, None))
        return value if time.time() < expires_at else None

    def __len__(self) -> int:
        return len(self._items)


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
        self._used_jtis: dict[tuple[str, str], float] = {}  # → when the assertion expires
        self._next_sweep = 0.0

    def held(self) -> dict[str, int]:
        """How many codes, tokens, pushed requests, pending sign-ins and used assertion ids are held,
        after sweeping out what expired."""
        with self._lock:
            self._sweep(force=True)
            return {"codes": len(self._codes), "tokens": len(self._tokens), "pushed": len(self._pushed),
                    "pending": len(self._pending), "jtis": len(self._used_jtis)}

    def _sweep(self, force: bool = False) -> None:
        """Forget what expired: codes past their replay window, tokens, pushed requests, pending
        sign-ins and assertion ids. At most once per ``SWEEP_INTERVAL`` unless ``force``d
        (the caller holds the lock)."""
        now = time.time()
        if now < self._next_sweep and not force:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        self._pushed.purge(now)
        self._pending.purge(now)
        self._codes = {k: c for k, c in self._codes.items() if c.expires_at + CODE_REPLAY_WINDOW > now}
        self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        self._used_jtis = {k: exp for k, exp in self._used_jtis.items() if exp > now}

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
            self._sweep()
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
            self._sweep()
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

    def first_use(self, issuer: str, jti: str, expires_at: float | None = None) -> bool:
        """Record a JWT id until ``expires_at`` (default: ``JTI_RETENTION`` from now);
        False if this issuer used it before."""
        with self._lock:
            self._sweep()
            if (issuer, jti) in self._used_jtis:
                return False
            self._used_jtis[(issuer, jti)] = time.time() + JTI_RETENTION if expires_at is None else expires_at
            return True
