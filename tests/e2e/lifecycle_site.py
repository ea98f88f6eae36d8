"""A small site for the token-lifecycle e2e tests: refresh, token exchange and cross-app access.

It is served on the shared e2e origin (``Site.serving``, see ``tests/e2e/site.py``) so the
redirect URI registered for ``web-client`` works, and asks for ``offline_access`` with
``prompt=consent``: oidc-provider issues a refresh token only then.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask, jsonify
from flask.testing import FlaskClient

from flask_okta_client import OktaClient, current_user
from tests.e2e.provider import OidcProvider

DOWNSTREAM_AUDIENCE = "api://downstream"
SESSION_COOKIE = "okta_session"  # the sign-in cookie


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded without checking its signature."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_summary(token: str) -> dict[str, Any]:
    """What the views show of a token: its ``jti`` (JWTs) and a hash of it."""
    summary: dict[str, Any] = {"sha256": hashlib.sha256(token.encode()).hexdigest()}
    if token.count(".") == 2:
        summary["jti"] = unverified_claims(token).get("jti")
    return summary


def create_lifecycle_app(provider: OidcProvider, **config: Any) -> Flask:
    """The lifecycle site for ``web-client``; ``config`` adds or overrides settings."""
    client = provider.clients["web"]
    app = Flask(__name__)  # its own root: the packaged error pages, not the sample site's templates
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        OKTA_ISSUER=provider.issuer,
        OKTA_CLIENT_ID=client["client_id"],
        OKTA_CLIENT_SECRET=client["client_secret"],
        OKTA_SCOPES="openid profile email offline_access",
        OKTA_PROMPT="consent",
        OKTA_POST_LOGOUT_REDIRECT_URI=provider.post_logout_redirect_uri,
    )
    app.config.update(config)
    okta = OktaClient(app)

    @app.get("/protected")
    @okta.login_required
    def protected() -> Any:
        return jsonify(sub=current_user.sub, access_token=token_summary(current_user.access_token))

    @app.get("/downstream")
    @okta.token_exchange_required(audience=DOWNSTREAM_AUDIENCE, scope="openid")
    def downstream() -> Any:
        return jsonify(unverified_claims(okta.exchanged_token(DOWNSTREAM_AUDIENCE)))

    @app.get("/cross-app")
    @okta.token_exchange_required(audience=provider.issuer, target_issuer=provider.issuer)
    def cross_app() -> Any:
        return jsonify(token=okta.exchanged_token(provider.issuer))

    return app


def _session_cookie(browser: requests.Session) -> Any:
    matches = [cookie for cookie in browser.cookies if cookie.name == SESSION_COOKIE]
    assert len(matches) <= 1, f"several {SESSION_COOKIE!r} cookies: {matches}"
    return matches[0] if matches else None


def copy_session_cookie(source: requests.Session, target: requests.Session) -> None:
    """Give ``target`` the session cookie ``source`` holds (the same browser in another tab)."""
    cookie = _session_cookie(source)
    assert cookie is not None, "no session cookie to copy"
    existing = _session_cookie(target)
    if existing is not None:
        target.cookies.clear(existing.domain, existing.path, existing.name)
    target.cookies.set_cookie(copy.copy(cookie))


@contextmanager
def flask_client_sharing_cookie(app: Flask, browser: requests.Session) -> Iterator[FlaskClient]:
    """A Flask test client holding ``browser``'s session cookie; what it changes goes back to ``browser``."""
    cookie = _session_cookie(browser)
    client = app.test_client()
    if cookie is not None:
        client.set_cookie(SESSION_COOKIE, cookie.value)
    yield client
    changed = client.get_cookie(SESSION_COOKIE)
    if cookie is None:
        assert changed is None, "the browser had no session to change"
    elif changed is None:
        browser.cookies.clear(cookie.domain, cookie.path, cookie.name)
    else:
        cookie.value = changed.value
