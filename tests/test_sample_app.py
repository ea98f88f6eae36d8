"""The demo site as `make demo` runs it: no Okta org, the embedded mock server, a real HTTP server."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

import sample_app


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, object]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp = pytest.MonkeyPatch()
    for key in ("OKTA_ISSUER", "OKTA_DOMAIN", "OKTA_CLIENT_CONFIG"):
        mp.delenv(key, raising=False)
    mp.setenv("FLASK_RUN_PORT", str(port))
    app = sample_app.create_app()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", app
    server.shutdown()
    app.extensions["okta_mock_server"].stop()
    mp.undo()


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def test_demo_runs_against_the_embedded_mock_server(demo):
    origin, app = demo
    home = browser().get(origin + "/").text
    assert "embedded mock Okta server" in home
    assert "Sign in" in home


def test_demo_sign_in_profile_messages_and_sign_out(demo):
    origin, app = demo
    mock = app.extensions["okta_mock_server"]
    session = browser()
    login = session.get(origin + "/login?next=/messages", allow_redirects=False)
    callback = mock.login(login.headers["Location"], "newcomer")
    page = session.get(callback)
    assert page.url == origin + "/messages"
    assert 'id="api-status">200<' in page.text
    assert "Hello, newcomer!" in page.text

    profile = session.get(origin + "/profile").text
    assert "newcomer@example.com" in profile
    token = re.search(r'name="csrf_token" value="([^"]+)"', profile).group(1)
    signed_out = session.post(origin + "/logout", data={"csrf_token": token})
    assert signed_out.url == origin + "/"
    assert "Sign in" in signed_out.text


def test_demo_api_answers_without_and_with_a_token(demo):
    origin, _ = demo
    assert browser().get(origin + "/api/public").json() == {"message": "Anyone can read this."}
    refused = browser().get(origin + "/api/messages")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
