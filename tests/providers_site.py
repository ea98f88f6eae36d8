"""A site with two providers: customers at the default registration ("okta"), staff at a second
mock issuer ("staff"), and a browser-like sign-in through either."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, jsonify
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_okta_client import (
    OktaClient,
    bearer_token_required,
    current_token,
    current_user,
    login_required,
    provider_user,
)
from flask_okta_client.testing import MockClient, MockOktaServer
from tests.site import local, make_site

STAFF_ORIGINS = ("http://localhost",)


def add_staff_client(server: MockOktaServer) -> MockClient:
    """A client of ``server`` whose redirect URIs are the staff registration's routes."""
    return server.add_client(MockClient(
        "0oa-staff-" + secrets.token_hex(4), secrets.token_urlsafe(24),
        redirect_uris=[f"{origin}/staff/authorization-code/callback" for origin in STAFF_ORIGINS],
        post_logout_redirect_uris=[f"{origin}/staff/logout/callback" for origin in STAFF_ORIGINS],
    ))


def staff_settings(server: MockOktaServer, client: MockClient) -> dict[str, Any]:
    return {"STAFF_ISSUER": server.issuer, "STAFF_CLIENT_ID": client.client_id,
            "STAFF_CLIENT_SECRET": client.client_secret, "STAFF_USE_PAR": "never",
            "STAFF_AUDIENCE": "api://staff"}


def make_two_provider_site(settings: dict[str, Any], **config: Any) -> Flask:
    """The test site (customers at the default registration) with a ``staff`` registration and
    pages for it."""
    app = make_site(settings, **config)
    staff = OktaClient(app, name="staff")

    @app.get("/who")
    def who() -> Any:
        return jsonify(provider=current_user.provider, sub=current_user.sub,
                       okta=provider_user().sub, staff=staff.user.sub)

    @app.get("/staff-area")
    @login_required(provider="staff")
    def staff_area() -> str:
        return f"staff area for {current_user.provider} {current_user.sub}"

    @app.get("/staff-bound")
    @staff.login_required
    def staff_bound() -> str:
        return f"staff bound for {current_user.provider}"

    @app.get("/staff-admins")
    @staff.login_required(groups=["Admins"])
    def staff_admins() -> str:
        return "admins"

    @app.post("/staff-refresh")
    @staff.login_required
    def staff_refresh() -> Any:
        refreshed = staff.refresh()
        return jsonify(provider=refreshed.provider, staff=refreshed.access_token, okta=provider_user().access_token)

    @app.get("/api/staff")
    @bearer_token_required(provider="staff", scopes=["openid"])
    def staff_api() -> Any:
        return jsonify(sub=current_token["sub"])

    @app.get("/api/staff-who")
    @bearer_token_required(provider="staff", scopes=["openid"])
    def staff_api_who() -> Any:
        return jsonify(provider=current_user.provider, sub=current_user.sub)

    @app.get("/api/customers")
    @bearer_token_required(scopes=["openid"])
    def customers_api() -> Any:
        return jsonify(sub=current_token["sub"])

    return app


def start_staff_login(client: FlaskClient, next_url: str = "/staff-area") -> str:
    response = client.get("/staff/login", query_string={"next": next_url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def staff_sign_in(client: FlaskClient, server: MockOktaServer, username: str = "sam",
                  next_url: str = "/staff-area") -> TestResponse:
    return client.get(local(server.login(start_staff_login(client, next_url), username)))

