"""Step-up authentication (RFC 9470): ``acr_values`` and ``max_age`` on ``login_required`` and
``bearer_token_required``, and the callback that refuses a weaker answer instead of looping."""

from __future__ import annotations

import time

import pytest
from flask import jsonify

from flask_okta_client import bearer_token_required, current_token, login_required
from flask_okta_client.protocol.step_up import AuthenticationRequirement
from tests.lifecycle_helpers import stored_user
from tests.site import add_cart_views, local, make_site, query, sign_in
from tests.test_dpop_api import Holder, call

TWO_FACTOR = "urn:okta:loa:2fa:any"
PASSWORD = "urn:okta:loa:1fa:pwd"
NAVIGATION = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
CHALLENGE = ('Bearer error="insufficient_user_authentication", error_description="A stronger or more recent '
             f'sign-in is needed for this resource.", acr_values="{TWO_FACTOR}", max_age=300')


@pytest.fixture
def app(okta_settings):
    app = make_site(okta_settings)

    @app.get("/payments")
    @login_required(acr_values=TWO_FACTOR, max_age=300)
    def payments() -> str:
        return "payments"

    @app.get("/delete-account")
    @login_required(max_age=0)
    def delete_account() -> str:
        return "confirm deletion"

    @app.get("/api/transfers")
    @bearer_token_required(scopes=["openid"], acr_values=[TWO_FACTOR], max_age=300)
    def transfers():
        return jsonify(acr=current_token["acr"])

    add_cart_views(app)
    return app


def step_up_location(client, path="/payments") -> str:
    response = client.get(path, headers=NAVIGATION)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_a_password_sign_in_is_sent_to_sign_in_again_with_the_requested_level(client, okta_sign_in):
    okta_sign_in(client, "alice", acr=PASSWORD)
    params = query(step_up_location(client))
    assert params == {"next": "/payments", "acr_values": TWO_FACTOR, "max_age": "300"}


def test_an_anonymous_visitor_signs_in_at_the_requested_level_at_once(client):
    assert query(step_up_location(client))["acr_values"] == TWO_FACTOR


def test_an_old_sign_in_is_sent_to_sign_in_again(client, okta_sign_in):
    okta_sign_in(client, "alice", acr=TWO_FACTOR, auth_time=int(time.time()) - 3600)
    assert query(step_up_location(client))["max_age"] == "300"


def test_a_strong_recent_sign_in_reaches_the_page(client, okta_sign_in):
    okta_sign_in(client, "alice", acr=TWO_FACTOR)
    assert client.get("/payments", headers=NAVIGATION).get_data(as_text=True) == "payments"


def test_step_up_round_trip_asks_the_provider_and_comes_back_to_the_page(client, okta_mock_server):
    sign_in(client, okta_mock_server, "alice")                        # a password sign-in
    authorize_url = client.get(step_up_location(client)).headers["Location"]
    assert (query(authorize_url)["acr_values"], query(authorize_url)["max_age"]) == (TWO_FACTOR, "300")
    back = client.get(local(okta_mock_server.login(authorize_url, "alice")))
    assert back.headers["Location"] == "/payments"
    assert client.get("/payments", headers=NAVIGATION).get_data(as_text=True) == "payments"


def test_a_provider_answering_with_a_weaker_level_gets_403_not_another_redirect(client, okta_mock_server):
    sign_in(client, okta_mock_server, "alice")
    client.get("/remember")
    authorize_url = client.get(step_up_location(client)).headers["Location"]
    answer = client.get(local(okta_mock_server.login(authorize_url, "alice", acr=PASSWORD)), headers=NAVIGATION)
    assert answer.status_code == 403
    assert "Location" not in answer.headers
    assert "did not confirm the sign-in this page needs" in answer.get_data(as_text=True)
    # The earlier sign-in and the rest of the session are kept.
    assert client.get("/protected").status_code == 200
    assert client.get("/cart").get_data(as_text=True) == "3 apples"


def test_a_refused_step_up_answers_api_clients_with_json(client, okta_mock_server):
    authorize_url = client.get(step_up_location(client)).headers["Location"]
    answer = client.get(local(okta_mock_server.login(authorize_url, "bob", acr=PASSWORD)),
                        headers={"Accept": "application/json"})
    assert (answer.status_code, answer.json["error"]) == (403, "insufficient_user_authentication")
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_a_sign_in_that_asked_for_acr_values_must_come_back_with_one(client, okta_mock_server):
    authorize_url = client.get(f"/login?acr_values={TWO_FACTOR}").headers["Location"]
    answer = client.get(local(okta_mock_server.login(authorize_url, "carol", acr=PASSWORD)))
    assert answer.status_code == 403


def test_max_age_zero_is_met_by_the_sign_in_made_for_it(client, okta_mock_server, okta_sign_in):
    okta_sign_in(client, "alice", auth_time=int(time.time()) - 100)
    authorize_url = client.get(step_up_location(client, "/delete-account")).headers["Location"]
    assert query(authorize_url)["max_age"] == "0"
    back = client.get(local(okta_mock_server.login(authorize_url, "alice")))
    assert back.headers["Location"] == "/delete-account"
    assert client.get("/delete-account", headers=NAVIGATION).status_code == 200


def test_an_api_call_with_a_weak_session_gets_the_rfc_9470_challenge(client, okta_sign_in):
    okta_sign_in(client, "alice", acr=PASSWORD)
    response = client.get("/payments", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"] == "insufficient_user_authentication"
    assert response.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("claims", [
    {"acr": PASSWORD},
    {},
    {"acr": TWO_FACTOR, "auth_time": int(time.time()) - 3600},
    {"acr": TWO_FACTOR},                                         # no auth_time although max_age is asked
])
def test_bearer_tokens_that_fall_short_get_the_rfc_9470_challenge(client, okta_access_token, claims):
    token = okta_access_token(**claims)
    response = client.get("/api/transfers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"] == "insufficient_user_authentication"
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_a_strong_recent_bearer_token_is_accepted(client, okta_access_token):
    token = okta_access_token(acr=TWO_FACTOR, auth_time=int(time.time()) - 60)
    response = client.get("/api/transfers", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json) == (200, {"acr": TWO_FACTOR})


def test_an_access_token_from_a_two_factor_sign_in_is_accepted(client, okta_mock_server):
    sign_in(client, okta_mock_server, "alice", acr_values=TWO_FACTOR, max_age="300")
    access_token = stored_user(client.application, client).access_token
    response = client.get("/api/transfers", headers={"Authorization": f"Bearer {access_token}"})
    assert (response.status_code, response.json) == (200, {"acr": TWO_FACTOR})


@pytest.mark.parametrize("arguments", [
    {"acr_values": "b\u00e4d"}, {"acr_values": ["two words"]}, {"max_age": -1}, {"max_age": "300"},
    {"max_age": True},
])
def test_bad_step_up_arguments_fail_when_the_view_is_decorated(arguments):
    with pytest.raises(ValueError):
        login_required(**arguments)


@pytest.mark.parametrize("claims, unmet", [
    ({"acr": TWO_FACTOR, "auth_time": 1000}, None),
    ({"acr": "urn:okta:loa:2fa:any:ifpossible", "auth_time": 1000}, "acr"),
    ({"acr": TWO_FACTOR, "auth_time": 1000 - 300 - 60 - 1}, "max_age"),
    ({"acr": TWO_FACTOR, "auth_time": "1000"}, "auth_time"),
    ({"acr": [TWO_FACTOR], "auth_time": 1000}, "acr"),
])
def test_requirement_compares_acr_exactly_and_auth_time_with_leeway(claims, unmet):
    requirement = AuthenticationRequirement.build(f"urn:okta:loa:3fa {TWO_FACTOR}", 300)
    reason = requirement.unmet_by(claims, now=1000, leeway=60)
    assert (reason is None) == (unmet is None)
    if unmet:
        assert unmet in reason


def test_challenge_quotes_its_values():
    challenge = AuthenticationRequirement(("a\"b",), None).challenge('say "hi"')
    assert challenge == 'Bearer error="insufficient_user_authentication", error_description="say \\"hi\\"", ' \
                        'acr_values="a\\"b"'


def test_a_dpop_bound_token_that_falls_short_gets_the_challenge_under_the_dpop_scheme(client, okta_access_token):
    holder = Holder()
    token = okta_access_token(acr=PASSWORD, cnf={"jkt": holder.jkt})
    url = "http://localhost/api/transfers"
    response = call(client, token, holder.proof(token, url=url), path="/api/transfers")
    assert (response.status_code, response.json["error"]) == (401, "insufficient_user_authentication")
    assert response.headers["WWW-Authenticate"] == "DPoP " + CHALLENGE.removeprefix("Bearer ")
