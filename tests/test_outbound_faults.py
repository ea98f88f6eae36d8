"""Every call to the provider under faults, over real loopback sockets (the mock Okta server):
stalls, resets, 5xx, HTML, and Okta's 429 with its rate-limit headers, answered with a 503
whose Retry-After comes from the provider, retries for GETs only, and reasons in the logs."""

from __future__ import annotations

import logging
import socket
import time
from email.utils import formatdate

import pytest

from flask_okta_client import ProviderUnavailable
from flask_okta_client.protocol.http import (
    MAX_RETRY_AFTER,
    HttpClient,
)
from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token, stored_user
from tests.site import csrf_token, local, make_site, sign_in, start_login
from tests.transport_faults import loopback_listener

JSON = {"Accept": "application/json"}


def okta_429(reset_in: int) -> dict[str, str]:
    """Okta's rate-limit headers for a window that resets ``reset_in`` seconds from now."""
    return {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(time.time()) + reset_in)}


def assert_retry_after(response, low: int, high: int) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert low <= int(response.headers["Retry-After"]) <= high, response.headers["Retry-After"]


@pytest.fixture
def site(okta_settings):
    return make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES, OKTA_USE_USERINFO=True)


@pytest.fixture
def signed_in(site, okta_mock_server):
    """A browser signed in with a refresh token."""
    client = site.test_client()
    assert sign_in(client, okta_mock_server).status_code == 302
    return client


# -- Okta's 429 on every call --------------------------------------------------------


def test_rate_limited_code_exchange_answers_503_with_okta_reset_not_502(site, okta_mock_server):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", status=429, headers=okta_429(45))
    response = client.get(local(callback))
    assert_retry_after(response, 40, 46)
    assert "unavailable" in response.get_data(as_text=True).lower()
    assert stored_user(site, client) is None


def test_rate_limited_refresh_answers_503_and_keeps_the_session(site, signed_in, okta_mock_server):
    before = stored_user(site, signed_in)
    expire_access_token(site, signed_in)
    okta_mock_server.fail_next("token", status=429, headers=okta_429(20))
    assert_retry_after(signed_in.get("/protected"), 15, 21)
    assert stored_user(site, signed_in).refresh_token == before.refresh_token


@pytest.mark.parametrize("endpoint", ["discovery", "keys", "userinfo"])
def test_rate_limited_sign_in_calls_answer_503_with_retry_after(site, okta_mock_server, endpoint):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    site.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next(endpoint, status=429, headers=okta_429(50))
    assert_retry_after(client.get(local(callback)), 45, 51)


def test_rate_limited_par_answers_503(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_USE_PAR="always").test_client()
    okta_mock_server.fail_next("par", status=429, headers={"Retry-After": "12"})
    assert_retry_after(client.get("/login"), 12, 12)


@pytest.mark.parametrize("call", ["introspect", "revoke"])
def test_rate_limited_introspection_and_revocation_raise_unavailable(site, okta_mock_server, call):
    okta_mock_server.fail_next(call, status=429, headers=okta_429(50))
    okta = site.extensions["okta"]
    with site.test_request_context(), pytest.raises(ProviderUnavailable) as raised:
        okta.client.introspect("opaque") if call == "introspect" else okta.client.revoke("opaque", "access_token")
    assert 45 <= raised.value.retry_after <= 51


def test_rate_limited_sign_out_still_signs_out(site, signed_in, okta_mock_server):
    okta_mock_server.fail_next("revoke", status=429, times=2)
    response = signed_in.post("/logout", data={"csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302
    assert stored_user(site, signed_in) is None


def test_api_request_gets_json_and_retry_after(site, signed_in, okta_mock_server):
    expire_access_token(site, signed_in)
    okta_mock_server.fail_next("token", status=429, headers={"Retry-After": "9"})
    response = signed_in.get("/protected", headers=JSON)
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "9"


@pytest.mark.parametrize(("headers", "low", "high"), [
    (lambda: {"Retry-After": "17"}, 17, 17),
    (lambda: {"Retry-After": formatdate(time.time() + 40, usegmt=True)}, 35, 41),
    (lambda: {"Retry-After": "86400"}, MAX_RETRY_AFTER, MAX_RETRY_AFTER),  # bounded
    (lambda: okta_429(7 * 86400), MAX_RETRY_AFTER, MAX_RETRY_AFTER),
    (lambda: okta_429(-120), 1, 1),  # a reset already past (clock skew): try again soon
    (lambda: {"Retry-After": "soon"}, 30, 30),  # unreadable: the default
    (lambda: {}, 30, 30),
], ids=["seconds", "date", "long-seconds", "far-reset", "past-reset", "unreadable", "none"])
def test_retry_after_comes_from_the_provider_and_is_bounded(site, okta_mock_server, headers, low, high):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", status=429, headers={"X-Rate-Limit-Reset": "", **headers()})
    assert_retry_after(client.get(local(callback)), low, high)


# -- while rate limited, the endpoint is left alone ---------------------------------------


def test_rate_limited_endpoint_is_not_called_again_until_its_reset(site, okta_mock_server):
    first, second = site.test_client(), site.test_client()
    callbacks = [okta_mock_server.login(start_login(c), "alice") for c in (first, second)]
    okta_mock_server.fail_next("token", status=429, headers=okta_429(30))
    assert_retry_after(first.get(local(callbacks[0])), 25, 31)
    calls = okta_mock_server.count("token")
    assert_retry_after(second.get(local(callbacks[1])), 25, 31)
    assert okta_mock_server.count("token") == calls


def test_spent_quota_on_a_success_holds_the_endpoint_until_its_reset(site, okta_mock_server):
    site.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next("discovery", status=None, headers=okta_429(20))  # 200 with Remaining: 0
    client = site.test_client()
    assert client.get("/login").status_code == 302
    site.extensions["okta"].metadata.clear()
    assert_retry_after(client.get("/login"), 15, 21)
    assert okta_mock_server.count("discovery") == 1


def test_other_endpoints_are_not_held_by_one_rate_limit(site, signed_in, okta_mock_server):
    expire_access_token(site, signed_in)
    okta_mock_server.fail_next("token", status=429, headers=okta_429(30))
    assert signed_in.get("/protected").status_code == 503
    site.extensions["okta"].metadata.clear()
    assert site.test_client().get("/login").status_code == 302  # discovery still called


def test_endpoint_is_called_again_once_the_wait_is_over(site, signed_in, okta_mock_server):
    expire_access_token(site, signed_in)
    okta_mock_server.fail_next("token", status=429, headers={"Retry-After": "1"})
    assert signed_in.get("/protected").status_code == 503
    time.sleep(1.1)
    assert signed_in.get("/protected").status_code == 200


# -- stalls, resets, 5xx and HTML ---------------------------------------------------------


@pytest.mark.parametrize("fault", [
    {"status": None, "delay": 1.0},  # stalls past OKTA_HTTP_TIMEOUT
    {"reset": True},
    {"status": 500},
    {"status": 502, "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"},
    {"status": 403, "body": "<!DOCTYPE html><html><title>Access denied</title></html>"},
])
def test_code_exchange_faults_answer_503(okta_settings, okta_mock_server, fault):
    app = make_site(okta_settings, OKTA_HTTP_TIMEOUT=0.5)
    client = app.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", **fault)
    response = client.get(local(callback))
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"] == "30"
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_html_where_json_was_expected_answers_502(site, okta_mock_server):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", status=200, body="<html><body>Please sign in to the proxy</body></html>")
    assert client.get(local(callback)).status_code == 502


@pytest.mark.parametrize("fault", [{"status": None, "delay": 1.0}, {"reset": True}, {"status": 503}])
def test_refresh_faults_answer_503_and_keep_the_session(okta_settings, okta_mock_server, fault):
    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES, OKTA_HTTP_TIMEOUT=0.5)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", **fault)
    assert client.get("/protected").status_code == 503
    assert stored_user(app, client) is not None


EVERY_FAULT = [
    {"status": None, "delay": 1.0},  # stalls past OKTA_HTTP_TIMEOUT
    {"reset": True},
    {"status": 500, "body": "<html><body>Internal error</body></html>"},
]


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=["stall", "reset", "html-500"])
@pytest.mark.parametrize("endpoint", ["discovery", "keys", "userinfo", "token"])
def test_every_sign_in_call_under_every_fault_answers_503(okta_settings, okta_mock_server, endpoint, fault):
    app = make_site(okta_settings, OKTA_HTTP_TIMEOUT=0.5, OKTA_USE_USERINFO=True)
    client = app.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    app.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next(endpoint, **fault, times=3)  # retried GETs meet it every time
    response = client.get(local(callback))
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert client.get("/").get_data(as_text=True) == "home anonymous"


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=["stall", "reset", "html-500"])
def test_par_under_every_fault_answers_503(okta_settings, okta_mock_server, fault):
    client = make_site(okta_settings, OKTA_USE_PAR="always", OKTA_HTTP_TIMEOUT=0.5).test_client()
    okta_mock_server.fail_next("par", **fault)
    assert client.get("/login").status_code == 503


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=["stall", "reset", "html-500"])
@pytest.mark.parametrize("call", ["introspect", "revoke"])
def test_introspection_and_revocation_under_every_fault_raise_unavailable(okta_settings, okta_mock_server,
                                                                           call, fault):
    app = make_site(okta_settings, OKTA_HTTP_TIMEOUT=0.5)
    okta = app.extensions["okta"]
    okta_mock_server.fail_next(call, **fault)
    with app.test_request_context(), pytest.raises(ProviderUnavailable):
        okta.client.introspect("opaque") if call == "introspect" else okta.client.revoke("opaque", "access_token")


# -- retries: GETs only ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", [{"reset": True}, {"status": 503}, {"status": 500, "body": "<html>oops</html>"}])
def test_discovery_and_jwks_are_retried_after_a_passing_fault(site, okta_mock_server, fault):
    client = site.test_client()
    site.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next("discovery", **fault)
    okta_mock_server.fail_next("keys", **fault)
    assert sign_in(client, okta_mock_server).status_code == 302
    assert okta_mock_server.count("discovery") == 2
    assert okta_mock_server.count("keys") == 2


def test_retry_honours_a_short_retry_after(site, okta_mock_server):
    site.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next("discovery", status=503, headers={"Retry-After": "1"})
    assert site.test_client().get("/login").status_code == 302
    assert okta_mock_server.count("discovery") == 2


def test_no_retry_when_retry_after_exceeds_the_time_budget(site, okta_mock_server):
    site.extensions["okta"].metadata.clear()
    okta_mock_server.fail_next("discovery", status=503, headers={"Retry-After": "8"})
    assert_retry_after(site.test_client().get("/login"), 8, 8)
    assert okta_mock_server.count("discovery") == 1


def test_retries_are_bounded(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_HTTP_RETRIES=1)
    okta_mock_server.fail_next("discovery", status=503, times=5)
    assert app.test_client().get("/login").status_code == 503
    assert okta_mock_server.count("discovery") == 2


@pytest.mark.parametrize("fault", [{"reset": True}, {"status": 503}, {"status": 502, "body": "<html></html>"}])
def test_code_exchange_is_never_retried(site, okta_mock_server, fault):
    client = site.test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next("token", **fault)
    assert client.get(local(callback)).status_code == 503
    assert okta_mock_server.count("token") == 1


@pytest.mark.parametrize("fault", [{"reset": True}, {"status": 503}])
def test_refresh_is_never_retried(site, signed_in, okta_mock_server, fault):
    expire_access_token(site, signed_in)
    okta_mock_server.reset()
    okta_mock_server.fail_next("token", **fault)
    assert signed_in.get("/protected").status_code == 503
    assert okta_mock_server.count("token") == 1


# -- what the logs say --------------------------------------------------------------------


def test_log_says_the_connection_was_reset(caplog, okta_mock_server):
    okta_mock_server.fail_next("keys", reset=True)
    with caplog.at_level(logging.WARNING, logger="flask_okta_client"), pytest.raises(ProviderUnavailable):
        HttpClient(2.0, retries=0).get_json(okta_mock_server.endpoint_url("keys"))
    assert "the connection was reset" in caplog.text or "closed the connection without answering" in caplog.text


def test_retried_failures_log_one_warning_and_the_retries_at_info(caplog, okta_mock_server):
    okta_mock_server.fail_next("keys", status=503, times=3)
    with caplog.at_level(logging.INFO, logger="flask_okta_client"), pytest.raises(ProviderUnavailable):
        HttpClient(2.0, retries=2).get_json(okta_mock_server.endpoint_url("keys"))
    levels = [record.levelname for record in caplog.records if record.name == "flask_okta_client"]
    assert levels == ["INFO", "INFO", "WARNING"]
    assert "answered 503" in caplog.records[-1].getMessage()


def test_log_names_the_endpoint_without_query_or_tokens(caplog, okta_mock_server, site, signed_in):
    stored = stored_user(site, signed_in)
    expire_access_token(site, signed_in)
    okta_mock_server.fail_next("token", reset=True)
    with caplog.at_level(logging.DEBUG, logger="flask_okta_client"):
        signed_in.get("/protected")
    assert f"refresh at {okta_mock_server.endpoint_url('token')} failed: " in caplog.text
    for secret in (stored.refresh_token, stored.access_token, site.config["OKTA_CLIENT_SECRET"]):
        assert secret not in caplog.text


def test_retried_get_makes_its_headers_afresh_for_each_attempt():
    """A DPoP proof is single-use: a retried UserInfo call must not send the same one twice."""
    seen: list[str] = []

    def flaky_server(connection: socket.socket) -> None:
        with connection:
            request = connection.recv(65536).decode("latin-1")
            seen.append(next(line for line in request.split("\r\n") if line.lower().startswith("dpop:")))
            if len(seen) == 1:
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                body = b'{"sub": "alice"}'
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    proofs = iter(["proof-1", "proof-2", "proof-3"])
    with loopback_listener(flaky_server) as port:
        document = HttpClient(2.0).get_json(f"http://127.0.0.1:{port}/userinfo", headers=lambda: {"DPoP": next(proofs)})
    assert document == {"sub": "alice"}
    assert seen == ["DPoP: proof-1", "DPoP: proof-2"]


@pytest.mark.parametrize("url", ["jwks.json", "ftp://127.0.0.1/keys", "http://"])
def test_a_get_to_a_url_requests_cannot_use_is_unavailable_not_a_crash(url, caplog):
    with caplog.at_level(logging.WARNING, logger="flask_okta_client"), pytest.raises(ProviderUnavailable):
        HttpClient(1.0).get_json(url)
    assert "failed" in caplog.text
