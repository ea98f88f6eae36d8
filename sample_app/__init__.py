"""The sample site: ``flask --app sample_app run``.

It reads ``OKTA_*`` and ``SECRET_KEY`` from the environment. With no Okta org
configured it starts the embedded mock Okta server, so a sign-in works at once.
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

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config.update(config or {})
    lookup = settings_lookup(app.config, os.environ)
    mock_issuer = None
    if not (lookup("OKTA_ISSUER") or lookup("OKTA_DOMAIN")):
        mock_issuer = start_mock_okta(app)
    OktaClient(app)

    @app.get("/")
    def home() -> str:
        return render_template("home.html", mock_issuer=mock_issuer)

    @app.get("/protected")
    @login_required
    def protected() -> str:
        return render_template("protected.html")

    @app.get("/api/public")
    def api_public() -> ResponseReturnValue:
        return jsonify(message="Anyone can read this.")

    @app.get("/api/messages")
    @bearer_token_required(scopes=["messages:read"])
    def api_messages() -> ResponseReturnValue:
        return jsonify(messages=[
            {"id": 1, "text": f"Hello, {current_token['sub']}!"},
            {"id": 2, "text": "This answer needed an access token with scope messages:read."},
        ])

    @app.get("/messages")
    @login_required
    def messages() -> str:
        """Calls this site's own API with the signed-in user's access token, server to server."""
        response = requests.get(
            url_for("api_messages", _external=True),
            headers={"Authorization": f"Bearer {current_user.access_token}"},
            timeout=5,
        )
        return render_template("messages.html", status=response.status_code, body=response.json())

    return app
