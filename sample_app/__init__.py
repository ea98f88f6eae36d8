"""The sample site: ``flask --app sample_app run``.

It reads ``OKTA_*`` and ``SECRET_KEY`` from the environment. With no Okta org
configured it starts the embedded mock Okta server, so a sign-in works at once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, render_template

from flask_okta_client import OktaClient, login_required
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

    return app
