"""A token seen before (a verified-token cache hit, ``@bearer_token_required``'s common path)
is refused for everything a first sight refuses.

The cache only spares the signature and the parsing: expiry, the route's
audience, scopes, claims and step-up requirements, DPoP binding and where the
token was sent are judged again on every request. Each test first makes sure
the token is cached (its second request verifies nothing), then changes one
thing.
"""

from __future__ import annotations

import time

import pytest

from flask_okta_client import bearer_token_required
from tests.test_dpop_api import Holder

TWO_FACTOR = "urn:okta:loa:2fa:any"


def call(client, token: str, *, scheme: str = "Bearer", path: str = "/api/messages", **kwargs):
    return client.get(path, headers={"Authorization": f"{scheme} {token}"}, **kwargs)


@pytest.fixture
def verifications(app) -> list[str]:
    """The tokens the verifier checked (a cache hit checks none)."""
    verifier = app.extensions["okta"].access_tokens.verifier
    seen: list[str] = []
    original = verifier.verify_access_token
    verifier.verify_access_token = lambda token, **kw: seen.append(token) or original(token, **kw)
    return seen


@pytest.fixture
def routes(app):
    @app.get("/api/orders")
    @bearer_token_required(audience="api://orders")
    def orders():
        return "orders"

    @app.get("/api/write")
    @bearer_token_required(scopes=["messages:write"])
    def write():
        return "written"

    @app.get("/api/admin")
    @bearer_token_required(groups=["Admins"])
    def admin():
        return "admin"

    @app.get("/api/transfers")
    @bearer_token_required(acr_values=[TWO_FACTOR], max_age=300)
    def transfers():
        return "transferred"

    return app


def cached(client, verifications: list[str], token: str, path: str = "/api/messages") -> str:
    """``token``, accepted at ``path`` and then served from the cache there."""
    assert call(client, token, path=path).status_code == 200
    assert call(client, token, path=path).status_code == 200
    assert verifications == [token]
    return token


def move_clocks(app, seconds: float) -> None:
    validator = app.extensions["okta"].access_tokens
    validator.cache.clock = validator.verifier.clock = lambda: time.time() + seconds


def assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_a_cached_token_is_refused_once_it_expires(app, client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"], lifetime=600))
    move_clocks(app, 600 + 60 - 5)  # within the clock skew: still served
    assert call(client, token).status_code == 200
    move_clocks(app, 600 + 60 + 1)
    assert_invalid_token(call(client, token))


def test_a_cached_token_is_refused_by_a_route_for_another_audience(routes, client, okta_access_token,
                                                                    verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    assert_invalid_token(call(client, token, path="/api/orders"))
    assert call(client, token).status_code == 200  # still good where it belongs


def test_a_token_cached_for_another_audience_is_refused_by_the_default_one(routes, client, okta_access_token,
                                                                          verifications):
    token = cached(client, verifications, okta_access_token(audience="api://orders"), path="/api/orders")
    assert_invalid_token(call(client, token))


@pytest.mark.parametrize("segment", [1, 2], ids=["payload", "signature"])
def test_a_copy_differing_in_one_character_is_refused(client, okta_access_token, verifications, segment):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    parts = token.split(".")
    middle = len(parts[segment]) // 2
    parts[segment] = parts[segment][:middle] + ("A" if parts[segment][middle] != "A" else "B") \
        + parts[segment][middle + 1:]
    assert_invalid_token(call(client, ".".join(parts)))


def test_scopes_are_checked_per_route_on_a_hit(routes, client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    response = call(client, token, path="/api/write")
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == \
        'Bearer realm="api", error="insufficient_scope", scope="messages:write"'


def test_claims_requirements_are_checked_per_route_on_a_hit(routes, client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"], groups=["Staff"]))
    assert call(client, token, path="/api/admin").status_code == 403


def test_step_up_max_age_is_judged_again_on_a_hit(routes, app, client, okta_access_token, verifications):
    token = okta_access_token(acr=TWO_FACTOR, auth_time=int(time.time()) - 200)
    cached(client, verifications, token, path="/api/transfers")
    move_clocks(app, 300 + 60 - 200 + 5)  # auth_time is now older than max_age plus the clock skew
    response = call(client, token, path="/api/transfers")
    assert response.status_code == 401
    assert 'error="insufficient_user_authentication"' in response.headers["WWW-Authenticate"]


def test_a_dpop_bound_token_sent_again_as_bearer_is_refused_again(client, okta_access_token, verifications):
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": Holder().jkt})
    for _ in range(2):  # the first sight caches the verified token; the second is a hit
        response = call(client, token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert verifications == [token]


def test_a_token_cached_through_dpop_is_refused_as_bearer(client, okta_access_token, verifications):
    holder = Holder()
    token = okta_access_token(scopes=["messages:read"], cnf={"jkt": holder.jkt})
    response = client.get("/api/messages", headers={"Authorization": f"DPoP {token}",
                                                    "DPoP": holder.proof(token)})
    assert response.status_code == 200
    response = call(client, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert verifications == [token]


def test_a_cached_token_is_still_refused_in_the_query_string_or_a_form(client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    assert call(client, token, query_string={"access_token": token}).status_code == 400
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"},
                          data={"access_token": token}, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_a_cached_token_after_two_spaces_is_a_malformed_header(client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    response = client.get("/api/messages", headers={"Authorization": f"Bearer  {token}"})
    assert response.status_code == 400


def test_any_spelling_of_the_scheme_reaches_the_cached_token(client, okta_access_token, verifications):
    token = cached(client, verifications, okta_access_token(scopes=["messages:read"]))
    assert call(client, token, scheme="bearer").status_code == 200
    assert call(client, token, scheme="BEARER").status_code == 200
    assert verifications == [token]


def test_a_raising_check_refuses_a_cached_token_too(app, client, okta_access_token, verifications):
    @app.get("/api/by-department")
    @bearer_token_required(check=lambda claims: claims["department"] == "R&D")
    def by_department():
        return "ok"

    token = okta_access_token(scopes=["messages:read"])
    for _ in range(2):  # first sight, then a hit
        response = call(client, token, path="/api/by-department")
        assert response.status_code == 403
        assert response.is_json
    assert verifications == [token]


def test_one_view_on_two_apps_judges_each_token_with_its_own_app(okta_settings, okta_access_token):
    """A decorated view remembers the registration of the app it last served; a thread serving
    another app never reads the first app's cache."""
    from flask import Flask

    from flask_okta_client import OktaClient

    @bearer_token_required(scopes=["messages:read"])
    def messages():
        return "ok"

    apps = []
    for audience in ("api://default", "api://other"):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s" * 32, **okta_settings, OKTA_AUDIENCE=audience)
        OktaClient(app)
        app.add_url_rule("/api/messages", view_func=messages)
        apps.append(app)
    default_app, other_app = apps
    token = okta_access_token(scopes=["messages:read"])
    for _ in range(2):  # each time, the cached token is served by its app and refused by the other
        assert call(default_app.test_client(), token).status_code == 200
        assert_invalid_token(call(other_app.test_client(), token))
    assert len(default_app.extensions["okta"].access_tokens.cache) == 1
    assert len(other_app.extensions["okta"].access_tokens.cache) == 0
