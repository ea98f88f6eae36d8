"""An unreachable, slow or misbehaving provider gets a clear 502/503 page, never a 500."""

from __future__ import annotations

import socket

import pytest

from tests.site import local, make_site, start_login


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_provider_at_login_answers_503(okta_settings):
    settings = {**okta_settings, "OKTA_ISSUER": f"http://127.0.0.1:{closed_port()}/oauth2/default"}
    response = make_site(settings).test_client().get("/login")
    assert response.status_code == 503
    assert "unavailable" in response.get_data(as_text=True).lower()
    assert response.headers["Retry-After"]


def test_discovery_error_at_login_answers_503_and_keeps_the_session(okta_settings, okta_mock_server):
    client = make_site(okta_settings).test_client()
    with client.session_transaction() as session:
        session["cart"] = ["book"]
    okta_mock_server.fail_next("discovery", status=500, times=3)  # the first try and both retries
    assert client.get("/login").status_code == 503
    with client.session_transaction() as session:
        assert session["cart"] == ["book"]


def test_discovery_for_another_issuer_answers_502(okta_settings, okta_mock_server):
    settings = {**okta_settings, "OKTA_ISSUER": okta_mock_server.issuer.replace("default", "other")}
    response = make_site(settings).test_client().get("/login")
    assert response.status_code in (502, 503)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (503, None, 503),
    (500, "<html>oops</html>", 503),
    (200, "this is not json", 502),
    (200, "[1, 2, 3]", 502),
    (400, '{"error": "invalid_grant", "error_description": "The authorization code is invalid."}', 400),
    (401, '{"error": "invalid_client"}', 502),
])
def test_token_endpoint_failures_answer_clearly(client, okta_mock_server, status, body, expected):
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", status=status, body=body)
    response = client.get(local(callback))
    assert response.status_code == expected
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_slow_token_endpoint_times_out_with_503(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_HTTP_TIMEOUT=0.3).test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", status=None, delay=1.0)
    assert client.get(local(callback)).status_code == 503


def test_unreachable_jwks_at_callback_answers_503(okta_settings, okta_mock_server):
    client = make_site(okta_settings).test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("keys", status=503, times=3)
    assert client.get(local(callback)).status_code == 503


def test_api_request_gets_json_for_provider_trouble(okta_settings):
    settings = {**okta_settings, "OKTA_ISSUER": f"http://127.0.0.1:{closed_port()}/oauth2/default"}
    response = make_site(settings).test_client().get("/login", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"


def test_code_replayed_at_the_provider_is_refused_cleanly(app, client, okta_mock_server):
    callback = okta_mock_server.login(start_login(client), "alice")
    client.get(local(callback))
    stranger = app.test_client()
    start_login(stranger)
    assert stranger.get(local(callback)).status_code == 400
