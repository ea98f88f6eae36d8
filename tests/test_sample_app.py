"""The demo site as `make demo` runs it: no Okta org, the embedded mock server, a real HTTP server."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from werkzeug.serving import make_server

import sample_app


@contextmanager
def running_demo(config: dict[str, object] | None = None) -> Iterator[tuple[str, object]]:
    """The sample site with the embedded mock Okta, served on loopback; (origin, app)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp = pytest.MonkeyPatch()
    for key in ("OKTA_ISSUER", "OKTA_DOMAIN", "OKTA_CLIENT_CONFIG"):
        mp.delenv(key, raising=False)
    mp.setenv("FLASK_RUN_PORT", str(port))
    app = sample_app.create_app(config)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", app
    server.shutdown()
    app.extensions["okta_mock_server"].stop()
    mp.undo()


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, object]]:
    with running_demo() as running:
        yield running


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


def test_demo_payments_page_steps_up_to_two_factors(demo):
    origin, app = demo
    mock = app.extensions["okta_mock_server"]
    session = browser()
    login = session.get(origin + "/login?next=/protected", allow_redirects=False)
    session.get(mock.login(login.headers["Location"], "payer"))          # a password sign-in
    step_up = session.get(origin + "/payments", headers={"Accept": "text/html"}, allow_redirects=False)
    to_provider = session.get(origin + step_up.headers["Location"], allow_redirects=False)
    page = session.get(mock.login(to_provider.headers["Location"], "payer"))
    assert page.url == origin + "/payments"
    assert 'id="acr">urn:okta:loa:2fa:any<' in page.text


def test_demo_with_dpop_calls_its_api_with_a_bound_token_and_a_proof():
    with running_demo({"OKTA_DPOP": True}) as (origin, app):
        session = browser()
        login = session.get(origin + "/login?next=/messages", allow_redirects=False)
        page = session.get(app.extensions["okta_mock_server"].login(login.headers["Location"], "dora"))
    assert page.url == origin + "/messages"
    assert 'id="api-status">200<' in page.text
    assert "Authorization: DPoP" in page.text and "Hello, dora!" in page.text


def test_demo_api_answers_without_and_with_a_token(demo):
    origin, _ = demo
    assert browser().get(origin + "/api/public").json() == {"message": "Anyone can read this."}
    refused = browser().get(origin + "/api/messages")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def signed_in_browser(origin: str, app) -> requests.Session:
    session = browser()
    login = session.get(origin + "/login?next=/", allow_redirects=False)
    session.get(app.extensions["okta_mock_server"].login(login.headers["Location"], "newcomer"))
    return session


@pytest.fixture
def listener() -> Iterator[tuple[int, list[dict]]]:
    """A loopback HTTP server that records every request it gets (where a forged Host would send the token)."""
    seen: list[dict] = []

    def record(environ, start_response):
        seen.append({"path": environ["PATH_INFO"], "authorization": environ.get("HTTP_AUTHORIZATION")})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"error": "attacker", "error_description": "attacker text"}']

    server = make_server("127.0.0.1", 0, record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, seen
    server.shutdown()


def test_messages_ignores_a_forged_host_header(demo, listener):
    origin, app = demo
    port, seen = listener
    session = signed_in_browser(origin, app)
    page = session.get(origin + "/messages", headers={"Host": f"127.0.0.1:{port}"})
    assert seen == []  # the access token went nowhere else
    assert page.status_code == 200
    assert "Hello, newcomer!" in page.text and "attacker text" not in page.text


@pytest.mark.parametrize(("target", "expected"), [
    ("closed port", "could not be reached"),
    ("html page", "not JSON"),
])
def test_messages_explains_an_api_it_cannot_use(demo, target, expected):
    origin, app = demo
    session = signed_in_browser(origin, app)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/api/messages"
    configured = app.config["SAMPLE_API_URL"]
    app.config["SAMPLE_API_URL"] = closed if target == "closed port" else origin + "/"
    try:
        page = session.get(origin + "/messages")
    finally:
        app.config["SAMPLE_API_URL"] = configured
    assert page.status_code == 502
    assert expected in page.text


def test_an_empty_okta_issuer_is_a_configuration_error_not_the_mock(monkeypatch):
    from flask_okta_client import ConfigError

    monkeypatch.setenv("OKTA_ISSUER", "")
    with pytest.raises(ConfigError, match="OKTA_ISSUER"):
        sample_app.create_app()


def test_the_api_greets_an_introspected_token_without_sub(monkeypatch):
    for key in ("OKTA_ISSUER", "OKTA_DOMAIN", "OKTA_CLIENT_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    app = sample_app.create_app({"OKTA_TOKEN_VALIDATION": "introspect"})
    mock = app.extensions["okta_mock_server"]
    try:
        answer = {"active": True, "token_type": "Bearer", "scope": "messages:read", "client_id": "0oa-machine", "iss": mock.issuer,
                  "exp": int(time.time()) + 600}
        mock.fail_next("introspect", status=200, body=json.dumps(answer))
        response = app.test_client().get("/api/messages", headers={"Authorization": "Bearer opaque"})
    finally:
        mock.stop()
    assert response.status_code == 200
    assert "Hello, 0oa-machine!" in response.json["messages"][0]["text"]
