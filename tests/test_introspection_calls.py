"""Introspection spares the provider's rate limit: refusals are remembered, one call per new token at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from flask_okta_client import bearer_token_required
from flask_okta_client.errors import ProviderUnavailable, TokenValidationError
from flask_okta_client.testing import MockClient, MockOktaServer
from tests.concurrency import run_concurrently
from tests.site import make_site
from tests.test_bearer import call, mock_issued_access_token

API_SECRET = "api-client-secret-0123456789"


@pytest.fixture
def api_client(okta_mock_server: MockOktaServer) -> MockClient:
    """A client of the mock that may get access tokens (client credentials) and introspect them."""
    return okta_mock_server.add_client(MockClient(
        f"0oa-api-{time.time_ns()}", API_SECRET,
        scopes=("openid", "messages:read"), grant_types=("client_credentials",),
    ))


@pytest.fixture
def make_client(okta_settings: dict[str, Any], api_client: MockClient) -> Callable[..., FlaskClient]:
    """A test client of a site that introspects every bearer token, with more ``config``."""

    def make(**config: Any) -> FlaskClient:
        settings = {**okta_settings, "OKTA_CLIENT_ID": api_client.client_id, "OKTA_CLIENT_SECRET": API_SECRET}
        app = make_site(settings, OKTA_TOKEN_VALIDATION="introspect", **config)
        for audience in ("api://orders", "api://billing"):
            name = audience.removeprefix("api://")
            app.add_url_rule(f"/api/{name}", name, audience_view(audience))
        return app.test_client()

    return make


def audience_view(audience: str) -> Callable[[], str]:
    @bearer_token_required(audience=audience)
    def view() -> str:
        return "ok"

    return view


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()


def validator(client: FlaskClient) -> Any:
    return client.application.extensions["okta"].access_tokens


def answer_next(server: MockOktaServer, **claims: Any) -> None:
    """The next introspection answer: an active token with messages:read and ``claims``."""
    body = {"active": True, "token_type": "Bearer", "scope": "messages:read", "iss": server.issuer, "sub": "ann",
            "exp": int(time.time()) + 600, **claims}
    body = {name: value for name, value in body.items() if value is not None}  # None: left out
    server.fail_next("introspect", status=200, body=json.dumps(body))


def revoke(server: MockOktaServer, token: str, client: FlaskClient) -> None:
    settings = client.application.config
    requests.post(server.endpoint_url("revoke"), data={"token": token},
                  auth=(settings["OKTA_CLIENT_ID"], settings["OKTA_CLIENT_SECRET"]), timeout=5).raise_for_status()


def later(client: FlaskClient, seconds: float) -> None:
    """Move the clock of the remembered refusals ``seconds`` ahead."""
    validator(client).refusals.clock = lambda: time.time() + seconds


def test_a_token_the_provider_never_issued_is_introspected_once(client, okta_mock_server):
    answers = [call(client, "opaque-token-the-provider-never-issued") for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert okta_mock_server.count("introspect") == 1


def test_a_refusal_from_memory_is_the_same_answer_as_the_first(client, okta_mock_server):
    first, again = (call(client, "unknown-opaque-token") for _ in range(2))
    assert (again.status_code, again.json, again.headers["WWW-Authenticate"]) == \
        (first.status_code, first.json, first.headers["WWW-Authenticate"])
    assert first.json["error"] == "invalid_token"
    assert okta_mock_server.count("introspect") == 1


def test_a_revoked_token_is_refused_from_memory(client, okta_mock_server):
    token = mock_issued_access_token(okta_mock_server, client)
    revoke(okta_mock_server, token, client)
    assert [call(client, token).status_code for _ in range(3)] == [401] * 3
    assert okta_mock_server.count("introspect") == 1


@pytest.mark.parametrize("config, ttl", [({}, 300), ({"OKTA_INTROSPECTION_REFUSAL_TTL": 60}, 60)],
                         ids=["default", "set"])
def test_a_remembered_refusal_is_forgotten_after_the_ttl(make_client, okta_mock_server, config, ttl):
    client = make_client(**config)
    assert call(client, "unknown-opaque-token").status_code == 401
    later(client, ttl - 1)
    assert call(client, "unknown-opaque-token").status_code == 401
    assert okta_mock_server.count("introspect") == 1
    later(client, ttl + 1)
    assert call(client, "unknown-opaque-token").status_code == 401
    assert okta_mock_server.count("introspect") == 2


def test_a_ttl_of_zero_asks_the_provider_every_time(make_client, okta_mock_server):
    client = make_client(OKTA_INTROSPECTION_REFUSAL_TTL=0)
    assert [call(client, "unknown-opaque-token").status_code for _ in range(3)] == [401] * 3
    assert okta_mock_server.count("introspect") == 3


@pytest.mark.parametrize("claims", [
    {"iss": "https://other.example/oauth2/default"},
    {"token_type": "refresh_token"},
    {"exp": 1_000_000_000},
    {"sub": 42},
    {"aud": ["api://orders", 5]},
    {"aud": 42},
], ids=["another issuer", "a refresh token", "expired", "malformed sub", "malformed aud list", "malformed aud"])
def test_an_active_answer_refused_for_every_audience_is_remembered(client, okta_mock_server, claims):
    answer_next(okta_mock_server, **claims)
    for path in ("/api/messages", "/api/orders", "/api/messages"):
        assert call(client, "opaque-refused", path=path).status_code == 401
    assert okta_mock_server.count("introspect") == 1


@pytest.mark.parametrize("start", ["nbf", "iat"])
def test_a_token_not_valid_yet_is_asked_about_again(client, okta_mock_server, start):
    """A token whose ``nbf`` (or ``iat``) lies ahead becomes valid with time: its refusal is not remembered."""
    answer_next(okta_mock_server, **{start: int(time.time()) + 600})
    assert call(client, "opaque-not-yet").status_code == 401
    answer_next(okta_mock_server)
    assert call(client, "opaque-not-yet").status_code == 200
    assert okta_mock_server.count("introspect") == 2


def test_a_refusal_for_one_audience_does_not_refuse_another_the_token_names(client, okta_mock_server):
    answer_next(okta_mock_server, aud="api://orders")
    assert call(client, "opaque-for-orders", path="/api/billing").status_code == 401
    assert call(client, "opaque-for-orders", path="/api/orders").status_code == 200
    assert call(client, "opaque-for-orders", path="/api/billing").status_code == 401
    assert call(client, "opaque-for-orders", path="/api/orders").status_code == 200
    assert okta_mock_server.count("introspect") == 1


def test_an_inactive_token_is_refused_from_memory_at_every_audience(client, okta_mock_server):
    for path in ("/api/orders", "/api/billing", "/api/messages"):
        assert call(client, "unknown-opaque-token", path=path).status_code == 401
    assert okta_mock_server.count("introspect") == 1


@pytest.mark.parametrize("fault", [
    {"status": 503}, {"status": 500}, {"status": 502, "body": "<html>proxy</html>"}, {"status": None, "delay": 1.0},
    {"reset": True},
], ids=["503", "500", "502 html", "timeout", "connection reset"])
def test_provider_trouble_is_a_503_each_time_and_never_remembered(make_client, okta_mock_server, fault):
    client = make_client(OKTA_HTTP_TIMEOUT=0.3)
    token = mock_issued_access_token(okta_mock_server, client)
    okta_mock_server.fail_next("introspect", times=2, **{"status": 503, **fault})
    for _ in range(2):
        response = call(client, token)
        assert (response.status_code, response.json["error"]) == (503, "temporarily_unavailable")
    assert okta_mock_server.count("introspect") == 2
    assert call(client, token).status_code == 200  # nothing was remembered of the failures
    assert okta_mock_server.count("introspect") == 3


def test_a_rate_limited_introspection_is_a_503_and_never_remembered(client, okta_mock_server):
    """Okta's 429: the site holds off calling again for the time Okta asks, and remembers nothing of the token."""
    token = mock_issued_access_token(okta_mock_server, client)
    okta_mock_server.fail_next("introspect", status=429)
    for _ in range(2):
        response = call(client, token)
        assert (response.status_code, response.json["error"]) == (503, "temporarily_unavailable")
    assert (len(validator(client).refusals), len(validator(client).cache)) == (0, 0)


def test_concurrent_requests_with_one_new_token_make_one_call(client, okta_mock_server):
    token = mock_issued_access_token(okta_mock_server, client)
    app = client.application
    okta_mock_server.fail_next("introspect", status=None, delay=0.5)  # a slow answer, so the requests pile up
    statuses = run_concurrently([lambda: call(app.test_client(), token).status_code] * 10)
    assert statuses == [200] * 10
    assert okta_mock_server.count("introspect") == 1


def test_concurrent_requests_with_one_refused_token_make_one_call(client, okta_mock_server):
    app = client.application
    okta_mock_server.fail_next("introspect", status=None, delay=0.5)
    answers = run_concurrently([lambda: call(app.test_client(), "unknown-opaque-token")] * 10)
    assert {(a.status_code, a.json["error"]) for a in answers} == {(401, "invalid_token")}
    assert {a.headers["WWW-Authenticate"] for a in answers} == {'Bearer realm="api", error="invalid_token"'}
    assert okta_mock_server.count("introspect") == 1


def test_callers_sharing_one_refusal_each_get_their_own_error(client, okta_mock_server):
    """A bearer and a DPoP request put different challenges on their refusal: they must not share one object."""
    okta_mock_server.fail_next("introspect", status=None, delay=0.5)
    outcomes = run_concurrently([lambda: validator(client).validate("unknown-opaque-token")] * 10)
    assert all(isinstance(outcome, TokenValidationError) for outcome in outcomes), outcomes
    assert len({id(outcome) for outcome in outcomes}) == 10
    assert okta_mock_server.count("introspect") == 1


def test_concurrent_requests_share_one_provider_failure_and_the_next_one_asks_again(client, okta_mock_server):
    token = mock_issued_access_token(okta_mock_server, client)
    okta_mock_server.fail_next("introspect", status=503, delay=0.5)
    outcomes = run_concurrently([lambda: validator(client).validate(token)] * 10)
    assert all(isinstance(outcome, ProviderUnavailable) for outcome in outcomes), outcomes
    assert okta_mock_server.count("introspect") == 1
    assert call(client, token).status_code == 200
    assert okta_mock_server.count("introspect") == 2


def test_an_active_token_is_still_accepted_and_asked_about_once(client, okta_mock_server):
    assert call(client, "unknown-opaque-token").status_code == 401
    token = mock_issued_access_token(okta_mock_server, client)
    assert [call(client, token).status_code for _ in range(3)] == [200] * 3
    assert okta_mock_server.count("introspect") == 2


def test_remembered_refusals_are_bounded_oldest_out_first(make_client, okta_mock_server):
    client = make_client(OKTA_VERIFIED_TOKEN_CACHE_SIZE=3)
    tokens = [f"unknown-opaque-token-{i}" for i in range(5)]
    for token in tokens:
        assert call(client, token).status_code == 401
    assert len(validator(client).refusals) == 3
    assert call(client, tokens[-1]).status_code == 401
    assert okta_mock_server.count("introspect") == 5  # the newest is still remembered
    assert call(client, tokens[0]).status_code == 401
    assert okta_mock_server.count("introspect") == 6  # the oldest was dropped


def test_a_long_refused_token_is_remembered_in_a_few_bytes(client, okta_mock_server):
    """Anyone can have tokens refused: what is remembered of each does not grow with the token."""
    token = "A" * 16_000
    assert call(client, token).status_code == 401
    assert call(client, token).status_code == 401
    assert okta_mock_server.count("introspect") == 1
    assert all(len(key) <= 64 for key in validator(client).refusals.entries)


def test_a_refused_token_is_refused_by_validate_with_a_token_validation_error(client, okta_mock_server):
    for _ in range(2):
        with pytest.raises(TokenValidationError, match="not active"):
            validator(client).validate("unknown-opaque-token")
    assert okta_mock_server.count("introspect") == 1


@pytest.mark.parametrize("claims", [
    {"token_type": None},
    {"token_type": None, "typ": "Refresh"},
    {"token_type": "Bearer", "token_use": "refresh_token"},
    {"token_type": "refresh_token"},
    {"token_type": "Bearer", "typ": "Refresh"},
], ids=["says nothing", "keycloak refresh", "hydra refresh", "rfc 7662 refresh", "members disagree"])
def test_an_answer_that_does_not_say_access_token_is_refused_and_remembered(client, okta_mock_server, claims):
    answer_next(okta_mock_server, **claims)
    answers = [call(client, "opaque-of-unknown-kind") for _ in range(2)]
    assert [(a.status_code, a.json["error"]) for a in answers] == [(401, "invalid_token")] * 2
    assert okta_mock_server.count("introspect") == 1


@pytest.mark.parametrize("claims", [
    {"token_type": "bearer"},
    {"token_type": None, "typ": "Bearer"},
    {"token_type": None, "token_use": "access_token"},
], ids=["rfc 7662", "keycloak", "hydra"])
def test_each_way_of_saying_access_token_is_accepted(client, okta_mock_server, claims):
    answer_next(okta_mock_server, **claims)
    assert call(client, "opaque-access-token").status_code == 200


def test_an_answer_that_says_nothing_is_accepted_when_the_setting_allows_it(make_client, okta_mock_server):
    client = make_client(OKTA_INTROSPECTION_REQUIRE_TOKEN_TYPE=False)
    answer_next(okta_mock_server, token_type=None)
    assert call(client, "opaque-untyped").status_code == 200
    answer_next(okta_mock_server, token_type=None, typ="Refresh")
    assert call(client, "opaque-keycloak-refresh").status_code == 401  # an answer that says refresh still is refused


def test_an_answer_that_says_dpop_without_the_key_is_refused(client, okta_mock_server):
    """RFC 9449 §6.2: a DPoP-bound token's introspection names its key (``cnf.jkt``); without it the
    binding cannot be checked, so the token must not pass as a plain bearer token."""
    answer_next(okta_mock_server, token_type="DPoP")
    response = call(client, "opaque-dpop-without-key")
    assert (response.status_code, response.json["error"]) == (401, "invalid_token")
