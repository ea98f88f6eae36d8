"""The decorators protect ``async def`` views too (Flask runs them through asgiref)."""

from __future__ import annotations

import asyncio

import pytest
from flask import Flask, jsonify

from flask_okta_client import (
    OktaClient,
    bearer_token_required,
    current_token,
    current_user,
    login_required,
)


@pytest.fixture
def app(okta_settings) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret-key-0123456789abcdefghij", **okta_settings)
    OktaClient(app)

    @app.get("/reports")
    @login_required(groups=["Finance"])
    async def reports() -> str:
        await asyncio.sleep(0)
        return f"reports for {current_user.email}"

    @app.get("/api/messages")
    @bearer_token_required(scopes=["messages:read"])
    async def messages():
        await asyncio.sleep(0)
        return jsonify(sub=current_token["sub"])

    return app


def test_signed_out_browser_is_sent_to_sign_in(client):
    response = client.get("/reports", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/reports")


def test_signed_in_user_with_the_group_gets_the_async_view(client, okta_sign_in):
    okta_sign_in(client, "ann", groups=["Finance"])
    response = client.get("/reports")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "reports for ann@example.com"


def test_signed_in_user_without_the_group_is_refused(client, okta_sign_in):
    okta_sign_in(client, "bob", groups=["Staff"])
    assert client.get("/reports").status_code == 403


def test_bearer_token_reaches_the_async_view(client, okta_access_token):
    token = okta_access_token(scopes=["messages:read"], username="carol")
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == {"sub": "carol@example.com"}


def test_bearer_token_without_the_scope_is_refused_before_the_async_view(client, okta_access_token):
    token = okta_access_token(scopes=["profile"])
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
