"""The sample site: ``flask --app sample_app run``.

It reads ``OKTA_*``, ``SECRET_KEY`` and ``SAMPLE_API_URL`` from the environment.
With no Okta org configured (``OKTA_ISSUER`` absent, not empty) it starts the
embedded mock Okta server, so a sign-in works at once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import requests
from flask import Flask, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue

from flask_okta_client import (
    OktaClient,
    bearer_token_required,
    current_token,
    current_user,
    login_required,
)
from flask_okta_client.config import settings_lookup

from .mock_okta import start_mock_okta

#: Okta's authentication context class for any two factors (the mock server offers it too).
TWO_FACTORS = "urn:okta:loa:2fa:any"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config.update(config or {})
    app.config.setdefault("SAMPLE_API_URL", os.environ.get("SAMPLE_API_URL") or default_api_url())
    lookup = settings_lookup(app.config, os.environ)  # an empty OKTA_ISSUER is a ConfigError here
    mock_issuer = None
    if lookup("OKTA_ISSUER") is None and lookup("OKTA_DOMAIN") is None:
        mock_issuer = start_mock_okta(app)
    if not lookup("OKTA_SESSION_ENDPOINT"):  # the session page below shows it
        app.config["OKTA_SESSION_ENDPOINT"] = "/auth/session"
    if not lookup("OKTA_SESSION_ENDPOINT_TOKENS"):
        app.config["OKTA_SESSION_ENDPOINT_TOKENS"] = {"api": "access_token"}
    okta = OktaClient(app)

    @app.get("/")
    def home() -> str:
        return render_template("home.html", mock_issuer=mock_issuer)

    @app.get("/protected")
    @login_required
    def protected() -> str:
        return render_template("protected.html")

    @app.get("/payments")
    @login_required(acr_values=TWO_FACTORS, max_age=300)
    def payments() -> str:
        """Step-up: a sign-in with two factors in the last five minutes, or a new one."""
        return render_template("payments.html")

    @app.get("/session")
    def session_page() -> str:
        """A page whose script reads the session endpoint, as a same-origin front end does."""
        return render_template("session.html", endpoint=url_for("okta.session"))

    @app.get("/api/public")
    def api_public() -> ResponseReturnValue:
        return jsonify(message="Anyone can read this.")

    @app.get("/api/messages")
    @bearer_token_required(scopes=["messages:read"])
    def api_messages() -> ResponseReturnValue:
        return jsonify(messages=[
            # An introspected token may have no sub (RFC 7662): greet its client then.
            {"id": 1, "text": f"Hello, {current_token.get('sub') or current_token.get('client_id')}!"},
            {"id": 2, "text": "This answer needed an access token with scope messages:read."},
        ])

    @app.get("/messages")
    @login_required
    def messages() -> ResponseReturnValue:
        """Calls this site's own API at ``SAMPLE_API_URL`` (never a URL from the request's Host)
        with the signed-in user's access token, server to server, through ``okta.api_session()``:
        the token goes to that origin only, refreshed when due, with a DPoP proof when ``OKTA_DPOP`` is on."""
        url = app.config["SAMPLE_API_URL"]
        try:
            with okta.api_session(url) as api:
                response = api.get(url)
        except requests.RequestException:
            return render_template("messages.html", url=url, problem="could not be reached"), 502
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return render_template("messages.html", url=url, problem=f"answered {response.status_code}, not JSON"), 502
        scheme = current_user.stored.token_type
        return render_template("messages.html", url=url, status=response.status_code, body=body, scheme=scheme)

    return app


def default_api_url() -> str:
    """The API of this site as ``flask run`` serves it."""
    return f"http://127.0.0.1:{os.environ.get('FLASK_RUN_PORT', '5000')}/api/messages"
