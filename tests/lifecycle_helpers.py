"""Helpers for token-lifecycle tests: sign in with a refresh token, age the tokens."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from flask_okta_client.sessions.storage import SignedInUser

OFFLINE_SCOPES = "openid profile email offline_access"


def stored_user(app: Flask, client: FlaskClient) -> SignedInUser | None:
    with app.test_request_context(), client.session_transaction() as session:
        return app.extensions["okta"].store.load(session)


def change_stored_user(app: Flask, client: FlaskClient, **changes: Any) -> None:
    with app.test_request_context(), client.session_transaction() as session:
        store = app.extensions["okta"].store
        store.save(session, replace(store.load(session), **changes))


def expire_access_token(app: Flask, client: FlaskClient) -> None:
    change_stored_user(app, client, expires_at=time.time() - 5)


def share_cookies(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)
