"""Sign-in options per route and per request: the /login allowlist, route parameters, hooks and login state."""

from __future__ import annotations

import pytest
from flask import request

from flask_okta_client import ConfigError, OktaClient, login_required
from tests.site import local, make_site, query, sign_in, start_login

PAGE_LOAD = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
TWO_FACTOR = "urn:okta:loa:2fa:any"


def test_login_passes_idp_and_ui_locales_by_default(client):
    params = query(start_login(client, idp="0oa1b2c3D4e5", ui_locales="fr-CA en"))
    assert (params["idp"], params["ui_locales"]) == ("0oa1b2c3D4e5", "fr-CA en")


def test_parameters_outside_the_allowlist_are_ignored(client):
    params = query(start_login(client, display="popup", claims='{"id_token":{}}', foo="bar"))
    assert not {"display", "claims", "foo"} & set(params)


def test_request_parameters_never_replace_what_the_extension_sets(client):
    forged = {"state": "s", "nonce": "n", "redirect_uri": "https://evil.example/cb", "client_id": "other",
              "response_type": "token", "code_challenge": "c", "code_challenge_method": "plain",
              "scope": "openid offline_access", "request_uri": "urn:x", "response_mode": "form_post"}
    params = query(start_login(client, **forged))
    assert params["redirect_uri"] == "http://localhost/authorization-code/callback"
    assert params["client_id"] == "0oa-pytest-client"
    assert (params["response_type"], params["code_challenge_method"]) == ("code", "S256")
    assert params["scope"] == "openid profile email"
    assert {params["state"], params["nonce"], params["code_challenge"]}.isdisjoint({"s", "n", "c"})
    assert not {"request_uri", "response_mode"} & set(params)


@pytest.mark.parametrize("name, value", [
    ("idp", "0oa<script>"), ("idp", "x" * 129), ("idp", "a b"),
    ("ui_locales", "fr_CA"), ("ui_locales", "fr  en"), ("ui_locales", "\u00e9n"),
])
def test_malformed_allowlisted_parameters_get_400(client, name, value):
    response = client.get("/login", query_string={name: value})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_allowlist_is_configurable(okta_settings):
    client = make_site(okta_settings, OKTA_LOGIN_QUERY_PARAMS="login_hint display").test_client()
    params = query(start_login(client, display="popup", idp="0oa1", login_hint="ann"))
    assert (params["display"], params["login_hint"]) == ("popup", "ann")
    assert "idp" not in params
    assert client.get("/login", query_string={"display": "pop\nup"}).status_code == 400


def test_an_empty_allowlist_passes_nothing_on(okta_settings):
    client = make_site(okta_settings, OKTA_LOGIN_QUERY_PARAMS=[]).test_client()
    assert "prompt" not in query(start_login(client, prompt="login"))


def test_scope_may_be_allowlisted_and_must_include_openid(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_LOGIN_QUERY_PARAMS="scope").test_client()
    assert query(start_login(client, scope="openid email"))["scope"] == "openid email"
    assert client.get("/login", query_string={"scope": "email"}).status_code == 400
    assert sign_in(client, okta_mock_server, "ann", scope="openid email").status_code == 302


@pytest.mark.parametrize("names", ["state", "redirect_uri", "nonce", "code_challenge", "client_id", "Bad-Name"])
def test_the_allowlist_refuses_what_the_extension_sets(okta_settings, names):
    with pytest.raises(ConfigError, match="OKTA_LOGIN_QUERY_PARAMS"):
        make_site(okta_settings, OKTA_LOGIN_QUERY_PARAMS=names)


@pytest.fixture
def route_app(okta_settings):
    app = make_site(okta_settings)

    @app.get("/partners")
    @login_required(authorization_params={"idp": "0oaPARTNER", "ui_locales": "fr"})
    def partners() -> str:
        return "partners"

    @app.get("/partners/payments")
    @login_required(acr_values=TWO_FACTOR, authorization_params={"idp": "0oaPARTNER", "acr_values": "weak"})
    def partner_payments() -> str:
        return "payments"

    return app


def test_a_route_signs_in_with_its_own_parameters_and_comes_back(route_app, okta_mock_server):
    client = route_app.test_client()
    response = client.get("/partners?tab=1", headers=PAGE_LOAD)
    authorize_url = response.headers["Location"]
    assert authorize_url.startswith(okta_mock_server.endpoint_url("authorize"))
    assert response.headers["Cache-Control"] == "no-store"
    params = query(authorize_url)
    assert (params["idp"], params["ui_locales"], params["code_challenge_method"]) == ("0oaPARTNER", "fr", "S256")
    back = client.get(local(okta_mock_server.login(authorize_url, "ann")))
    assert back.headers["Location"] == "/partners?tab=1"
    assert client.get("/partners", headers=PAGE_LOAD).get_data(as_text=True) == "partners"


def test_a_route_step_up_keeps_its_requirement_over_its_parameters(route_app):
    params = query(route_app.test_client().get("/partners/payments", headers=PAGE_LOAD).headers["Location"])
    assert (params["idp"], params["acr_values"]) == ("0oaPARTNER", TWO_FACTOR)


def test_a_route_without_a_session_answers_api_calls_with_401(route_app):
    assert route_app.test_client().get("/partners", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("params", [{"state": "x"}, {"redirect_uri": "https://evil.example"}, {"idp": "a b"},
                                    {"max_age": "soon"}, {"ui_locales": 5}, {"Bad": "x"}])
def test_bad_route_parameters_fail_when_the_view_is_decorated(params):
    with pytest.raises(ValueError, match="authorization_params"):
        login_required(authorization_params=params)


def test_a_hook_adds_parameters_but_never_replaces_the_request_s(okta_settings):
    okta = OktaClient()
    app = make_site(okta_settings, okta)

    @okta.authorization_params
    def language():
        return {"ui_locales": "de", "idp": "0oaHOOK", "display": "page"}

    params = query(start_login(app.test_client(), ui_locales="fr"))
    assert (params["ui_locales"], params["idp"], params["display"]) == ("fr", "0oaHOOK", "page")


@pytest.mark.parametrize("answer", [{"state": "mine"}, {"idp": "bad idp"}, {"prompt": "sometimes"}])
def test_a_hook_that_sets_what_it_may_not_is_a_configuration_error(okta_settings, answer, caplog):
    okta = OktaClient()
    okta.authorization_params(lambda: answer)
    app = make_site(okta_settings, okta)
    response = app.test_client().get("/login", headers=PAGE_LOAD)
    assert response.status_code == 500
    assert "Location" not in response.headers
    assert "authorization_params hook" in caplog.text


def test_a_hook_cannot_turn_a_silent_sign_in_into_an_interactive_one(okta_settings):
    okta = OktaClient()
    okta.authorization_params(lambda: {"prompt": "login"})
    app = make_site(okta_settings, okta, OKTA_SILENT_LOGIN=True)
    assert query(app.test_client().get("/", headers=PAGE_LOAD).headers["Location"])["prompt"] == "none"


def test_login_state_comes_back_with_the_callback(okta_settings, okta_mock_server):
    okta = OktaClient()
    app = make_site(okta_settings, okta)
    seen = []

    @okta.state_for_login
    def campaign():
        return {"campaign": request.args.get("campaign"), "steps": [1, 2]}

    @okta.after_login
    def welcome(user):
        seen.append(okta.login_state)

    client = app.test_client()
    sign_in(client, okta_mock_server, "ann", campaign="spring")
    assert seen == [{"campaign": "spring", "steps": [1, 2]}]
    with app.test_request_context():
        assert okta.login_state == {}


@pytest.mark.parametrize("state", [{"big": "x" * 1100}, {"when": {1, 2}}, {"nan": float("nan")}])
def test_login_state_that_is_too_big_or_not_json_is_a_configuration_error(okta_settings, state):
    okta = OktaClient()
    okta.state_for_login(lambda: state)
    app = make_site(okta_settings, okta)
    response = app.test_client().get("/login")
    assert response.status_code == 500
    assert "Location" not in response.headers
