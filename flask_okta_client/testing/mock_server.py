"""An embedded mock Okta authorization server for demos and tests.

It serves Okta's URL layout for a custom authorization server (or the
org server, or another provider's issuer shape) on ``127.0.0.1`` (never anything else), signs real RS256 tokens, shows a
sign-in page that accepts any username, and has hooks for tests::

    with MockOktaServer() as okta:
        okta.add_client(MockClient("app", "secret", redirect_uris=["http://localhost/cb"]))
        callback_url = okta.login(authorize_url, "alice")
"""

from __future__ import annotations

import argparse
import re
import threading
from types import TracebackType
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ._mock_app import create_app
from ._mock_dpop import ProofChecker
from ._mock_keys import KeyRing
from ._mock_models import STANDARD_SCOPES, MockClient, MockUser
from ._mock_store import Store
from ._mock_tokens import Realm
from ._mock_traffic import Fault, LoggedRequest, Traffic

__all__ = ["LoggedRequest", "MockClient", "MockLoginError", "MockOktaServer", "MockUser"]

HOST = "127.0.0.1"
_POLL_INTERVAL = 0.05  # how soon stop() takes effect, in seconds
_PENDING_FIELD = re.compile(r'name="pending" value="([^"]+)"')


class MockLoginError(RuntimeError):
    """``login()`` did not reach a redirect back to the client."""


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs no request lines: their query strings can carry tokens (id_token_hint)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MockOktaServer:
    """A mock Okta custom authorization server running in a daemon thread."""

    def __init__(self, *, port: int = 0, auth_server_id: str = "default", audience: str = "api://default",
                 issuer_path: str | None = None, require_par: bool = False) -> None:
        """``auth_server_id="org"`` serves Okta's org authorization server (the issuer is the base URL);
        ``issuer_path`` serves another provider's shape (``""``, ``/realms/x``, ``/{tenant}/v2.0``);
        ``require_par`` refuses authorization requests that were not pushed (and says so in discovery)."""
        self._requested_port = port
        self._realm = Realm(auth_server_id=auth_server_id, audience=audience, issuer_path=issuer_path,
                            require_par=require_par)
        self._store = Store()
        self._keys = KeyRing()
        self._traffic = Traffic()
        self._dpop = ProofChecker(self._store.first_use)
        self._app = create_app(self._store, self._keys, self._realm, self._traffic, self._dpop)
        self._http: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> MockOktaServer:
        """Bind to 127.0.0.1 and serve in a daemon thread."""
        if self._http is not None:
            raise RuntimeError("the mock Okta server is already running")
        self._http = make_server(
            HOST, self._requested_port, self._app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._realm.base_url = f"http://{HOST}:{self._http.server_port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": _POLL_INTERVAL}, name="mock-okta", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._http is None or self._thread is None:
            return
        self._http.shutdown()
        self._thread.join()
        self._http.server_close()
        self._http = self._thread = None

    def __enter__(self) -> MockOktaServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # where it lives

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the mock Okta server is not started")
        return self._http.server_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the Okta "org URL")."""
        return f"http://{HOST}:{self.port}"

    @property
    def issuer(self) -> str:
        """``http://127.0.0.1:PORT/oauth2/{auth_server_id}`` (or the shape ``__init__`` chose)."""
        return self._realm.issuer

    def endpoint_url(self, endpoint: str) -> str:
        """The URL of an endpoint by name, e.g. ``"token"`` or ``"keys"``."""
        return self._realm.url(endpoint)

    # clients, users and keys

    def add_client(self, client: MockClient) -> MockClient:
        self._store.add_client(client)
        return client

    def set_user(self, username: str, groups: list[str] | None = None, **extra_claims: Any) -> MockUser:
        """Give a user groups and extra claims (for ID tokens and userinfo)."""
        user = MockUser(username, list(groups or []), extra_claims)
        self._store.set_user(user)
        return user

    def rotate_keys(self, keep_old: bool = True) -> str:
        """Sign with a new key from now on; return its kid. The old key stays published if ``keep_old``."""
        return self._keys.rotate(keep_old)

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """A JWT over ``claims``, signed with the current key (``headers`` override alg/kid/typ)."""
        return self._keys.sign(claims, headers)

    def public_jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set served at ``/v1/keys``."""
        return self._keys.public_jwks()

    # DPoP

    @property
    def require_dpop_nonce(self) -> bool:
        """Whether token requests with a DPoP proof need a nonce (True, like Okta)."""
        return self._dpop.require_nonce

    @require_dpop_nonce.setter
    def require_dpop_nonce(self, value: bool) -> None:
        self._dpop.require_nonce = value

    def rotate_dpop_nonce(self, keep_old: bool = True) -> str:
        """Issue a new token-endpoint nonce; earlier ones stay valid for ten minutes if ``keep_old``."""
        return self._dpop.nonces.rotate(keep_old)

    @property
    def dpop_signing_algorithms(self) -> tuple[str, ...]:
        """The proof algorithms listed in discovery and accepted: Okta's ``RS256`` … ``ES512``.
        Set it to act as another provider, e.g. ``("ES256", "Ed25519", "EdDSA")``."""
        return self._dpop.algorithms

    @dpop_signing_algorithms.setter
    def dpop_signing_algorithms(self, value: tuple[str, ...]) -> None:
        self._dpop.algorithms = tuple(value)

    @property
    def dpop_token_type(self) -> str:
        """The ``token_type`` bound tokens are issued with: ``DPoP``, or ``dpop`` for a provider
        that answers in lower case (RFC 6749 §5.1 makes the type case-insensitive)."""
        return self._realm.dpop_token_type

    @dpop_token_type.setter
    def dpop_token_type(self, value: str) -> None:
        self._realm.dpop_token_type = value

    @property
    def dpop_nonce(self) -> str:
        return self._dpop.nonces.current

    # traffic

    @property
    def request_log(self) -> list[LoggedRequest]:
        """The requests received since the last ``reset()`` (the newest 10,000), oldest first."""
        return self._traffic.log

    def count(self, endpoint: str) -> int:
        """How many requests an endpoint received ("keys", "token", "discovery", ...)."""
        return self._traffic.counts()[endpoint]

    def fail_next(
        self, endpoint: str, status: int | None = 503, body: str | None = None, delay: float = 0.0, times: int = 1,
        *, headers: dict[str, str] | None = None, reset: bool = False,
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` wait ``delay`` seconds, then fail.

        The failure has ``status``, ``body`` (a JSON error by default; HTML when it starts
        with ``<``) and extra ``headers``. ``status=429`` answers like Okta's rate limit:
        its ``E0000047`` body and ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining: 0`` and
        ``X-Rate-Limit-Reset`` (a minute ahead) unless ``headers`` say otherwise.
        ``reset=True`` resets the TCP connection instead of answering; ``status=None``
        answers normally after the delay. Faults queue up.
        """
        self._traffic.inject(endpoint, Fault(status, body, delay, times, dict(headers or {}), reset))

    def clear_faults(self) -> None:
        """Drop the faults not used yet; the request log and counts stay."""
        self._traffic.clear_faults()

    def held(self) -> dict[str, int]:
        """How many ``codes``, ``tokens``, ``pushed`` requests, ``pending`` sign-ins and used assertion
        ``jtis`` the server holds; expired ones are purged as new ones arrive."""
        return self._store.held()

    def reset(self) -> None:
        """Forget the request log and any pending faults."""
        self._traffic.reset()

    # the browser's part

    def login(self, authorize_url: str, username: str, *, acr: str | None = None) -> str:
        """Sign in as ``username`` through the sign-in page; return the redirect back to the client.

        ``acr`` picks the authentication level on the page (``urn:okta:loa:1fa:pwd``
        or ``urn:okta:loa:2fa:any``); by default, the first requested in
        ``acr_values`` that the mock knows, else a password. The redirect is not
        followed. Each call is a fresh browser, with no session, so it counts as
        two ``authorize`` requests.
        """
        if not authorize_url.startswith(self.endpoint_url("authorize") + "?"):
            raise ValueError(f"not an authorize URL of this server: {authorize_url}")
        with requests.Session() as browser:
            browser.trust_env = False  # never through a proxy: stay on loopback
            page = browser.get(authorize_url, allow_redirects=False, timeout=10)
            if page.is_redirect:
                return page.headers["Location"]
            found = _PENDING_FIELD.search(page.text)
            if page.status_code != 200 or found is None:
                raise MockLoginError(f"no sign-in form (HTTP {page.status_code})")
            answer = browser.post(
                self.endpoint_url("authorize"),
                data={"pending": found.group(1), "username": username, **({"acr": acr} if acr else {})},
                allow_redirects=False,
                timeout=10,
            )
        if not answer.is_redirect:
            raise MockLoginError(f"sign-in did not redirect (HTTP {answer.status_code})")
        return answer.headers["Location"]


def main(argv: list[str] | None = None) -> None:
    """Serve a mock Okta with one client until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run a mock Okta authorization server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth-server-id", default="default", help="'org' for Okta's org authorization server")
    parser.add_argument("--issuer-path", help="serve the issuer at this path instead (e.g. '', /realms/x)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", help="omit for a public client")
    parser.add_argument("--redirect-uri", action="append", default=[], required=True)
    parser.add_argument("--post-logout-redirect-uri", action="append", default=[])
    parser.add_argument("--scope", action="append", default=[],
                        help="a custom scope the client may get, besides the standard ones (repeat, or space-separate)")
    args = parser.parse_args(argv)
    server = MockOktaServer(port=args.port, auth_server_id=args.auth_server_id, issuer_path=args.issuer_path)
    custom = [scope for value in args.scope for scope in value.split()]
    server.add_client(MockClient(args.client_id, args.client_secret, args.redirect_uri, args.post_logout_redirect_uri,
                                 scopes=tuple(dict.fromkeys([*STANDARD_SCOPES, *custom]))))
    with server:
        print(f"Mock Okta issuer: {server.issuer}  (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
