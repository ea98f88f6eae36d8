"""The site ``benchmarks/load.py`` serves with gunicorn (``load_site:app``); settings come from the environment.

``/protected`` answers the user and a short hash of the access token the request
ended with, so the load test sees every refresh; ``/public`` reads no sign-in.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from flask_okta_client import OktaClient, current_user, login_required


def create_app() -> Flask:
    app = Flask("load_site")
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config.update({key: value for key, value in os.environ.items() if key.startswith("OKTA_")})
    OktaClient(app)

    @app.get("/public")
    def public() -> ResponseReturnValue:
        return jsonify(message="anyone")

    @app.get("/protected")
    @login_required
    def protected() -> ResponseReturnValue:
        token = hashlib.sha256(current_user.access_token.encode()).hexdigest()[:16]
        return jsonify(sub=current_user.sub, token=token)

    return app


app = create_app()
