"""Helpers for token-lifecycle tests: sign in with a refresh token, age the tokens."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from flask_okta_client.sessions.storage import SignedInUser
from flask_okta_client.testing.tokens import set_sign_in_cookie

OFFLINE_SCOPES = "openid profile email offline_access"


def with_cookies_of(app: Flask, client: FlaskClient) -> Any:
    """A request context of ``app`` carrying the cookies ``client`` holds."""
    header = "; ".join(f"{cookie.key}={cookie.value}" for cookie in client._cookies.values())
    return app.test_request_context(headers={"Cookie": header} if header else {})


def stored_user(app: Flask, client: FlaskClient) -> SignedInUser | None:
    with with_cookies_of(app, client):
        state = app.extensions["okta"]
        return state.store.load(state.sign_in_cookie())


def change_stored_user(app: Flask, client: FlaskClient, **changes: Any) -> None:
    with with_cookies_of(app, client):
        state = app.extensions["okta"]
        cookie = state.sign_in_cookie()
        state.store.save(cookie, replace(state.store.load(cookie), **changes))
    if cookie.changed:
        set_sign_in_cookie(client, cookie.value)


def expire_access_token(app: Flask, client: FlaskClient) -> None:
    change_stored_user(app, client, expires_at=time.time() - 5)


def share_cookies(source: FlaskClient, target: FlaskClient) -> None:
    """Give ``target`` every cookie ``source`` holds (a copied browser profile)."""
    for cookie in list(target._cookies.values()):
        target.delete_cookie(cookie.key, domain=cookie.domain, path=cookie.path)
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
