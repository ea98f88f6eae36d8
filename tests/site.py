"""A small Flask site using the extension, and a browser-like sign-in through the mock server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, jsonify, session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_okta_client import (
    OktaClient,
    bearer_token_required,
    current_token,
    current_user,
    login_required,
)
from flask_okta_client.testing import MockOktaServer


def make_site(settings: dict[str, Any], okta: OktaClient | None = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "test-secret-key-0123456789abcdefghij", "OKTA_USE_PAR": "never", **settings})
    app.config.update(config)
    (okta or OktaClient()).init_app(app)

    @app.get("/")
    def home() -> str:
        return f"home {current_user.sub}" if current_user.is_authenticated else "home anonymous"

    @app.get("/protected")
    @login_required
    def protected() -> str:
        return f"protected for {current_user.sub}"

    @app.get("/staff")
    @login_required(groups=["Staff"])
    def staff() -> str:
        return "staff only"

    @app.get("/api/messages")
    @bearer_token_required(scopes=["messages:read"])
    def messages() -> Any:
        return jsonify(sub=current_token["sub"])

    return app


def add_cart_views(app: Flask) -> None:
    """``/remember`` puts something in the session that is not the sign-in; ``/cart`` shows it."""

    @app.get("/remember")
    def remember() -> str:
        session["cart"] = "3 apples"
        return "ok"

    @app.get("/cart")
    def cart() -> str:
        return session.get("cart", "empty")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def local(url: str) -> str:
    """``http://localhost/a?b`` → ``/a?b`` for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_login(client: FlaskClient, next_url: str = "/protected", **params: str) -> str:
    response = client.get("/login", query_string={"next": next_url, **params})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sign_in(client: FlaskClient, server: MockOktaServer, username: str = "alice",
            next_url: str = "/protected", **params: str) -> TestResponse:
    """The whole browser round trip; the site's answer to the callback."""
    callback = server.login(start_login(client, next_url, **params), username)
    return client.get(local(callback))


def csrf_token(client: FlaskClient, logout_path: str = "/logout") -> str:
    """The CSRF token of the sign-out form."""
    page = client.get(logout_path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "no sign-out form"
    return found.group(1)


def app_for_client(server: MockOktaServer, client: Any, settings: dict[str, Any] | None = None) -> Flask:
    """A bare app with the extension, registered at ``server`` as ``client`` (a MockClient)."""
    app = Flask(__name__)
    app.config.update(OKTA_ISSUER=server.issuer, OKTA_CLIENT_ID=client.client_id, SECRET_KEY="test-secret-key-0123456789abcdefghij")
    if client.client_secret:
        app.config["OKTA_CLIENT_SECRET"] = client.client_secret
    app.config.update(settings or {})
    OktaClient(app)
    server.reset()
    return app
