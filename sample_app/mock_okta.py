"""Starts the embedded mock Okta server for the sample site when no org is configured."""

from __future__ import annotations

import os

from flask import Flask

from flask_okta_client.testing.mock_server import MockClient, MockOktaServer

CLIENT_ID = "0oa-sample-app"
SCOPES = ("openid", "profile", "email", "offline_access", "messages:read")


def start_mock_okta(app: Flask) -> str:
    """Start the mock server, point the app at it and print a banner; the issuer."""
    port = os.environ.get("FLASK_RUN_PORT", "5000")
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    client_secret = os.urandom(24).hex()
    server = MockOktaServer()
    server.add_client(
        MockClient(
            client_id=CLIENT_ID,
            client_secret=client_secret,
            redirect_uris=[f"{origin}/authorization-code/callback" for origin in origins],
            post_logout_redirect_uris=[f"{origin}/logout/callback" for origin in origins],
            scopes=SCOPES,
        )
    )
    server.start()
    app.config.update(OKTA_ISSUER=server.issuer, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_SECRET=client_secret)
    app.config.setdefault("OKTA_SCOPES", " ".join(SCOPES))
    app.extensions["okta_mock_server"] = server
    print(
        "\n  No Okta org configured (OKTA_ISSUER is not set): using the embedded mock Okta server\n"
        f"  at {server.issuer}. Sign in with any username. Set OKTA_ISSUER, OKTA_CLIENT_ID and\n"
        "  OKTA_CLIENT_SECRET to use your own Okta org.\n",
        flush=True,
    )
    return server.issuer
